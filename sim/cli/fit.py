"""`blocsim calibrate` and `validate`: fit the free parameters, judge the model out of sample."""

import argparse
from dataclasses import fields, replace
from pathlib import Path

from sim.cli.common import (
    add_command,
    data_options,
    emit,
    emit_sections,
    format_option,
    load,
    parse_date,
)
from sim.errors import BlocsimError
from sim.fit.forecast import DEFAULT_RULE, FORECAST_RULES
from sim.fit.rolling import PERSISTENCE_SMOOTHING
from sim.model.text_axis import TextSettings


def add_commands(commands: argparse._SubParsersAction) -> None:
    _add_calibrate_command(commands)
    _add_validate_command(commands)


def _add_calibrate_command(commands: argparse._SubParsersAction) -> None:
    calibrate = add_command(
        commands,
        "calibrate",
        _calibrate,
        "fit the one world to the 2025 record (ES-11/7 and the 30 roll calls after it, K = 3): "
        "the US turn on each axis, each member's alignment weight, and static vs "
        "Friedkin-Johnsen vs parting ways by held-out log-loss; writes calibration/default.toml "
        "(slow: tens of minutes). --ties: the one-axis fit of the tie weights on ES-11/7 alone "
        "(an ablation)",
    )
    calibrate.add_argument(
        "--ties",
        action="store_true",
        help="the one-axis fit (dimensions = 1, an ablation no shipped scenario uses): the tie "
        "weights, stubbornness and the turn toward Moscow fitted to ES-11/7's votes, written to "
        "calibration/one_axis.toml by default (the world fit reads its tie weights from the "
        "file given as --network)",
    )
    calibrate.add_argument(
        "--forecast",
        action="store_true",
        help="fit the forecast combination (persistence, the K = 3 placement, the 1-D ordering, "
        "co-voting and follow weights with the US, Russia, China and the EU) by log-loss on "
        "the backtest's sessions given by --train (scikit-learn; minutes with cached fits); "
        "writes calibration/forecast.toml, which predict applies",
    )
    calibrate.add_argument(
        "--compare",
        action="store_true",
        help="with --forecast: write nothing; print the log-loss and accuracy among voters of "
        "the combination, its round-2 form and gradient boosting on the same features, fitted "
        "on 2017-2021 and scored on 2022-2023 (selection hold-out), 2024 and 2025 (evaluation): "
        "what interactions are worth (docs/calibration.md; minutes with cached fits)",
    )
    calibrate.add_argument(
        "--train",
        choices=("all", "selection"),
        default="all",
        help="with --forecast: the sessions to fit on: 'all' = 2017-2023 and the 2024 and 2025 "
        "texts to Sep 2025 (default: the shipped file, for later texts); 'selection' = "
        "2017-2023 only (then validate --backtest --forecast FILE scores 2024 and 2025 out of "
        "sample)",
    )
    calibrate.add_argument(
        "--data-until",
        metavar="DATE",
        help="with --ties: use per-country votes up to and including DATE; before 2025-02-24 "
        "the fit sees ES-11/7's tally only (a hindcast calibration)",
    )
    calibrate.add_argument(
        "--network",
        metavar="FILE.toml",
        help="the calibration file whose [parameters.ties] the world fit uses (default: "
        "calibration/default.toml)",
    )
    calibrate.add_argument(
        "--out",
        metavar="FILE.toml",
        help="the file to write (default: calibration/default.toml; with --ties "
        "calibration/one_axis.toml)",
    )
    calibrate.add_argument("--force", action="store_true", help="replace an existing --out")
    data_options(calibrate)


