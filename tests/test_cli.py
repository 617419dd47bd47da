"""The `blocsim` command as users call it: outputs, formats and one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from sim.cli import main
from sim.cli.common import emit_sections
from sim.data.resolutions import RESOLUTIONS
from sim.model.network import build_network
from sim.model.parameters import load_parameters
from sim.model.scenario import DEFAULT_CALIBRATION

BLOCSIM = str(Path(sys.executable).with_name("blocsim"))  # the console script of this venv


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_tally_of_the_calibration_target(capsys):
    status, out, _ = run(capsys, "data", "tally", "A/RES/ES-11/7")
    assert status == 0
    assert "93-18-65 with 17 not voting: adopted (GA simple majority: 93 yes > 18 no)" in out


def test_tally_of_a_vote_known_only_by_its_official_record(capsys, council_record):
    status, out, _ = run(capsys, "data", "tally", council_record.symbol, "--format", "json")
    record = json.loads(out)[0]
    assert status == 0
    tally = council_record.tally
    assert (record["yes"], record["no"], record["abstain"]) == (tally.yes, tally.no, tally.abstain)
    assert record["adopted"] and record["source"] == "official tally"


def test_blocs_split_as_csv(capsys):
    status, out, _ = run(capsys, "data", "blocs", "ES-11/7", "--format", "csv")
    table = pd.read_csv(io.StringIO(out)).set_index("group")
    assert status == 0
    assert table.loc["EU", ["yes", "no", "abstain"]].tolist() == [26, 1, 0]
    assert table.loc["EU", "cohesion"] == pytest.approx(0.944, abs=1e-3)
    assert table.loc["AU", "members"] == 54


def test_affinity_usa_is_closer_to_israel_than_to_russia(capsys):
    _, out, _ = run(capsys, "data", "affinity", "USA", "ISR", "--format", "json")
    israel = json.loads(out)[0]
    _, out, _ = run(capsys, "data", "affinity", "usa", "rus", "--format", "json")
    russia = json.loads(out)[0]
    assert israel["agreement"] > 0.75 and russia["agreement"] < 0.3
    assert israel["s_score"] > 0.7 > 0 > russia["s_score"]


def test_tally_and_blocs_of_any_roll_call(capsys):
    status, out, _ = run(capsys, "data", "tally", "77/272")
    assert status == 0
    assert (
        "A/RES/77/272 (2023-02-20, GA): 112-7-18 with 56 not voting: adopted "
        "(GA simple majority: 112 yes > 7 no)" in out
    )
    assert "Organisation for the Prohibition of Chemical Weapons" in out
    _, out, _ = run(capsys, "data", "tally", "R/55/33A")
    assert "97-0-65 with non-voting not recorded: adopted" in out
    status, out, _ = run(capsys, "data", "blocs", "A/RES/79/184", "--format", "csv")
    table = pd.read_csv(io.StringIO(out)).set_index("group")
    assert (
        status == 0
        and table[["yes", "no", "abstain", "not_voting"]].sum(axis=1).eq(table["members"]).all()
    )
    assert table.loc["CSTO", "no"] >= 1  # Russia voted against the Crimea text


def test_search_lists_titles_with_tallies(capsys):
    status, out, _ = run(capsys, "data", "search", "crimea", "human", "rights", "--format", "csv")
    table = pd.read_csv(io.StringIO(out))
    assert status == 0
    assert table.columns.tolist() == [
        "date",
        "vote_id",
        "yes",
        "no",
        "abstain",
        "not_voting",
        "title",
    ]
    assert len(table) == 6 and table["date"].is_monotonic_increasing
    last = table.iloc[-1]
    assert (last["vote_id"], last["yes"], last["no"], last["abstain"]) == (
        "A/RES/79/184",
        81,
        14,
        80,
    )


def test_affinity_on_a_title_search(capsys):
    _, out, _ = run(
        capsys,
        "data",
        "affinity",
        "USA",
        "GBR",
        "--on",
        "title:crimea human rights",
        "--format",
        "json",
    )
    assert json.loads(out)[0]["roll_calls"] == 6 and json.loads(out)[0]["agreement"] == 1.0


def test_followers_table_and_csv(capsys):
    status, out, _ = run(capsys, "data", "followers", "--top", "3")
    assert status == 0
    assert "on 308 roll calls from 2019-11-01 to the turn (2025-01-20) and on 28 after it" in out
    toward, away = out.split("Moved away from the US:")
    assert "ARG" in toward and "Argentina" in toward and "FSM" not in toward
    assert "FSM" in away and "GBR" in away
    _, out, _ = run(capsys, "data", "followers", "--majority", "0.9", "--format", "csv")
    table = pd.read_csv(io.StringIO(out)).set_index("iso3")
    assert len(table) == 192 and "USA" not in table.index
    assert table["after_votes"].max() == 20  # 20 roll calls qualify after the turn at 90 %


def test_data_check_reports_what_the_directory_holds(capsys):
    status, out, _ = run(capsys, "data", "check")
    assert status == 0 and "valid" in out and "413842" in out


# A General Assembly text of the official record whose per-country votes the data keeps out
# (the evaluation set): only its public tally is known.
HELD_OUT = next(r.symbol for r in RESOLUTIONS.values() if not r.in_data and r.body == "GA")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["data", "tally", "ES-11/77"], "field 'RESOLUTION': unknown resolution 'ES-11/77'"),
        (["data", "blocs", HELD_OUT], f"no per-country votes for {HELD_OUT}"),
        (["data", "tally", "R/57/58"], "'R/57/58' names 2 roll calls; give one vote_id"),
        (["data", "search", "zzzz"], "field 'WORD': no roll call's title holds 'zzzz'"),
        (["data", "affinity", "USA", "GBR", "--on", HELD_OUT], "field '--on': no per-country"),
        (["data", "followers", "--since", "2025-02-01"], "field '--since': 2025-02-01 is not"),
        (["data", "followers", "--until", "2024-12-01"], "field '--until': 2024-12-01 is before"),
        (["data", "followers", "--until", "soon"], "field '--until': 'soon' is not a date"),
        (["data", "followers", "--top", "0"], "field '--top': must be 1 or more"),
        (["data", "affinity", "USA", "XXX"], "field 'ISO3': unknown ISO3 code 'XXX'"),
        (["data", "tally", "ES-11/7", "--data-dir", "/nonexistent"], "data directory not found"),
        (["data", "tally", "ES-11/7", "--votes", "/nonexistent.csv"], "file not found"),
        (
            ["calibrate", "--ties", "--data-until", "1990-01-01", "--out", "/nonexistent/c.toml"],
            "no roll",
        ),
        (["report", "README.md"], "README.md: not a run directory (no manifest.json)"),
        (["report", "results/no-such-run"], "blocsim: results/no-such-run: no such directory"),
        (
            ["network", "export", "--out", "/nonexistent/ties.graphml"],
            "field '--out': directory /nonexistent does not exist",
        ),
    ],
)
def test_errors_are_one_line_with_status_2(capsys, argv, expected):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_and_module_entry_point():
    for command in ([BLOCSIM], [sys.executable, "-m", "sim"]):
        done = subprocess.run(
            [*command, "data", "tally", "ES-11/1"], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "141-5-35" in done.stdout


def test_bad_votes_file_exits_2_without_traceback(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("resolution,date,iso3,vote\nA/RES/ES-11/99,2026-01-01,USA,Q\n")
    done = subprocess.run(
        [BLOCSIM, "data", "tally", "A/RES/ES-11/99", "--votes", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"blocsim: {path}: line 2: field 'vote': 'Q': vote must be Y, N, A or X\n"


def test_network_info_and_export(capsys, tmp_path):
    status, out, _ = run(capsys, "network", "info")
    assert status == 0 and "193 members" in out and "modularity" in out
    graphml = tmp_path / "ties.graphml"
    status, out, _ = run(capsys, "network", "export", "--format", "graphml", "--out", str(graphml))
    assert status == 0 and graphml.stat().st_size > 0
    csv = tmp_path / "ties.csv"
    assert run(capsys, "network", "export", "--format", "csv", "--out", str(csv))[0] == 0
    edges = pd.read_csv(csv)
    assert {"source", "target", "weight", "alliance", "affinity", "patron"} <= set(edges.columns)
    status, _, err = run(capsys, "network", "export", "--format", "csv", "--out", str(csv))
    assert status == 2 and "already exists" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ties.csv", "ties.graphml"]


def test_network_data_until_includes_that_day(capsys, tmp_path, data):
    # ES-11/7 is dated 2025-02-24: "up to and including" it is "strictly before" the 25th
    csv = tmp_path / "ties.csv"
    argv = ["network", "export", "--format", "csv", "--data-until", "2025-02-24", "--out", str(csv)]
    assert run(capsys, *argv)[0] == 0
    ties = load_parameters(DEFAULT_CALIBRATION).ties
    graph = build_network(data.members, data.roll_calls(), "2025-02-25", ties)
    expected = nx.to_pandas_edgelist(graph, source="source", target="target")
    exported = pd.read_csv(csv)
    assert len(exported) == len(expected)
    assert exported["weight"].sum() == pytest.approx(expected["weight"].sum())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "scenarios/status_quo.toml", "--seed", "-1"], "must be 0 or more, not -1"),
        (["sweep", "scenarios/us_realignment_sweep.toml", "--seed", "-3"], "must be 0 or more"),
        (["run", "scenarios/status_quo.toml", "--seed", "one"], "'one' is not a whole number"),
        (
            [
                "predict",
                "--date",
                "2025-02-24",
                "--tally",
                "93-18-65",
                "--out",
                "p.csv",
                "--seed",
                "1",
            ],
            "field '--seed': not an argument this command takes",
        ),
        (["app", "--votes", "mine.csv"], "field '--votes': not an argument this command takes"),
        (["data", "followers", "--majority", "1/2"], "field '--majority': the majority must"),
        (["data", "followers", "--majority", "most"], "'most' is not a fraction"),
    ],
)
def test_options_argparse_refuses_exit_with_status_2(capsys, argv, expected):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and expected in err


def test_run_prints_each_vote_and_its_outcome(capsys, tmp_path, council_record):
    status, out, _ = run(capsys, "run", "scenarios/status_quo.toml", "--out", str(tmp_path / "r"))
    assert status == 0
    assert "GA A/RES/ES-11/7:" in out and f"SC {council_record.symbol} (US text):" in out
    assert "SC   amendment: European amendment" in out
    assert f"run directory: {tmp_path / 'r'}" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["data", "affinity", "USA", "USA"], "give two different states, not USA twice"),
        (["data", "affinity", "USA", "ISR", "--since", "2030-13-01"], "'2030-13-01' is not a date"),
        (["run", "scenarios"], "scenarios: is a directory, not a scenario file"),
    ],
)
def test_more_user_errors_are_one_line(capsys, argv, expected):
    status, _, err = run(capsys, *argv)
    assert status == 2 and expected in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [["frobnicate"], ["run", "--seed", "abc", "scenarios/status_quo.toml"], ["network", "export"]],
)
def test_usage_mistakes_are_one_line_with_status_2(capsys, argv):
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith("blocsim: field '") and err.count("\n") == 1 and "--help" in err


def test_sections_print_under_their_titles_and_an_empty_one_says_so(capsys):
    sections = {"scores": pd.DataFrame({"a": [1]}), "movers": pd.DataFrame(columns=["b"])}
    emit_sections(sections, "csv")
    assert capsys.readouterr().out == "# scores\na\n1\n\n# movers\n(none)\n"
    emit_sections(sections, "json")
    assert json.loads(capsys.readouterr().out) == {"scores": [{"a": 1}], "movers": []}
