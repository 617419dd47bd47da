"""The one calibration as a file (`calibration/default.toml`) and as a printout.

`[parameters]` and `[[shocks]]` are the world every scenario runs by default (K = 3, the US turn
as a `shift`; `aligned = true` when the members follow it by their alignment weights);
`[alignment]` holds the weights and their standard errors; `[fit]` holds every model's fit,
held-out scores (per model, per roll call, and paired against the winner), the alignment prior
chosen, and the estimates with their 95 % intervals; `[provenance]` as `blocsim calibrate`.
"""

from __future__ import annotations

import numpy as np

from sim.data.followers import US
from sim.fit.alignment import MODEL as ALIGNMENT
from sim.fit.calibrate import PRIOR_SD, parameter_lines, provenance_lines, toml_number
from sim.fit.spread import AXES, MOVING, HeldOut
from sim.fit.spread_problem import FIRST_TARGET
from sim.fit.world_fit import WorldCalibration

OBJECTIVE = (
    "sum over the targets and members of log P(observed vote) (Y/A/N/X), positions on each "
    "target's date from the dynamics, cut-points fitted to its tally at every evaluation, plus "
    "a normal prior (sd prior_sd) on each transformed parameter (alignment weights: sd "
    "alignment.prior_sd, chosen held out)"
)
HELD_OUT = (
    "leave one roll call out: refit on the other targets (warm start at the full fit), score "
    "the one left out; log_loss is per member vote, log_loss_per_roll_call is -log P(all its "
    "votes); the alignment prior sd is chosen on these scores (selection), so its row is "
    "slightly optimistic"
)


def _strings(values) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _numbers(values) -> str:
    return "[" + ", ".join(toml_number(v) for v in values) + "]"


def world_toml(result: WorldCalibration, fingerprint: str = "") -> str:
    """The calibration file of `result`: the winner as parameters and shock, all in `[fit]`."""
    winner = result.winner
    problem = result.problem
    spread = result.spread
    moving = winner in MOVING
    chosen = spread.fits[winner] if winner in spread.fits else spread.fits["static"]
    point = chosen.spread
    values = problem.parameters.to_dict()
    alignment = result.alignment.chosen
    lines = [
        "# blocsim's calibration: the one world, written by `blocsim calibrate` (see [provenance]).",
        "# Fitted to the 2025 record (A/RES/ES-11/7 and the 30 roll calls of Mar-Sep 2025) on the",
        "# K = 3 ideal points before 20 January 2025; the model that predicts held-out roll calls",
        f"# best is kept: {winner}. Tie weights: carried from [parameters.ties] of the file read.",
        "[parameters]",
        "dimensions = 3",
        f"stubbornness = {toml_number(point.stubbornness if moving else 1.0)}",
        f"step_days = {values['step_days']}",
        f"discrimination = {toml_number(problem.sharpness)}  # the texts' sharpness, as in the fit",
        f"parting = {toml_number(point.parting)}",
        f"turn_cost = {toml_number(point.turn_cost)}",
        "",
        "[parameters.ties]",
        *(f"{name} = {toml_number(value)}" for name, value in values["ties"].items()),
        "",
    ]
    if winner != "no turn":
        lines += [
            "# The US turn of 2025 as the record measures it: a move on each axis"
            + (
                "; the members follow it by their alignment weights."
                if winner == ALIGNMENT
                else "."
            ),
            "[[shocks]]",
            f'date = "{point.turn_date}"',
            'kind = "shift"',
            f'member = "{US}"',
            f"by = {_numbers(point.turn)}  # axes: {', '.join(AXES)}",
            f"hold = {toml_number(point.hold)}",
            *(["aligned = true"] if winner == ALIGNMENT else []),
            "",
        ]
    form, prior_sd = result.alignment.choice
    lines += [
        "# Each member's alignment weight: at the US turn it moves by weight x the US move",
        f"# ({'one weight per axis' if form == 'by axis' else 'one weight'}; not through the"
        " network); the standard errors are conditional (`sim.fit.alignment`).",
        "[alignment]",
        f'follows = "{US}"',
        f'form = "{form}"',
        f"prior_sd = {toml_number(prior_sd)}",
        f"axes = {_strings(AXES)}",
        "",
        "[alignment.weights]",
        *(
            f"{iso3} = {_numbers(w)}"
            for iso3, w in zip(problem.iso3, alignment.weights, strict=True)
        ),
        "",
        "[alignment.standard_errors]",
        *(
            f"{iso3} = {_numbers(se)}"
            for iso3, se in zip(problem.iso3, alignment.weights_se, strict=True)
        ),
        "",
        "[fit]",
        f'winner = "{winner}"',
        'chosen_by = "lowest held-out log-loss per vote"',
        f'objective = "{OBJECTIVE}"',
        f'held_out = "{HELD_OUT}"',
        'in_sample = "log_likelihood uses every target: all of 2025 is fitted, A/RES/ES-11/7 '
        'included; only the held-out scores are out of sample"',
        f"targets = {_strings(t.vote_id for t in problem.targets)}",
        f'first_target = "{FIRST_TARGET}"',
        f'positions_until = "{problem.start}"',
        f'timing = "the turn dated {point.turn_date}, not profiled (unidentified before)"',
        f"prior_sd = {PRIOR_SD}",
        "",
    ]
    held = result.held
    for model, scores in held.items():
        lines += ["[[fit.models]]", f'name = "{model}"', *_model_lines(result, model, scores), ""]
    for model, scores in held.items():
        if model != winner:
            wins, mean, se = paired(held[winner], scores)
            lines += [
                "[[fit.paired]]",
                f'model = "{model}"',
                f"winner_minus_model = {toml_number(mean)}  # held-out log-loss per vote",
                f"standard_error = {toml_number(se)}  # over roll calls",
                f"winner_lower_on = {wins}",
                "",
            ]
    for (form_, sd), scores in result.alignment.held.items():
        fitted = result.alignment.fits[form_, sd]
        lines += [
            "[[fit.alignment_prior]]",
            f'form = "{form_}"',
            f"prior_sd = {toml_number(sd)}",
            f"log_likelihood = {toml_number(fitted.log_likelihood)}",
            f"converged = {str(fitted.converged).lower()}",
            f"held_out_log_loss = {toml_number(scores.log_loss)}",
            f"held_out_accuracy = {toml_number(scores.accuracy)}",
            "",
        ]
    models = list(held)
    for k, target in enumerate(problem.targets):
        lines += [
            "[[fit.held_out_by_roll_call]]",
            f'vote_id = "{target.vote_id}"',
            f'date = "{target.day}"',
            f'like = "{target.like or ""}"',
            f"models = {_strings(models)}",
            f"log_loss = {_numbers(held[m].scores[k].log_loss for m in models)}",
            f"accuracy = {_numbers(held[m].scores[k].accuracy for m in models)}",
            "",
        ]
    for model, fitted in spread.fits.items():
        lines += parameter_lines(fitted.estimate, model)
    return "\n".join([*lines, *provenance_lines(fingerprint)])


