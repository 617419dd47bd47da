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
VOTE = '[[votes]]\nname = "v"\ndate = "2025-02-24"\n'  # lines 2-4 after START
LIKE = 'like = "A/RES/ES-11/7"\n'
SHOCK = '[[shocks]]\ndate = "2025-02-01"\n'  # lines 2-3 after START
SWEEP = START + VOTE + LIKE + '[[shocks]]\ndate = "2025-01-20"\nkind = "move_toward"\n'
SWEEP += 'member = "USA"\ntarget = "RUS"\nfraction = 0.6\n'  # lines 6-11
GRID = '[sweep]\nreplicates = 2\n[[sweep.parameters]]\nname = "shocks[0].fraction"\n'

SCENARIOS = {
    # the file itself
    "empty file": ("", "field 'data_until': missing"),
    "not TOML": ("data_until = \n", "line 1: not valid TOML"),
    "binary junk": (bytes(range(256)) * 4, "not UTF-8 text"),
    "latin-1 text": ('data_until = "2025-01-01"\nname = "caf\xe9"\n'.encode("latin-1"), "line 2"),
    "NUL byte": (START + "name = 'a\0b'\n", "line 2: not valid TOML"),
    "BOM then junk": ("\ufeff" + START + "seed = \n", "line 2: not valid TOML"),
    "duplicate key": (START + "seed = 1\nseed = 2\n", "line 3: not valid TOML"),
    "too large": (START + "#" * (1 << 20) + "\n", "larger than 1 MiB"),
    "arrays nested deep": (START + "x = " + "[" * 5000 + "]" * 5000, "line 2: arrays or tables"),
    "tables nested deep": (START + "x = " + "{a=" * 3000 + "1" + "}" * 3000, "nested more than"),
    "dotted keys deep": (
        START + "x." + "a." * 5000 + "b = 1\n",
        "line 2: a key of more than 32 dotted parts",
    ),
    "unknown top key": (START + "seeds = 1\n", "line 2: field 'seeds': unknown key"),
    # top-level values
    "no data_until": ('name = "x"\n', "field 'data_until': missing"),
    "date-time for a date": ("data_until = 2025-01-01T10:00:00\n", "not the date-time"),
    "local time for a date": ("data_until = 10:00:00\n", "is not a date"),
    "date as number": ("data_until = 20250101\n", "line 1: field 'data_until'"),
    "date far ahead": ('data_until = "9999-12-31"\n', "after 2099-12-31"),
    "month 13": ('data_until = "2025-13-01"\n', "'2025-13-01' is not a date"),
    "seed negative": (START + "seed = -1\n", "line 2: field 'seed': must be 0 or more"),
    "seed text": (START + 'seed = "1"\n', "field 'seed': must be a whole number"),
    "seed bool": (START + "seed = true\n", "field 'seed': must be a whole number"),
    "seed float": (START + "seed = 1.5\n", "field 'seed': must be a whole number"),
    "name table": (START + "name = {a = 1}\n", "field 'name': must be text"),
    "name a path": (START + 'name = "../../elsewhere"\n', "field 'name': must be a plain name"),
    "name empty": (START + 'name = ""\n', "field 'name': must be a plain name"),
    "historical_shocks int": (START + "historical_shocks = 1\n", "must be true or false"),
    "votes a table": (START + "votes = {a = 1}\n", "field 'votes': must be a list"),
    "votes of numbers": (START + "votes = [1, 2]\n", "field 'votes[0]': must be a table"),
    "no votes to run": (START, "field 'votes': a run holds the scenario's votes"),
    # calibration
    "calibration a directory": (START + 'calibration = "."\n', "is a directory, not a calib"),
    "calibration missing": (START + 'calibration = "nope.toml"\n', "calibration file not found"),
    "calibration a number": (START + "calibration = 3\n", "field 'calibration': must be a path"),
    "calibration a scenario": (START + 'calibration = "bad.toml"\n', "not a calibration file"),
    # parameters
    "parameters a list": (START + "parameters = [1]\n", "field 'parameters': must be a table"),
    "stubbornness NaN": (START + "[parameters]\nstubbornness = nan\n", "line 3: field 'param"),
    "stubbornness text": (START + '[parameters]\nstubbornness = "a"\n', "must be a number"),
    "stubbornness 0": (START + "[parameters]\nstubbornness = 0\n", "must be above 0"),
    "tie weight inf": (START + "[parameters.ties]\nalliance = inf\n", "finite number >= 0"),
    "tie weight -inf": (START + "[parameters.ties]\nalliance = -inf\n", "finite number >= 0"),
    "tie weight NaN": (START + "[parameters]\nties.affinity = nan\n", "line 3: field 'param"),
    "tie type unknown": (START + "[parameters.ties]\nfriendship = 1\n", "unknown parameter"),
    "group unknown": (START + "[parameters.stubbornness_by_group]\nfoo = 0.5\n", "unknown"),
    "group value bool": (START + "[parameters.stubbornness_by_group]\neu = true\n", "a number"),
    "step_days overflow": (START + "[parameters]\nstep_days = 100000000\n", "between 1 and 366"),
    "step_days 0": (START + "[parameters]\nstep_days = 0\n", "between 1 and 366"),
    "step_days fraction": (START + "[parameters]\nstep_days = 7.5\n", "whole number of days"),
    "discrimination inf": (START + "[parameters]\ndiscrimination = inf\n", "finite number above"),
    # shocks
    "shock without kind": (START + SHOCK, "line 2: field 'shocks[0].kind': missing"),
    "shock kind unknown": (START + SHOCK + 'kind = "invade"\n', "unknown shock 'invade'"),
    "shock before start": (
        START + '[[shocks]]\ndate = "2024-01-01"\nkind = "cut_tie"\nmember = "USA"\n'
        'neighbour = "RUS"\n',
        "line 3: field 'shocks[0].date': 2024-01-01 is before the scenario starts",
    ),
    "add_tie to itself": (
        START + SHOCK + 'kind = "add_tie"\nmember = "USA"\nneighbour = "USA"\nshare = 0.5\n',
        "line 6: field 'shocks[0].neighbour': must be another state than the member USA",
    ),
    "cut_tie to itself, lowercase": (
        START + SHOCK + 'kind = "cut_tie"\nmember = "USA"\nneighbour = "usa"\n',
        "field 'shocks[0].neighbour': must be another state",
    ),
    "move_toward itself": (
        START + SHOCK + 'kind = "move_toward"\nmember = "USA"\ntarget = "USA"\nfraction = 0.5\n',
        "field 'shocks[0].target': must be another state",
    ),
    "unknown ISO3": (
        START + SHOCK + 'kind = "cut_tie"\nmember = "USA"\nneighbour = "XXX"\n',
        "line 6: field 'shocks[0].neighbour': unknown ISO3 code 'XXX'",
    ),
    "ISO3 with a newline": (
        START + SHOCK + 'kind = "cut_tie"\nmember = "US\\nA"\nneighbour = "RUS"\n',
        "unknown ISO3 code 'US\\nA'",
    ),
    "member a number": (
        START + SHOCK + 'kind = "cut_tie"\nmember = 840\nneighbour = "RUS"\n',
        "field 'shocks[0].member': must be text",
    ),
    "fraction NaN": (
        START + SHOCK + 'kind = "move_toward"\nmember = "USA"\ntarget = "RUS"\nfraction = nan\n',
        "line 7: field 'shocks[0].fraction': must be a finite number, not nan",
    ),
    "share inf": (
        START + SHOCK + 'kind = "add_tie"\nmember = "USA"\nneighbour = "RUS"\nshare = inf\n',
        "field 'shocks[0].share': must be a finite number",
    ),
    "share too large": (
        START + SHOCK + 'kind = "add_tie"\nmember = "USA"\nneighbour = "RUS"\nshare = 2\n',
        "field 'shocks[0].share': must be between 0.0 and 1.0",
    ),
    "bloc unknown": (
        START + SHOCK + 'kind = "weaken_bloc"\nbloc = "warsaw_pact"\nfactor = 0.5\n',
        "unknown bloc 'warsaw_pact'",
    ),
    "members empty": (
        START + SHOCK + 'kind = "weaken_bloc"\nmembers = []\nfactor = 0.5\n',
        "field 'shocks[0].members': must name at least one state",
    ),
    "members text": (
        START + SHOCK + 'kind = "set_stubbornness"\nmembers = "USA"\nvalue = 0.5\n',
        "field 'shocks[0].members': must be a list",
    ),
    "members and bloc": (
        START + SHOCK + 'kind = "weaken_bloc"\nmembers = ["USA"]\nbloc = "eu"\nfactor = 0.5\n',
        "give exactly one of 'members' or 'bloc'",
    ),
    "factor NaN": (
        START + SHOCK + 'kind = "weaken_bloc"\nbloc = "eu"\nfactor = nan\n',
        "field 'shocks[0].factor': must be a finite number",
    ),
    "shock key unknown": (
        START + SHOCK + 'kind = "cut_tie"\nmember = "USA"\nneighbour = "RUS"\nweight = 1\n',
        "line 7: field 'shocks[0].weight': unknown key",
    ),
    # votes
    "vote without date": (START + '[[votes]]\nlike = "ES-11/7"\n', "field 'votes[0].date': miss"),
    "vote date-time": (
        START + '[[votes]]\ndate = 2025-02-24T00:00:00\nlike = "ES-11/7"\n',
        "line 3: field 'votes[0].date': must be a date (YYYY-MM-DD), not the date-time",
    ),
    "vote before start": (
        START + '[[votes]]\ndate = "2024-12-31"\nlike = "ES-11/7"\n',
        "field 'votes[0].date': 2024-12-31 is before the scenario starts",
    ),
    "vote body unknown": (START + VOTE + LIKE + 'body = "HRC"\n', "must be GA or SC"),
    "vote without text": (START + VOTE, "give exactly one of 'cut_points', 'like' or 'tally'"),
    "vote two texts": (START + VOTE + LIKE + 'tally = "93-18-65"\n', "give exactly one of"),
    "like unknown": (START + VOTE + 'like = "ES-11/99"\n', "unknown resolution 'ES-11/99'"),
    "like a number": (START + VOTE + "like = 7\n", "field 'votes[0].like': must be text"),
    "cut_points NaN": (
        START + VOTE + "cut_points = [nan, 1.0]\n",
        "line 5: field 'votes[0].cut_points': must be [lower, upper], finite numbers",
    ),
    "cut_points inf": (START + VOTE + "cut_points = [0.5, inf]\n", "finite numbers"),
    "cut_points reversed": (START + VOTE + "cut_points = [1.5, 0.5]\n", "lower <= upper"),
    "cut_points text": (START + VOTE + 'cut_points = ["a", "b"]\n', "finite numbers"),
    "cut_points bools": (START + VOTE + "cut_points = [false, true]\n", "finite numbers"),
    "cut_points a table": (START + VOTE + "cut_points = {a = 1}\n", "must be a list"),
    "cut_points three": (START + VOTE + "cut_points = [0, 1, 2]\n", "must be [lower, upper]"),
    "discrimination NaN": (START + VOTE + LIKE + "discrimination = nan\n", "finite number"),
    "discrimination 0": (START + VOTE + LIKE + "discrimination = 0\n", "between 0.001"),
    "polarity unknown": (START + VOTE + LIKE + 'polarity = "up"\n', "must be one of same"),
    "important text": (START + VOTE + LIKE + 'important = "yes"\n', "must be true or false"),
    "tally no votes cast": (
        START + VOTE + 'tally = "0-0-0"\n',
        "line 5: field 'votes[0].tally': tally '0-0-0' has no votes cast",
    ),
    "tally negative": (START + VOTE + 'tally = "-1-5-5"\n', "not of the form Y-N-A"),
    "tally spaces": (START + VOTE + 'tally = " 93 - 18 - 65 "\n', "not of the form Y-N-A"),
    "tally text": (START + VOTE + 'tally = "many-few-some"\n', "not of the form Y-N-A"),
    "tally Arabic digits": (START + VOTE + 'tally = "٩٣-18-65"\n', "not of the form Y-N-A"),
    "tally a number": (START + VOTE + "tally = 93\n", "field 'votes[0].tally': must be text"),
    "tally over the seats": (START + VOTE + 'tally = "193-0-1"\n', "194 votes for 193 members"),
    "tally over SC seats": (
        START + VOTE + 'body = "SC"\ntally = "10-5-5"\n',
        "tally '10-5-5' counts 20 votes for 15 members",
    ),
    "second vote's tally": (
        START + VOTE + LIKE + VOTE + 'tally = "93-18-65-1"\n',
        "line 9: field 'votes[1].tally': tally '93-18-65-1' is not of the form",
    ),
    "amendment shift NaN": (
        START + VOTE + LIKE + '[[votes.amendments]]\nlike = "ES-11/7"\nshift = nan\n',
        "line 8: field 'votes[0].amendments[0].shift': must be a finite number, not nan",
    ),
    "amendment key unknown": (
        START + VOTE + LIKE + '[[votes.amendments]]\nlike = "ES-11/7"\nmove = 1\n',
        "line 8: field 'votes[0].amendments[0].move': unknown key",
    ),
    "votes out of date order": (
        START + VOTE.replace("02-24", "06-01") + LIKE + VOTE.replace('"v"', '"w"') + LIKE,
        "line 8: field 'votes[1].date': 2025-02-24 is before votes[0] (2025-06-01)",
    ),
    "two votes of one name": (START + VOTE + LIKE + VOTE + LIKE, "'v' already names votes[0]"),
    "amendments a table": (START + VOTE + LIKE + "amendments = {a = 1}\n", "must be a list"),
    "vote key unknown": (START + VOTE + LIKE + "rapporteur = 'x'\n", "line 6: field 'votes[0]."),
}