def _calibrate(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from sim.files import write_atomic
    from sim.fit.calibrate import calibration_problem, calibration_toml, fit, in_sample

    if args.compare:
        if not args.forecast:
            raise BlocsimError("is for --forecast", field="--compare")
        _compare_forms(load(args))
        return
    default = "calibration/one_axis.toml" if args.ties else "calibration/default.toml"
    if args.forecast:
        default = "calibration/forecast.toml"
    out = Path(args.out or default)
    if out.exists() and not args.force:
        raise BlocsimError("already exists; use --force to replace it", file=out)
    if args.forecast:
        if args.ties or args.data_until:
            raise BlocsimError("takes neither --ties nor --data-until", field="--forecast")
        _calibrate_forecast(out, load(args), args.train)
        return
    if not args.ties:
        if args.data_until:
            raise BlocsimError(
                "the world fit uses the whole 2025 record; --data-until is for --ties",
                field="--data-until",
            )
        _calibrate_world(args, out)
        return
    until = parse_date(args.data_until, "--data-until") if args.data_until else None
    data = load(args)
    problem = calibration_problem(data, until)
    with tqdm(desc=f"calibrating ({problem.objective_kind})", unit="iteration", leave=False) as bar:
        result = fit(problem, progress=lambda _: bar.update())
    report = in_sample(result, data)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, calibration_toml(result, report, until, data.fingerprint))
    print(
        f"objective ({problem.objective_kind}): {result.objective:.3f}, log-likelihood "
        f"{result.log_likelihood:.3f}, {result.iterations} iterations, converged {result.converged}"
    )
    for name in result.names:
        low, high = result.interval[name]
        print(
            f"  {name:28s} {result.estimate[name]:8.3f} +/- {result.standard_error[name]:.3f}"
            f"  (95%: {low:.3f} .. {high:.3f})"
        )
    label = "in sample" if problem.objective_kind == "votes" else "hindcast"
    print(
        f"ES-11/7 {label}: accuracy {report.accuracy:.3f} of {report.voters} voters, "
        f"4-class {report.accuracy_4:.3f}, log-loss {report.log_loss:.3f}, tally {report.predicted} "
        f"({report.predicted.not_voting} not voting); wrote {out}"
    )


def _calibrate_world(args: argparse.Namespace, out: Path) -> None:
    from tqdm import tqdm

    from sim.files import write_atomic
    from sim.fit import spread_problem
    from sim.fit.world_file import world_printout, world_toml
    from sim.fit.world_fit import calibrate_world
    from sim.model.scenario import DEFAULT_CALIBRATION

    data = load(args)
    network = Path(args.network) if args.network else DEFAULT_CALIBRATION
    problem = spread_problem.spread_problem(data, network)
    with tqdm(desc="calibrating the world", unit="step", leave=False) as bar:
        result = calibrate_world(problem, lambda what: (bar.set_postfix_str(what), bar.update()))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, world_toml(result, data.fingerprint))
    print(world_printout(result))
    print(f"wrote {out}")


def _compare_forms(data) -> None:
    from tqdm import tqdm

    from sim.fit import backtest

    chosen = backtest.backtest_cases(data, backtest.SELECTION + backtest.EVALUATION)
    with tqdm(total=len(chosen), desc="backtest", unit="text", leave=False) as bar:
        found = backtest.run_backtest(data, chosen, progress=bar.update)
    print(backtest.compare_forms(found).to_string(index=False))


def _calibrate_forecast(out: Path, data, training: str) -> None:
    from tqdm import tqdm

    from sim.files import write_atomic
    from sim.fit import backtest
    from sim.fit.calibrate import provenance_lines
    from sim.fit.combination import combination_toml

    total = len(backtest.backtest_cases(data, backtest.TRAINING[training]))
    with tqdm(total=total, desc=f"backtest ({training})", unit="text", leave=False) as bar:
        combination, fit = backtest.fit_on_sessions(data, training, progress=bar.update)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, combination_toml(combination, fit, provenance_lines(data.fingerprint)))
    print(
        f"fitted on {fit['rows']} votes of {fit['roll_calls']} roll calls (sessions "
        f"{fit['sessions'][0]}-{fit['sessions'][-1]}): in-sample log-loss "
        f"{fit['log_loss_in_sample']:.4f}; wrote {out}"
    )


