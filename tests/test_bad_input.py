"""A corpus of malformed scenario, sweep and roll-call files, each refused by the real CLI the
same way: one line on stderr starting `blocsim: `, exit status 2, nothing under `results/`.

Scenario and sweep files run through `main(["run" | "sweep", FILE])` with the session's real
data handed to the command (loading it afresh costs a second a case); roll-call files go through
`blocsim data tally ... --votes FILE`, whose loading is what they test.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.cli import model as model_commands
from sim.cli import sweep as sweep_commands
from sim.data.resolutions import Tally
from sim.errors import BlocsimError
from sim.tomlfile import MAX_DEPTH, read_toml

BLOCSIM = str(Path(sys.executable).with_name("blocsim"))
START = 'data_until = "2025-01-01"\n'

CORPUS = Path(__file__).with_name("bad_input")  # one file a case, its first line says why
# Cases a text file cannot hold or that are too large to keep: made here.
GENERATED = {
    "binary junk": (bytes(range(256)) * 4, "not UTF-8 text"),
    "latin-1 text": ('data_until = "2025-01-01"\nname = "caf\xe9"\n'.encode("latin-1"), "line 2"),
    "NUL byte": (START + "name = 'a\0b'\n", "line 2: not valid TOML"),
    "BOM then junk": ("\ufeff" + START + "seed = \n", "line 2: not valid TOML"),
    "too large": (START + "#" * (1 << 20) + "\n", "larger than 1 MiB"),
    "arrays nested deep": (START + "x = " + "[" * 5000 + "]" * 5000, "line 2: arrays or tables"),
    "tables nested deep": (START + "x = " + "{a=" * 3000 + "1" + "}" * 3000, "nested more than"),
    "dotted keys deep": (START + "x." + "a." * 5000 + "b = 1\n", "line 2: a key of more than 32"),
}


VOTES_HEADER = "resolution,date,iso3,vote\n"
VOTES_ROW = "A/RES/ES-11/99,2026-01-01,USA,Y\n"
VOTES_FILES = {
    "corrupt gzip": (
        "bad.csv.gz",
        b"\x1f\x8b\x08\x00garbage and more garbage",
        "not a readable gz",
    ),
    "truncated gzip": (
        "cut.csv.gz",
        gzip.compress((VOTES_HEADER + VOTES_ROW * 50).encode())[:40],
        "not a readable gzip-compressed CSV file",
    ),
    "gzip of junk": ("junk.csv.gz", gzip.compress(bytes(range(256)) * 8), "not UTF-8 text"),
    "header and no rows": ("none.csv", VOTES_HEADER, "no roll calls in this file"),
    "empty": ("empty.csv", "", "not a readable CSV file"),
    "binary junk": ("junk.csv", bytes(range(255, -1, -1)) * 16, "line 1: not UTF-8 text"),
    "not UTF-8": (
        "latin.csv",
        (VOTES_HEADER + "A/RES/ES-11/99,2026-01-01,CIV,Y\xe9\n").encode("latin-1"),
        "line 2: not UTF-8",
    ),
    "NUL byte": (
        "nul.csv",
        VOTES_HEADER + "A/RES/ES-11/99,2026-01-01,USA\0,Y\n",
        "line 2: holds a NUL",
    ),
    "huge line": ("huge.csv", VOTES_HEADER + "A" * 20_000_000 + "\n", "line 2: line longer than"),
    "huge value": (
        "wide.csv",
        VOTES_HEADER + "A/RES/ES-11/99,2026-01-01,USA," + "Q" * 9000 + "\n",
        "vote must be Y, N, A or X",
    ),
    "missing column": (
        "cols.csv",
        "resolution,date,iso3\nA/RES/ES-11/99,2026-01-01,USA\n",
        "field 'vote': missing column",
    ),
    "ragged row": (
        "ragged.csv",
        VOTES_HEADER + "A/RES/ES-11/99,2026-01-01,USA,Y,extra,more\n",
        "line 2: field 'iso3'",
    ),
    "lowercase ISO3": (
        "lower.csv",
        VOTES_HEADER + "A/RES/ES-11/99,2026-01-01,usa,Y\n",
        "line 2: field 'iso3': 'usa'",
    ),
    "unknown ISO3": (
        "iso.csv",
        VOTES_HEADER + "A/RES/ES-11/99,2026-01-01,XXX,Y\n",
        "unknown ISO3 code",
    ),
    "bad date": ("date.csv", VOTES_HEADER + "A/RES/ES-11/99,2026-02-30,USA,Y\n", "field 'date'"),
    "one roll call, two dates": (
        "dates.csv",
        VOTES_HEADER + VOTES_ROW + "A/RES/ES-11/99,2026-01-02,RUS,N\n",
        "line 3: field 'date': '2026-01-02': another date than this resolution's first row",
    ),
    "vote twice": ("twice.csv", VOTES_HEADER + VOTES_ROW * 2, "line 3: field 'iso3'"),
    "body unknown": (
        "body.csv",
        "resolution,date,iso3,vote,body\nA/RES/ES-11/99,2026-01-01,USA,Y,HRC\n",
        "body must be GA or SC",
    ),
    "official tally wrong": (
        "es117.csv",
        VOTES_HEADER + "A/RES/ES-11/7,2025-02-24,USA,Y\n",
        "official tally",
    ),
}


@pytest.fixture
def cli(data, tmp_path, monkeypatch):
    """Run the real CLI in `tmp_path` (its `results/` is the one checked) on the session's data."""
    monkeypatch.chdir(tmp_path)
    for commands in (model_commands, sweep_commands):
        monkeypatch.setattr(commands, "load", lambda _args: data)
    return tmp_path