SWEEPS = {
    "no [sweep]": (SWEEP, "field 'sweep': missing"),
    "sweep a number": ("sweep = 3\n" + SWEEP, "field 'sweep': must be a table"),
    "design unknown": (SWEEP + '[sweep]\ndesign = "random"\n', "line 13: field 'sweep.design'"),
    "no parameters": (SWEEP + "[sweep]\nreplicates = 2\n", "give at least one"),
    "replicates 0": (SWEEP + GRID.replace("= 2", "= 0") + "values = [0.5]\n", "at least 1"),
    "replicates negative": (SWEEP + GRID.replace("= 2", "= -5") + "values = [0.5]\n", "at least"),
    "replicates text": (SWEEP + GRID.replace("= 2", '= "2"') + "values = [0.5]\n", "whole numb"),
    "replicates float": (SWEEP + GRID.replace("= 2", "= 2.5") + "values = [0.5]\n", "whole num"),
    "block_size 0": (
        SWEEP + GRID.replace("= 2", "= 2\nblock_size = 0") + "values = [0.5]\n",
        "line 14: field 'sweep.block_size': must be between 1 and 100000",
    ),
    "sweep table twice": (SWEEP + GRID + "values = [0.5]\n[sweep]\n", "not valid TOML"),
    "parameter unknown": (
        SWEEP + GRID.replace("shocks[0].fraction", "parameters.charisma") + "values = [1]\n",
        "line 15: field 'sweep.parameters[0].name': unknown parameter 'charisma'",
    ),
    "parameter not a name": (
        SWEEP + GRID.replace("shocks[0].fraction", "fraction") + "values = [1]\n",
        "is neither parameters.<name> nor shocks[<i>].<field>",
    ),
    "shock index too large": (
        SWEEP + GRID.replace("shocks[0]", "shocks[7]") + "values = [1]\n",
        "the scenario has 1 [[shocks]]",
    ),
    "values empty": (SWEEP + GRID + "values = []\n", "must not be empty"),
    "values NaN": (
        SWEEP + GRID + "values = [0.5, nan]\n",
        "line 16: field 'sweep.parameters[0].values': fraction must be between -1 and 2",
    ),
    "values text": (SWEEP + GRID + 'values = ["big"]\n', "must be a number, not 'big'"),
    "values a table": (SWEEP + GRID + "values = {a = 1}\n", "must be a list"),
    "values out of range": (SWEEP + GRID + "values = [5.0]\n", "between -1 and 2"),
    "range reversed": (SWEEP + GRID + "range = [1.0, 0.0]\nsteps = 3\n", "low <= high"),
    "range without steps": (SWEEP + GRID + "range = [0.0, 1.0]\n", "needs steps"),
    "range and values": (SWEEP + GRID + "range = [0, 1]\nvalues = [1]\n", "exactly one of"),
    "stubbornness inf": (
        SWEEP + GRID.replace("shocks[0].fraction", "parameters.stubbornness") + "values = [inf]\n",
        "field 'sweep.parameters[0].values'",
    ),
    "tie weight inf": (
        SWEEP
        + GRID.replace("shocks[0].fraction", "parameters.ties.alliance")
        + "values = [1.0, inf]\n",
        "field 'sweep.parameters[0].values': must be a finite number >= 0, not inf",
    ),
    "date before start": (
        SWEEP + GRID.replace("fraction", "date") + "values = [2020-01-01]\n",
        "2020-01-01 is before the scenario starts",
    ),
    "date-time value": (
        SWEEP + GRID.replace("fraction", "date") + "values = [2025-02-01T00:00:00]\n",
        "not the date-time",
    ),
    "sobol points not a power of 2": (
        SWEEP
        + GRID.replace("[sweep]\n", '[sweep]\ndesign = "sobol"\npoints = 3\n')
        + "range = [0.0, 1.0]\n",
        "needs a power of two",
    ),
    "question unknown": (
        SWEEP + GRID.replace("[sweep]\n", '[sweep]\nquestion = "nope"\n') + "values = [1]\n",
        "no vote named 'nope'",
    ),
    "baseline drops a shock it lacks": (
        SWEEP + GRID + "values = [1]\n[sweep.baseline]\ndrop_shocks = [3]\n",
        "field 'sweep.baseline.drop_shocks[0]'",
    ),
    "sweep key unknown": (SWEEP + "[sweep]\nworkers = 2\n", "field 'sweep.workers': unknown"),
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


@pytest.mark.parametrize(("content", "expected"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_bad_scenarios_are_refused_by_run_and_sweep(cli, capsys, content, expected):
    path = write(cli, "bad.toml", content)
    assert expected in refused(capsys, ["run", str(path)], cli)
    refused(capsys, ["sweep", str(path)], cli)


@pytest.mark.parametrize(("content", "expected"), SWEEPS.values(), ids=SWEEPS.keys())
def test_bad_sweeps_are_refused(cli, capsys, content, expected):
    path = write(cli, "bad.toml", content)
    assert expected in refused(capsys, ["sweep", str(path)], cli)


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
    assert "1-1-0 with 0 not voting" in capsys.readouterr().out


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
        (["predict", "--tally", "1-2"], "blocsim: field '--date': missing"),
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