def _add_validate_command(commands: argparse._SubParsersAction) -> None:
    validate = add_command(
        commands,
        "validate",
        _validate,
        "how well blocsim predicts real votes it was not fitted on, beside the baselines: the "
        "ES-11 votes (default), or a rolling origin over later roll calls (--rolling)",
    )
    format_option(validate)
    validate.add_argument(
        "--errors", action="store_true", help="list the members blocsim gets wrong (ES-11 cases)"
    )
    validate.add_argument(
        "--rolling",
        choices=ROLLING,
        help="each roll call predicted from the record strictly before its date, like its "
        "earlier version by title: 'selection' = the autumn 2024 texts the settings were chosen "
        "on; 'us-changes' = the roll calls before 2025 (Nov 2019 - Dec 2024) on which the US "
        "changed its vote from the earlier version (selection data); 'evaluation' = the 30 roll "
        "calls after the US turn (Mar-Sep 2025), reported as they come. Prints the mean scores "
        "by predictor (--per-text: one row per roll call), then the section 'texts where the US "
        "changed its vote': per text and pooled, the members that moved the US's way (strictly "
        "closer to its new vote on Y < A < N), those each predictor says moved, precision, recall "
        "and accuracy (docs/calibration.md). With --format csv each section follows a '# title' "
        "line; with json, one object keyed by title",
    )
    validate.add_argument(
        "--backtest",
        action="store_true",
        help="rolling origin over every GA session 2017-2024 (each from the record before 1 "
        "September of its year) and the 2025 texts (each from the record before its date): "
        "always Yes, persistence, persistence with absentees filled, the 1-D ordering, static "
        "K = 3 and the combination (calibration/forecast.toml), scored among voters (accuracy, "
        "macro-F1, log-loss, Brier) and over all members (accuracy and macro-F1 of Y/A/N/X): per "
        "session, 2017-2023 selection, 2024 and 2025 evaluation; then movers with the US per "
        "text (named, right, real, AUC of P(move)). Writes a run directory (--out) that "
        "`blocsim report` reads",
    )
    validate.add_argument(
        "--forecast",
        metavar="FILE",
        help="with --backtest: the combination's file (default calibration/forecast.toml, "
        "fitted on every session to Sep 2025: the sessions it saw are labelled 'fitted on'; "
        "`calibrate --forecast --train selection --out FILE` makes one that leaves 2024 and "
        "2025 out of sample)",
    )
    validate.add_argument(
        "--out", metavar="DIR", help="with --backtest: the run directory (default under results/)"
    )
    validate.add_argument(
        "--per-text", action="store_true", help="with --rolling: a row per roll call and predictor"
    )
    validate.add_argument(
        "--no-tally",
        nargs="?",
        const=DEFAULT_RULE,
        choices=FORECAST_RULES,
        metavar="RULE",
        help="with --rolling or --backtest: forecast each text without its tally (blocsim "
        "predict without "
        f"--tally), its cut-points from its earlier version by RULE ({', '.join(FORECAST_RULES)}; "
        f"default {DEFAULT_RULE}: docs/calibration.md); texts without an earlier version are "
        "left out, but for a Ukraine text, like the latest Ukraine text. Adds the forecast tally "
        "and whether the official Yes, No and Abstain counts fall in its 90%% interval",
    )
    validate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --rolling: a placement setting other than the default, to reproduce the "
        "variants docs/calibration.md says were tried (repeatable): "
        f"{', '.join(f'{f.name} (default {f.default})' for f in fields(TextSettings))}",
    )
    validate.add_argument(
        "--persistence-smoothing",
        type=float,
        default=PERSISTENCE_SMOOTHING,
        metavar="EPSILON",
        help="with --rolling: the baselines' probabilities for log-loss and Brier, 1 - EPSILON "
        f"on their vote and EPSILON / 4 on each of Y, A, N, X (default {PERSISTENCE_SMOOTHING}, "
        "the best persistence log-loss on the selection texts)",
    )
    validate.add_argument(
        "--ukraine",
        action="store_true",
        help="the Ukraine texts of 2016-2024 (Crimea texts, the ES-11 selection cases) from date and "
        "tally alone, like the earlier Ukraine text closest to the tally (the rule of predict "
        "without --like) or like the latest; ES-11/7 as a check",
    )
    validate.add_argument(
        "--calibration",
        metavar="FILE",
        help="a one-axis calibration (dimensions = 1, `calibrate --ties`) for the ES-11 cases; "
        "default: fitted on the fly, as calibrate --ties would",
    )
    data_options(validate)