def refused(capsys, argv: list[str], where: Path) -> str:
    """Run the CLI, check it refused cleanly (one line, status 2, nothing written): the line."""
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, out
    assert err.startswith("blocsim: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (where / "results").exists()
    return err


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def expectation(path: Path) -> str:
    """What a corpus file's first line says its error holds: `# why: expect TEXT`."""
    return path.read_text(encoding="utf-8").split("\n", 1)[0].partition(": expect ")[2]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.toml")), ids=lambda path: path.stem)
def test_the_corpus_is_refused_by_run_and_sweep(cli, capsys, path):
    expected = expectation(path)
    assert expected
    commands = ["sweep"] if path.name.startswith("sweep_") else ["run", "sweep"]
    assert expected in refused(capsys, [commands[0], str(path)], cli)
    for command in commands[1:]:
        refused(capsys, [command, str(path)], cli)


@pytest.mark.parametrize(("content", "expected"), GENERATED.values(), ids=GENERATED.keys())
def test_unreadable_scenarios_are_refused_by_run_and_sweep(cli, capsys, content, expected):
    path = write(cli, "bad.toml", content)
    assert expected in refused(capsys, ["run", str(path)], cli)
    refused(capsys, ["sweep", str(path)], cli)


@pytest.mark.parametrize(
    ("name", "content", "expected"), VOTES_FILES.values(), ids=VOTES_FILES.keys()
)
def test_bad_votes_files_are_refused(tmp_path, monkeypatch, capsys, name, content, expected):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, name, content)
    err = refused(capsys, ["data", "tally", "A/RES/ES-11/7", "--votes", str(path)], tmp_path)
    assert expected in err and len(err) < 1000


def test_a_votes_directory_is_refused(tmp_path, capsys):
    err = refused(capsys, ["data", "tally", "ES-11/7", "--votes", str(tmp_path)], tmp_path)
    assert err == f"blocsim: {tmp_path}: is a directory, not a CSV file\n"


