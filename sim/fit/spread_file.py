"""The spread calibration as a file (`calibration/spread.toml`) and as a printout.

The file holds the winning model as `[parameters]` (K = 3: `dimensions = 3`) and the US turn as
a `[[shocks]]` `kind = "shift"` that `sim.model.scenario` reads; `[fit]` holds every model's
estimates, intervals, log-likelihood and held-out scores; `[provenance]` as `blocsim calibrate`.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from sim.data.followers import US
from sim.fit.calibrate import PRIOR_SD, parameter_lines, provenance_lines, toml_number
from sim.fit.spread import AXES, MODELS, MOVING, HeldOut, Spread, SpreadCalibration
from sim.fit.spread_problem import FIRST_TARGET

OBJECTIVE = (
    "sum over the targets and members of log P(observed vote) (Y/A/N/X), positions on each "
    "target's date from the dynamics, cut-points fitted to its tally at every evaluation, plus "
    "a normal prior (sd prior_sd) on each transformed parameter"
)
HELD_OUT = (
    "leave one roll call out: refit on the other targets (warm start at the full fit, the "
    "turn date kept at the full fit's), score the one left out; log_loss is per member vote, "
    "log_loss_per_roll_call is -log P(all its votes)"
)


def spread_toml(result: SpreadCalibration, fingerprint: str = "") -> str:
    """The calibration file of `result`: the winner as parameters and shock, all in `[fit]`."""
    winner = result.winner
    chosen = result.fits[winner]
    spread = chosen.spread
    problem = result.problem
    values = problem.parameters.to_dict()
    static = spread.stubbornness is None
    stubbornness = 1.0 if static else spread.stubbornness
    groups = {
        name: 1.0 if static else value for name, value in values["stubbornness_by_group"].items()
    }
    lines = [
        "# blocsim's K = 3 calibration of the 2025 US turn and its spread, written by",
        "# `blocsim calibrate --spread`: the model that predicts the held-out 2025 roll calls best.",
        "# Network (ties) and group stubbornness as calibration/default.toml; fitted: the turn,",
        "# the US hold, the stubbornness baseline, parting and turn_cost (by model, see [fit]).",
        "[parameters]",
        "dimensions = 3",
        f"stubbornness = {toml_number(stubbornness)}",
        f"step_days = {values['step_days']}",
        f"discrimination = {toml_number(problem.sharpness)}  # the texts' sharpness, as in the fit",
        f"parting = {toml_number(spread.parting)}",
        f"turn_cost = {toml_number(spread.turn_cost)}",
        "",
        "[parameters.ties]",
        *(f"{name} = {toml_number(value)}" for name, value in values["ties"].items()),
        "",
        "[parameters.stubbornness_by_group]",
        *(f"{name} = {toml_number(value)}" for name, value in groups.items()),
        "",
    ]
    if MODELS[winner]:
        lines += [
            "# The US turn of 2025 as the record measures it: a move on each axis.",
            "[[shocks]]",
            f'date = "{chosen.turn_date}"',
            'kind = "shift"',
            f'member = "{US}"',
            f"by = [{', '.join(toml_number(v) for v in spread.turn)}]  # axes: {', '.join(AXES)}",
            f"hold = {toml_number(spread.hold)}",
            "",
        ]
    lines += [
        "[fit]",
        f'winner = "{winner}"',
        'chosen_by = "lowest held-out log-loss per vote"',
        f'objective = "{OBJECTIVE}"',
        f'held_out = "{HELD_OUT}"',
        'in_sample = "log_likelihood uses every target: all of 2025 is fitted; only the '
        'held-out scores are out of sample"',
        f"targets = [{', '.join(f'{chr(34)}{t.vote_id}{chr(34)}' for t in problem.targets)}]",
        f'first_target = "{FIRST_TARGET}"',
        f'positions_until = "{problem.start}"',
        'timing = "profiled over weekly turn dates (the best kept); the static models have none"',
        f"prior_sd = {PRIOR_SD}",
        f"log_likelihood = {toml_number(chosen.log_likelihood)}",
        "",
    ]
    for model, fitted in result.fits.items():
        held = result.held[model]
        lines += [
            "[[fit.models]]",
            f'name = "{model}"',
            f"free_parameters = {fitted.parameters}",
            f"log_likelihood = {toml_number(fitted.log_likelihood)}",
            f"log_posterior = {toml_number(-fitted.estimate.objective)}",
            f"converged = {str(fitted.estimate.converged).lower()}",
            f'turn_date = "{fitted.turn_date}"',
            f"profile_dates = [{', '.join(f'{chr(34)}{d}{chr(34)}' for d in fitted.profile)}]",
            f"profile_log_posterior = [{', '.join(toml_number(v) for v in fitted.profile.values())}]",
            f"held_out_log_loss = {toml_number(held.log_loss)}",
            f"held_out_log_loss_per_roll_call = {toml_number(held.per_roll_call)}",
            f"held_out_accuracy = {toml_number(held.accuracy)}",
            "",
        ]
    models = list(result.held)
    for k, target in enumerate(problem.targets):
        lines += [
            "[[fit.held_out_by_roll_call]]",
            f'vote_id = "{target.vote_id}"',
            f'date = "{target.day}"',
            f'like = "{target.like or ""}"',
            f"models = [{', '.join(f'{chr(34)}{m}{chr(34)}' for m in models)}]",
            f"log_loss = [{', '.join(toml_number(result.held[m].scores[k].log_loss) for m in models)}]",
            f"accuracy = [{', '.join(toml_number(result.held[m].scores[k].accuracy) for m in models)}]",
            "",
        ]
    for model, fitted in result.fits.items():
        lines += parameter_lines(fitted.estimate, model)
    return "\n".join([*lines, *provenance_lines(fingerprint)])


def spread_printout(result: SpreadCalibration) -> str:
    """The models side by side, then each model's estimates with their 95 % intervals."""
    rows = [
        f"{'model':18s} {'free':>4s} {'log-lik':>10s} {'held-out log-loss/vote':>23s} "
        f"{'per roll call':>13s} {'accuracy':>8s}  turn date"
    ]
    for model, fitted in result.fits.items():
        held = result.held[model]
        rows.append(
            f"{model:18s} {fitted.parameters:4d} {fitted.log_likelihood:10.2f} "
            f"{held.log_loss:23.4f} {held.per_roll_call:13.2f} {held.accuracy:8.3f}  "
            f"{fitted.turn_date if model in MOVING else '-'}"
        )
    rows.append(
        f"winner (lowest held-out log-loss): {result.winner}; log-likelihoods are in sample "
        f"(all {len(result.problem.targets)} roll calls), the held-out columns leave each out"
    )
    winner = result.held[result.winner]
    for model, held in result.held.items():
        if model != result.winner:
            wins, mean, se = paired(winner, held)
            rows.append(
                f"  {result.winner} - {model}: held-out log-loss per vote {mean:+.4f} +/- "
                f"{se:.4f} (paired over roll calls), lower on {wins} of {len(held.scores)}"
            )
    for model, fitted in result.fits.items():
        found = fitted.estimate
        for name in found.names:
            low, high = found.interval[name]
            rows.append(
                f"  {model:18s} {name:14s} {found.estimate[name]:8.3f} +/- "
                f"{found.standard_error[name]:.3f}  (95%: {low:.3f} .. {high:.3f})"
            )
    return "\n".join(rows)


def read_spread(document: dict) -> Spread:
    """The winning model's point stored in a spread calibration file (its `[fit]`)."""
    fit = document["fit"]
    winner = fit["winner"]
    values = {
        entry["name"]: float(entry["value"])
        for entry in fit["parameters"]
        if entry["model"] == winner
    }
    (row,) = [row for row in fit["models"] if row["name"] == winner]
    return Spread.of(winner, values, date.fromisoformat(row["turn_date"]))


def paired(first: HeldOut, second: HeldOut) -> tuple[int, float, float]:
    """Roll calls on which `first` has the lower held-out log-loss, and the mean difference
    first - second per vote with its standard error over roll calls."""
    pairs = zip(first.scores, second.scores, strict=True)
    difference = np.array([a.log_loss - b.log_loss for a, b in pairs])
    se = float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1 else 0.0
    return int((difference < 0).sum()), float(difference.mean()), se