ROLLING = ("selection", "us-changes", "evaluation")


def _text_settings(pairs: list[str]) -> TextSettings:
    """`TextSettings` with the --set NAME=VALUE pairs, each checked: a one-line error names it."""
    names = {f.name for f in fields(TextSettings)}
    changes = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in names:
            raise BlocsimError(f"'{name}' is not one of {', '.join(sorted(names))}", field="--set")
        try:
            changes[name] = float(value)
        except ValueError:
            raise BlocsimError(f"'{pair}': {name} must be a number", field="--set") from None
    return replace(TextSettings(), **changes)


MOVERS_SECTION = "texts where the US changed its vote: who moved the US's way"


def _validate(args: argparse.Namespace) -> None:
    from sim.fit import rolling
    from sim.fit.movers import movers_table
    from sim.fit.validate import validate
    from sim.model.scenario import DEFAULT_CALIBRATION

    data = load(args)
    if args.backtest:
        _backtest(args, data)
        return
    if args.ukraine:
        from sim.fit.ukraine_likes import ukraine_likes

        emit(ukraine_likes(data), args.format)
        return
    if args.rolling:
        if args.rolling == "selection":
            chosen = rolling.cases(data, *rolling.SELECTION, one_cutoff=True)
            chosen = [case for case in chosen if case.like is not None]
        elif args.rolling == "us-changes":
            chosen = rolling.us_change_cases(data, rolling.cases(data, *rolling.BEFORE_2025))
        else:
            chosen = rolling.cases(data, *rolling.EVALUATION)
        table = rolling.rolling_origin(
            data,
            chosen,
            _text_settings(args.set),
            no_tally=args.no_tally,
            smoothing=args.persistence_smoothing,
        )
        scores = "scores by roll call" if args.per_text else "mean scores"
        sections = {
            scores: table if args.per_text else rolling.summary(table),
            MOVERS_SECTION: movers_table(table, rolling.PREDICTORS),
        }
        emit_sections(sections, args.format)
        return
    result = validate(data, Path(args.calibration) if args.calibration else DEFAULT_CALIBRATION)
    emit(result.errors if args.errors else result.table, args.format)


def _backtest_label(backtest, session: str, fitted_on: set[str]) -> str:
    """'selection' or 'evaluation', and 'fitted on' where the combination saw the session."""
    if not session[0].isdigit():
        return "pooled"
    return backtest.set_of(session) + (", fitted on" if session in fitted_on else "")


def _backtest(args: argparse.Namespace, data) -> None:
    from tqdm import tqdm

    from sim.fit import backtest
    from sim.fit.combination import FORECAST_FILE, fitted_sessions, read_combination
    from sim.results import default_run_dir

    path = Path(args.forecast) if args.forecast else FORECAST_FILE
    if not path.is_file():
        raise BlocsimError(
            "no forecast combination: run `blocsim calibrate --forecast` first", file=path
        )
    if args.no_tally not in (None, DEFAULT_RULE):
        raise BlocsimError(f"--backtest forecasts by {DEFAULT_RULE} only", field="--no-tally")
    combination = read_combination(path)
    out = Path(args.out) if args.out else default_run_dir("backtest", 0, "backtest")
    if out.exists():
        raise BlocsimError("already exists; blocsim never overwrites a run", file=out)
    sessions = backtest.SELECTION + backtest.EVALUATION
    chosen = backtest.backtest_cases(data, sessions)
    with tqdm(total=len(chosen), desc="backtest", unit="text", leave=False) as bar:
        found = backtest.run_backtest(
            data, chosen, combination, progress=bar.update, no_tally=args.no_tally is not None
        )
    table, movers = backtest.write_run(out, found, path, data.fingerprint)
    shown = table.drop(columns=["set", "movers", "us_changed_texts"])
    fitted_on = set(fitted_sessions(path))
    emit_sections(
        {
            **{
                f"{session} ({_backtest_label(backtest, session, fitted_on)})": part
                for session, part in shown.groupby("session", sort=False)
            },
            MOVERS_SECTION: movers.drop(columns=["set"]),
        },
        args.format,
    )
    if args.format == "table":
        print(f"\nwrote {out}")