def test_a_byte_order_mark_is_read_as_utf8(tmp_path, capsys):
    rows = VOTES_HEADER + "A/RES/ES-11/99,2026-01-01,USA,Y\nA/RES/ES-11/99,2026-01-01,RUS,N\n"
    path = write(tmp_path, "bom.csv", "\ufeff" + rows)
    assert main(["data", "tally", "A/RES/ES-11/99", "--votes", str(path)]) == 0
    assert "A/RES/ES-11/99 (2026-01-01, GA): 1-1-0 with" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["predict", "--tally", "0-0-0"], "field '--tally': tally '0-0-0' has no votes cast"),
        (["predict", "--tally", "94-50-50"], "counts 194 votes for 193 members"),
        (["predict", "--tally=-1-5-5"], "field '--tally': tally '-1-5-5' is not of the form"),
        (["predict", "--tally", "a-b-c"], "is not of the form Y-N-A"),
        (["predict", "--tally", "93 -18-65"], "is not of the form Y-N-A"),
        (["predict", "--body", "SC", "--tally", "10-5-5"], "counts 20 votes for 15 members"),
    ],
)
def test_predict_refuses_a_tally_a_text_cannot_have(tmp_path, capsys, argv, expected):
    out = tmp_path / "p.csv"
    err = refused(capsys, [*argv, "--date", "2025-02-24", "--out", str(out)], tmp_path)
    assert expected in err and not out.exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["frobnicate"], "blocsim: field 'COMMAND': invalid choice: 'frobnicate'"),
        (
            ["run", "x.toml", "--seed", "abc"],
            "blocsim: field '--seed': 'abc' is not a whole number",
        ),
        (["run", "x.toml", "--seed"], "blocsim: field '--seed': expected one argument"),
        (["network", "export"], "blocsim: field '--out': missing: this command requires it"),
        (["app", "--votes", "m.csv"], "blocsim: field '--votes': not an argument this command"),
        (["sweep", "x.toml", "--runs", "many"], "blocsim: field '--runs': invalid int value"),
        (["data", "tally", "ES-11/7", "--format", "xml"], "blocsim: field '--format': invalid"),
    ],
)
def test_argument_errors_read_like_file_errors(tmp_path, capsys, argv, expected):
    err = refused(capsys, argv, tmp_path)
    assert err.startswith(expected) and "--help')" in err


def test_no_traceback_reaches_stderr_from_the_entry_point(tmp_path):
    """The installed `blocsim` script, in a fresh process, on three kinds of broken input."""
    deep = write(tmp_path, "deep.toml", START + "x = " + "[" * 100_000 + "]" * 100_000)
    corrupt = write(tmp_path, "bad.csv.gz", b"\x1f\x8b\x08\x00garbage")
    for argv, expected in (
        (["run", str(deep)], f"blocsim: {deep}: line 2: arrays or tables nested more than"),
        (["sweep", str(deep)], f"blocsim: {deep}: line 2: arrays or tables nested more than"),
        (
            ["data", "tally", "ES-11/7", "--votes", str(corrupt)],
            f"blocsim: {corrupt}: not a readable gzip",
        ),
        (["predict", "--tally", "1-2"], "blocsim: field '--out': missing"),
    ):
        done = subprocess.run(
            [BLOCSIM, *argv], capture_output=True, text=True, cwd=tmp_path, check=False
        )
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(expected) and done.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv.gz", "deep.toml"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.sampled_from([193, 15]))
def test_a_tally_parses_to_a_possible_vote_or_refuses(text, seats):
    try:
        tally = Tally.parse(text, seats)
    except ValueError as error:
        assert str(error).startswith(f"tally '{text}'")
        return
    assert 0 < tally.yes + tally.no + tally.abstain <= seats and tally.members == seats
    assert str(tally) == text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(alphabet="[]{}=\"'#\n\\ab.=1 ", max_size=400))
def test_any_bytes_read_as_toml_or_refused_in_one_line(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("toml") / "any.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    try:
        read_toml(path, "scenario file")
    except BlocsimError as error:
        assert "\n" not in str(error)


def test_nesting_up_to_the_limit_is_read(tmp_path):
    depth = MAX_DEPTH - 1
    path = write(tmp_path, "ok.toml", "x = " + "[" * depth + "]" * depth + "\n")
    nested = read_toml(path, "scenario file").table["x"]
    for _ in range(depth - 1):
        (nested,) = nested
    assert nested == []