def _model_lines(result: WorldCalibration, model: str, held: HeldOut) -> list[str]:
    if model == ALIGNMENT:
        fitted = result.alignment.chosen
        free = int(np.count_nonzero(np.arange(len(result.problem.iso3)) != result.problem.us))
        lines = [
            f"free_parameters = {free * fitted.weights.shape[1]}  # + the static turn's 3",
            f"log_likelihood = {toml_number(fitted.log_likelihood)}",
            f"converged = {str(fitted.converged).lower()}",
            f'turn_date = "{result.spread.fits["static"].spread.turn_date}"',
        ]
    else:
        fitted = result.spread.fits[model]
        lines = [
            f"free_parameters = {fitted.parameters}",
            f"log_likelihood = {toml_number(fitted.log_likelihood)}",
            f"log_posterior = {toml_number(-fitted.estimate.objective)}",
            f"converged = {str(fitted.estimate.converged).lower()}",
            f'turn_date = "{fitted.spread.turn_date}"',
        ]
    return [
        *lines,
        f"held_out_log_loss = {toml_number(held.log_loss)}",
        f"held_out_log_loss_per_roll_call = {toml_number(held.per_roll_call)}",
        f"held_out_accuracy = {toml_number(held.accuracy)}",
    ]


def world_printout(result: WorldCalibration) -> str:
    """The models side by side, the alignment prior grid, the estimates with their 95 %
    intervals and the largest alignment weights."""
    rows = [
        f"{'model':18s} {'log-lik':>10s} {'held-out log-loss/vote':>23s} "
        f"{'per roll call':>13s} {'accuracy':>8s}"
    ]
    fits = result.spread.fits
    for model, held in result.held.items():
        loglik = (
            result.alignment.chosen.log_likelihood
            if model == ALIGNMENT
            else fits[model].log_likelihood
        )
        rows.append(
            f"{model:18s} {loglik:10.2f} {held.log_loss:23.4f} {held.per_roll_call:13.2f} "
            f"{held.accuracy:8.3f}"
        )
    winner = result.winner
    rows.append(
        f"winner (lowest held-out log-loss): {winner}; log-likelihoods are in sample (all "
        f"{len(result.problem.targets)} roll calls), the held-out columns leave each out"
    )
    for model, held in result.held.items():
        if model != winner:
            wins, mean, se = paired(result.held[winner], held)
            rows.append(
                f"  {winner} - {model}: held-out log-loss per vote {mean:+.4f} +/- {se:.4f} "
                f"(paired over roll calls), lower on {wins} of {len(held.scores)}"
            )
    for (form, sd), held in result.alignment.held.items():
        rows.append(
            f"  alignment ({form}, prior sd {sd}): held-out log-loss {held.log_loss:.4f}, "
            f"accuracy {held.accuracy:.3f}"
        )
    for model, fitted in fits.items():
        found = fitted.estimate
        for name in found.names:
            low, high = found.interval[name]
            rows.append(
                f"  {model:18s} {name:14s} {found.estimate[name]:8.3f} +/- "
                f"{found.standard_error[name]:.3f}  (95%: {low:.3f} .. {high:.3f})"
            )
    chosen = result.alignment.chosen
    size = np.abs(chosen.moves()).max(axis=1)
    top = [i for i in np.argsort(-size) if i != result.problem.us][:12]
    rows.append(f"largest alignment weights ({chosen.form}, prior sd {chosen.prior_sd}):")
    for i in top:
        weights = ", ".join(
            f"{w:+.2f} ({s:.2f})"
            for w, s in zip(chosen.weights[i], chosen.weights_se[i], strict=True)
        )
        rows.append(f"  {result.problem.iso3[i]}: {weights}")
    return "\n".join(rows)


def paired(first: HeldOut, second: HeldOut) -> tuple[int, float, float]:
    """Roll calls on which `first` has the lower held-out log-loss, and the mean difference
    first - second per vote with its standard error over roll calls."""
    pairs = zip(first.scores, second.scores, strict=True)
    difference = np.array([a.log_loss - b.log_loss for a, b in pairs])
    se = float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1 else 0.0
    return int((difference < 0).sum()), float(difference.mean()), se
