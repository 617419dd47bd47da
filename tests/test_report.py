"""`blocsim report`: the files are written, whole, and the figures show what their tables say."""

from __future__ import annotations

import re
import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.text import Text

from sim.cli import main
from sim.errors import BlocsimError
from sim.outputs import figures
from sim.outputs.report import parameter_influence, threshold_table, write_report
from sim.results import read_manifest


@pytest.fixture(scope="module")
def run_report(run_dir):
    return write_report(run_dir)


def _bars(figure, gid: str) -> list:
    return [patch for ax in figure.axes for patch in ax.patches if patch.get_gid() == gid]


def test_run_report_writes_figures_tables_and_markdown(run_dir, run_report):
    for name in ("tallies", "trajectory", "network", "followers", "map_GA-text-like-A-RES-ES-11-7"):
        for suffix in ("png", "svg", "csv"):
            assert (run_report / f"{name}.{suffix}").stat().st_size > 0, f"{name}.{suffix}"
    latex = (run_report / "tally_table.tex").read_text()
    # two tables that fit a page, not one of nineteen columns; text escaped, no "nan"
    formats = re.findall(r"\\begin\{tabular\}\{(.*)\}", latex)
    assert len(formats) == 2
    assert all(len(re.sub(r"p\{[^}]*\}", "p", f)) <= 6 for f in formats)
    assert "10-90 \\%" in latex and "nan" not in latex.lower()
    assert "yes_q10" in pd.read_csv(run_report / "tally_table.csv", nrows=0).columns  # all kept
    markdown = (run_report / "report.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert rows and not [row for row in rows if "| nan |" in row or "adopted adopted" in row]
    assert "# blocsim report: carried" in markdown
    assert "![The influence network](network.png)" in markdown
    assert "United Nations voting records" in markdown
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".report")], "staging left"


def test_an_existing_report_is_kept_unless_forced(run_dir, run_report, capsys):
    with pytest.raises(BlocsimError, match="--force"):
        write_report(run_dir)
    assert main(["report", str(run_dir)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["report", str(run_dir), "--force"]) == 0
    assert (run_dir / "report" / "report.md").is_file()


def test_tally_figure_draws_the_run_tallies_and_thresholds(run_dir, run_report):
    held = pd.read_csv(run_dir / "tallies.csv")
    table = pd.read_csv(run_report / "tallies.csv")
    assert table[["yes", "no", "abstain", "not_voting"]].equals(
        held[["yes", "no", "abstain", "not_voting"]]
    )
    _assert_figure_draws(table)


def _assert_figure_draws(table: pd.DataFrame) -> None:
    """The tally figure's bars and threshold marks are the table's numbers."""
    figure = figures.tally_figure(table, "source")
    for kind in ("yes", "no", "abstain", "not_voting"):
        widths = [bar.get_width() for bar in _bars(figure, f"tally-{kind}")]
        assert widths == table[kind].tolist(), kind
    marks = [
        line.get_xdata()[0]
        for ax in figure.axes
        for line in ax.lines
        if line.get_gid() == "tally-threshold"
    ]
    assert marks == pytest.approx(table["threshold"].tolist())


def test_thresholds_follow_the_chamber_rules():
    tallies = pd.DataFrame(
        {
            "body": ["GA", "GA", "SC"],
            "vote": ["a", "b", "c"],
            "name": ["a", "b", "amendment"],
            "on": ["text", "text", "amendment"],
            "yes": [93, 100, 10],
            "no": [18, 60, 1],
            "abstain": [65, 20, 4],
            "not_voting": [17, 13, 0],
            "adopted": [True, False, False],
            "rule": ["GA simple majority", "GA two-thirds majority", "SC nine votes and no veto"],
            "reason": ["93 yes > 18 no", "100 yes < 2/3 of 160", "vetoed by RUS"],
        }
    )
    table = threshold_table(tallies)
    assert table["threshold"].tolist() == pytest.approx([55.5, 160 * 2 / 3, 9])
    assert table["verdict"].tolist() == ["adopted", "not adopted", "VETOED (RUS)"]


def test_network_marks_each_member_by_its_vote(run_dir, run_report):
    nodes = pd.read_csv(run_report / "network.csv", keep_default_na=False)
    votes = pd.read_csv(run_dir / "votes.csv")
    ga_texts = pd.read_csv(run_dir / "tallies.csv").query("on == 'text' and body == 'GA'")
    last = ga_texts.iloc[-1]["vote"]
    cast = votes[(votes["vote"] == last) & (votes["name"] == last)]
    assert dict(zip(nodes["iso3"], nodes["vote"], strict=True)) == dict(
        zip(cast["iso3"], cast["code"], strict=True)
    )
    ties = pd.read_csv(run_dir / "network.csv")
    figure = figures.network_figure(nodes, ties, "source", "title")
    drawn = {
        collection.get_gid(): len(collection.get_offsets())
        for collection in figure.axes[0].collections
        if collection.get_gid()
    }
    for code, kind in figures.CODE_KIND.items():
        assert drawn[f"network-{kind}"] == int((nodes["vote"] == code).sum())


def test_followers_figure_draws_the_record_of_the_run_directory(run_dir, run_report):
    record = pd.read_csv(run_dir / "followers.csv").set_index("iso3")
    assert record.loc["ARG", ["before_agree", "after_agree"]].tolist() == [38, 5]
    table = pd.read_csv(run_report / "followers.csv")
    assert len(table) == 16 and table["iso3"].iloc[0] == "ARG" and table["iso3"].iloc[-1] == "FSM"
    assert (table["change"].iloc[:8] > 0).all() and (table["change"].iloc[8:] < 0).all()
    figure = figures.followers_figure(table, "source", "2025-01-20")
    drawn = {
        collection.get_gid(): collection.get_offsets() for collection in figure.axes[0].collections
    }
    for period in ("before", "after"):
        points = np.asarray(drawn[f"followers-{period}"])
        assert points[:, 0].tolist() == pytest.approx(table[f"{period}_share"].tolist())
        assert points[:, 1].tolist() == list(range(len(table)))[::-1]  # first row on top
    labels = {
        label.get_position()[1]: label.get_text() for label in figure.axes[0].get_yticklabels()
    }
    assert [labels[row] for row in sorted(labels, reverse=True)] == table["label"].tolist()


def test_explain_figure_stacks_each_members_parts_to_its_move(run_dir, run_report):
    """The members that moved most through their ties (not the USA, which the shock moved),
    each one's parts adding up to its move in explain.csv, drawn as they are tabled."""
    explained = pd.read_csv(run_dir / "explain.csv", keep_default_na=False)
    moved = explained.groupby("iso3")["toward"].sum()
    table = pd.read_csv(run_report / "explain.csv", keep_default_na=False)
    shown = list(dict.fromkeys(table["iso3"]))
    assert len(shown) == 10 and "USA" not in shown
    assert moved.drop("USA").abs().nlargest(10).index.tolist() == shown
    assert table.groupby("iso3", sort=False)["toward"].sum().tolist() == pytest.approx(
        moved[shown].tolist(), abs=1e-9
    )
    assert (table.loc[table["kind"] == "via", "name"] == "USA").any()
    figure = figures.explain_figure(table, "source", "USA")
    bars = [p for p in figure.axes[0].patches if str(p.get_gid()).startswith("explain-")]
    assert [b.get_width() for b in bars] == pytest.approx(table["toward"].tolist())
    assert [b.get_x() for b in bars] == pytest.approx(table["left"].tolist())
    for _, member in table.groupby("iso3", sort=False):  # each side stacked from 0
        for side in (member[member["toward"] >= 0], member[member["toward"] < 0]):
            starts = side["toward"].cumsum().shift(fill_value=0.0)
            assert side["left"].tolist() == pytest.approx(starts.tolist())
    assert "Why the members moved" in (run_report / "report.md").read_text()


# --- sweeps ----------------------------------------------------------------------------------
# The report reads a real sweep directory (`small_sweep` in conftest.py), copied so that the
# report written into it leaves the shared one untouched.


@pytest.fixture(scope="module")
def sweep_dir(small_sweep, tmp_path_factory):
    copy = tmp_path_factory.mktemp("sweep") / small_sweep.directory.name
    shutil.copytree(small_sweep.directory, copy)
    return copy


@pytest.fixture(scope="module")
def sweep_report(sweep_dir):
    return write_report(sweep_dir)


def test_sweep_report_has_fan_heatmap_and_flips(sweep_report):
    for name in ("tallies", "trajectory", "adoption_heatmap", "flips"):
        assert (sweep_report / f"{name}.png").is_file() and (sweep_report / f"{name}.svg").is_file()
    assert (sweep_report / "parameter_influence.tex").is_file()
    influence = pd.read_csv(sweep_report / "parameter_influence.csv")
    x, y = influence["parameter"].iloc[:2]
    cells = pd.read_csv(sweep_report / "adoption_heatmap.csv")
    assert {"vote", x, y, "p_adopted", "mean_yes"} == set(cells.columns)
    question = cells[cells["vote"] == cells["vote"].iloc[0]]
    figure = figures.adoption_heatmap(question, x, y, "s")
    shown = np.asarray(figure.axes[0].images[0].get_array())
    np.testing.assert_allclose(
        shown, question.pivot(index=y, columns=x, values="p_adopted").to_numpy()
    )
    flips = pd.read_csv(sweep_report / "flips.csv")
    assert len(flips) == 20 and flips["p_flip"].is_monotonic_decreasing
    assert set(flips["vote"]) == {"A/RES/ES-11/7"}  # the sweep's question
    bars = _bars(figures.flips_figure(flips, "s"), "flips")
    assert [bar.get_width() for bar in bars] == pytest.approx(flips["p_flip"].tolist())


def test_sweep_tallies_take_each_chamber_and_rule_from_the_runs(sweep_dir, sweep_report):
    """The median tallies' thresholds: half (or, for an important question, two thirds) of
    those present and voting in the Assembly, nine in the Council, as the runs table says."""
    table = pd.read_csv(sweep_report / "tallies.csv")
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    expected = runs.drop_duplicates("name").set_index("name")
    assert table.set_index("name")["body"].to_dict() == expected["body"].to_dict()
    voting = table["yes"] + table["no"]
    want = np.where(
        table["body"] == "SC", 9, np.where(table["important"], voting * 2 / 3, voting / 2)
    )
    assert table["threshold"].tolist() == pytest.approx(want.tolist())
    assert table["important"].any() and (table["body"] == "SC").any()
    _assert_figure_draws(table)


def test_the_influential_parameters_rank_first():
    """Adoption made to depend on `fraction` and `stubbornness`, not on `noise`."""
    grid = [(f, s, n) for f in (0.2, 0.6, 1.0) for s in (0.2, 0.5, 0.8) for n in (0.0, 0.1)]
    points = pd.DataFrame(grid, columns=["fraction", "stubbornness", "noise"])
    points.insert(0, "point", range(len(points)))
    adoption = pd.DataFrame(
        {
            "point": points["point"],
            "vote": "A/RES/ES-11/7",
            "p_adopted": np.clip(1.2 - points["fraction"] - points["stubbornness"] / 2, 0, 1),
        }
    )
    ranking = parameter_influence(adoption, points)
    assert list(ranking.index[:2]) == ["fraction", "stubbornness"]
    assert ranking["noise"] == pytest.approx(0)


def test_run_report_words_agree_with_the_figures(run_dir, run_report):
    """report.md describes the network as the figure draws it, and every vote table lists
    yes, no, abstain in that order."""
    markdown = (run_report / "report.md").read_text()
    assert f"each member's {figures.TIES_IN_LAYOUT} strongest ties" in markdown
    assert f"lines: each member's {figures.TIES_DRAWN} strongest ties" in markdown
    for name in ("tallies.csv", "trajectory.csv", "tally_table.csv"):
        columns = list(pd.read_csv(run_report / name, nrows=0).columns)
        order = [c for c in columns if c in ("yes", "no", "abstain")]
        assert order == ["yes", "no", "abstain"], name


def test_network_labels_do_not_overlap(run_dir, run_report):
    """The US, its strongest ties and every bloc ringed get a label of their own."""
    nodes = pd.read_csv(run_report / "network.csv", keep_default_na=False)
    figure = figures.network_figure(nodes, pd.read_csv(run_dir / "network.csv"), "s", "t")
    renderer = FigureCanvasAgg(figure).get_renderer()
    texts = [t for t in figure.axes[0].texts if t.get_text()]
    labels = {t.get_text() for t in texts}
    bloc_labels = labels & {label for label, _ in figures.BLOC_RINGS.values()}
    rings = [c for c in figure.axes[0].collections if c.get_gid() in ("network-eu", "network-au")]
    assert "United States" in labels and len(rings) == len(bloc_labels) == 2
    boxes = [t.get_window_extent(renderer) for t in texts if "listens most" not in t.get_text()]
    for i, box in enumerate(boxes):
        for other in boxes[i + 1 :]:
            assert not box.overlaps(other), "two labels overlap"


def test_network_rings_the_members_of_each_bloc_and_no_one_else(run_dir, run_report):
    """Each bloc's members are ringed one by one, so a state the layout sets among them (Russia
    among the AU's) is never drawn inside the bloc."""
    nodes = pd.read_csv(run_report / "network.csv", keep_default_na=False)
    figure = figures.network_figure(nodes, pd.read_csv(run_dir / "network.csv"), "s", "t")
    rings = {c.get_gid(): c for c in figure.axes[0].collections}
    for bloc in figures.BLOC_RINGS:
        members = nodes[nodes["blocs"].str.split().apply(lambda b, bloc=bloc: bloc in b)]
        ringed = {tuple(point) for point in rings[f"network-{bloc}"].get_offsets().tolist()}
        assert ringed == set(zip(members["x"], members["y"], strict=True)), bloc
    au = nodes[nodes["blocs"].str.split().apply(lambda b: "au" in b)]
    assert not {"RUS", "CHN", "PRK", "CUB"} & set(au["iso3"])


def test_sweep_report_says_which_point_and_why(sweep_dir, sweep_report):
    """The one-point figures name the design point, its values in words and why it was
    chosen; the fan's band width is stated; a heat map of one colour is explained."""
    markdown = (sweep_report / "report.md").read_text()
    points = pd.read_csv(sweep_dir / "points.csv")
    trajectory = pd.read_csv(sweep_report / "trajectory.csv")
    point = int(trajectory["point"].iloc[0])
    assert f"design point {point}" in markdown
    assert "nearest the middle of every parameter's values" in markdown
    assert "the size of USA's turn toward RUS (shocks[0].fraction)" in markdown
    assert "its date (shocks[0].date)" in markdown
    chosen = points[points["point"] == point].iloc[0]
    assert f"(shocks[0].date) {chosen['shocks[0].date']}" in markdown
    widest = (trajectory["yes_q90"] - trajectory["yes_q10"]).groupby(trajectory["path"]).max()
    assert f"at its widest the band is {widest['scenario']:.1f} votes in the scenario" in markdown
    assert "the status quo: the same runs without USA's turn toward RUS" in markdown
    cells = pd.read_csv(sweep_report / "adoption_heatmap.csv")
    for vote, shares in cells.groupby("vote")["p_adopted"]:
        if (shares == 1).all():
            assert "adopted in every run at every point" in markdown, vote


def test_a_narrow_fan_is_zoomed_and_outlined():
    """A 10-90 % band a vote or two wide on a 0-100 axis gets an inset that shows it."""
    dates = pd.date_range("2025-01-01", periods=20, freq="7D").strftime("%Y-%m-%d")
    fan = pd.DataFrame(
        {
            "vote": "A",
            "date": dates,
            "yes_q10": 90.0,
            "yes_q50": 90.8,
            "yes_q90": 91.6,
            "no_q50": 15.0,
            "abstain_q50": 60.0,
        }
    )
    figure = figures.trajectory_figure(
        fan, "s", baseline=fan.assign(yes_q50=99.0, yes_q10=98.5, yes_q90=99.5)
    )
    panel = figure.axes[0]
    assert panel.child_axes, "no zoomed inset for a narrow band"
    low, high = panel.child_axes[0].get_ylim()
    assert high - low < 20


# --- seeds, the record, turns, key states and the map ----------------------------------------


def test_more_seeds_are_spawned_from_the_root_and_the_first_is_the_detailed_run(
    data, run_dir, carried_scenario
):
    """seeds.csv: seed 0 is the run of tallies.csv; seed k is the run of the root's (k-1)th
    spawned child, on the same world."""
    from sim.model.agenda import scenario_timeline
    from sim.model.model import BlocModel
    from sim.model.run import vote_tables

    seeds = pd.read_csv(run_dir / "seeds.csv", keep_default_na=False)
    tallies = pd.read_csv(run_dir / "tallies.csv", keep_default_na=False)
    count = read_manifest(run_dir)["seed"]["seeds"]
    assert count > 2 and sorted(seeds["seed"].unique()) == list(range(count))
    first = seeds[seeds["seed"] == 0].drop(columns="seed").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, tallies)
    world, timeline = scenario_timeline(carried_scenario, data)
    child = np.random.SeedSequence(carried_scenario.seed).spawn(count - 1)[1]
    model = BlocModel(world, timeline, child)
    model.run_model()
    again = vote_tables(model)[0]
    third = seeds[seeds["seed"] == 2].reset_index(drop=True)
    assert third[["yes", "no", "abstain", "not_voting"]].equals(
        again[["yes", "no", "abstain", "not_voting"]]
    )


def test_tally_figure_shows_the_spread_over_seeds(run_dir, run_report):
    seeds = pd.read_csv(run_dir / "seeds.csv")
    table = pd.read_csv(run_report / "tallies.csv")
    figure = figures.tally_figure(table, "s")
    whiskers = [
        line.get_xdata()
        for ax in figure.axes
        for line in ax.lines
        if line.get_gid() == "tally-spread-yes"
    ]
    expected = seeds.groupby(["vote", "name"], sort=False)["yes"].quantile([0.1, 0.9]).unstack()
    drawn = [end for whisker in whiskers for end in whisker]
    assert drawn == pytest.approx(expected.to_numpy().ravel().tolist())
    adopted = seeds.groupby(["vote", "name"], sort=False)["adopted"].sum()
    for verdict, count in zip(table["verdict"], adopted, strict=True):
        assert (
            verdict.startswith("drawn: ")
            and f"{count} of {seeds['seed'].nunique()} seeds adopted it" in verdict
        )


def test_a_real_vote_is_drawn_beside_its_record():
    """The record bars are the official tally (sim.data.resolutions); a vote that is not a
    real one (another date) gets none."""
    from sim.data.resolutions import resolution
    from sim.outputs.report import _with_record

    record = resolution("A/RES/ES-11/7")
    tallies = pd.DataFrame(
        {
            "date": [record.date.isoformat(), "2025-04-24"],
            "body": "GA",
            "vote": [record.symbol, "A/RES/ES-11/7 (again)"],
            "on": "text",
            "name": [record.symbol, "A/RES/ES-11/7 (again)"],
            "yes": [90, 90],
            "no": [20, 20],
            "abstain": [60, 60],
            "not_voting": [23, 23],
            "adopted": True,
            "rule": "GA simple majority",
            "reason": "90 yes > 20 no",
        }
    )
    table = _with_record(threshold_table(tallies))
    assert record.subject in table["label"].iloc[0]
    assert table["recorded_yes"].isna().tolist() == [False, True]
    figure = figures.tally_figure(table, "s")
    for kind in ("yes", "no", "abstain", "not_voting"):
        widths = [bar.get_width() for bar in _bars(figure, f"tally-recorded_{kind}")]
        assert widths == [getattr(record.tally, kind)], kind


def test_trajectory_marks_the_turn_and_adds_up_to_the_chamber(run_dir, run_report):
    shocks = pd.read_csv(run_dir / "shocks.csv")
    assert list(shocks[["member", "target"]].iloc[0]) == ["USA", "RUS"]
    table = pd.read_csv(run_report / "trajectory.csv")
    totals = table[["yes", "no", "abstain", "not_voting"]].sum(axis=1)
    assert totals.where(table["body"] == "GA").dropna().round().eq(193).all()
    held = pd.read_csv(run_report / "tallies.csv").query("on == 'text'")
    figure = figures.trajectory_figure(
        table, "s", held=held, turns=shocks[["date", "label"]], subjects={"x": "y"}
    )
    renderer = FigureCanvasAgg(figure).get_renderer()
    panels = [ax for ax in figure.axes if ax.get_visible() and ax.lines]
    for ax in panels:
        marks = [line for line in ax.lines if line.get_gid() == "trajectory-turn"]
        assert len(marks) == len(shocks)
        assert {line.get_gid() for line in ax.lines} >= {"trajectory-not_voting"}
        # no expected-count line runs through a shock's label
        (label,) = [t for t in ax.texts if t.get_gid() == "trajectory-turn-label"]
        box = label.get_window_extent(renderer)
        for line in ax.lines:
            if line.get_gid() in {f"trajectory-{kind}" for kind in figures.STYLE}:
                x, y = ax.transData.transform(line.get_xydata()).T
                inside = (x > box.x0) & (x < box.x1) & (y > box.y0) & (y < box.y1)
                assert not inside.any(), line.get_gid()
    # the legend's "as held" entry shows the three open markers the panels draw
    (legend,) = figure.legends
    open_markers = [
        line.get_marker()
        for line in legend.findobj(Line2D)
        if line.get_marker() not in (None, "None") and line.get_markerfacecolor() == "white"
    ]
    assert open_markers == ["o", "s", "^"]


def test_a_shock_is_labelled_with_the_scenario_s_date_and_the_step_it_acts_at(run_dir):
    """The classroom's turn is dated 20 January 2025; it acts in the 7-day step that contains
    that day, which starts on the step's grid date: both dates are said."""
    turn = pd.read_csv(run_dir / "shocks.csv").iloc[0]
    grid = pd.read_csv(run_dir / "positions.csv").set_index("step")["date"]
    acts = date.fromisoformat(turn["acts"])
    assert turn["date"] == "2025-01-20" and turn["acts"] == grid[turn["step"]]
    assert 0 <= (date(2025, 1, 20) - acts).days < 7
    assert turn["label"] == (
        f"USA turns toward RUS (2025-01-20; acts at the step of {acts.isoformat()})"
        if acts != date(2025, 1, 20)
        else "USA turns toward RUS (2025-01-20)"
    )
    explained = pd.read_csv(run_dir / "explain.csv", keep_default_na=False)
    assert set(explained["shock"]) == {turn["label"]}


def test_network_names_the_p5_the_no_voters_and_the_movers(run_dir, run_report):
    nodes = pd.read_csv(run_report / "network.csv", keep_default_na=False)
    key = nodes.set_index("iso3")["key"]
    assert all("P5" in key[code] for code in ("CHN", "FRA", "GBR", "RUS", "USA"))
    votes = pd.read_csv(run_dir / "votes.csv")
    first = pd.read_csv(run_dir / "tallies.csv").query("on == 'text' and body == 'GA'")
    first = first["vote"].iloc[0]
    no = votes[(votes["vote"] == first) & (votes["name"] == first) & (votes["code"] == "N")]
    assert set(no["iso3"]) == {c for c in key.index if "No on the first vote" in key[c]}
    assert sum("moved most" in reason for reason in key) == 5
    figure = figures.network_figure(nodes, pd.read_csv(run_dir / "network.csv"), "s", "t")
    labels = {t.get_text() for t in figure.axes[0].texts}
    always = {c for c in key.index if "P5" in key[c] or "moved most" in key[c]} - {"USA"}
    assert always <= labels and "United States" in labels
    # a No voter is named where its label fits (a crowded bloc leaves some unnamed)
    assert len(labels & set(no["iso3"])) >= len(no) // 2


def test_the_world_map_fills_each_member_by_its_vote(run_dir, run_report):
    """Every member has a shape on the map, filled with its vote's colour (the table's)."""
    from matplotlib.colors import to_hex

    nodes = pd.read_csv(run_report / "map_GA-text-like-A-RES-ES-11-7.csv", keep_default_na=False)
    assert len(nodes) == 193
    figure = figures.vote_map_figure(nodes, "s", "t")
    fills = {
        patch.get_gid().removeprefix("map-"): to_hex(patch.get_facecolor())
        for patch in figure.axes[0].patches
        if (patch.get_gid() or "").startswith("map-")
    }
    assert set(fills) == set(nodes["iso3"])
    for row in nodes.itertuples():
        assert fills[row.iso3] == figures.STYLE[figures.CODE_KIND[row.vote]]["color"], row.iso3
    # a title of two lines stays whole inside the figure
    titled = figures.vote_map_figure(nodes, "s", "How each member voted\non a text")
    renderer = FigureCanvasAgg(titled).get_renderer()
    titled.draw_without_rendering()  # the layout places the title
    (title,) = [t for t in titled.findobj(Text) if t.get_text().startswith("How each")]
    box = title.get_window_extent(renderer)
    assert box.y1 <= titled.bbox.y1 and box.x0 >= titled.bbox.x0


def test_run_prints_draws_beside_the_record(tmp_path, capsys, council_record):
    """`blocsim run` says its tallies are draws and prints the record under each real text."""
    from sim.data.resolutions import resolution

    assert main(["run", "scenarios/us_realignment.toml", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    tallies = [line for line in out.splitlines() if line.startswith(("2025", "    on record"))]
    assert all(": drawn " in line for line in tallies if line.startswith("2025"))
    for record in (resolution("A/RES/ES-11/7"), council_record):
        assert (
            f"    on record: {record.symbol} {record.tally} ({record.tally.not_voting} not voting)"
            in out
        )
    assert not (tmp_path / "run" / "seeds.csv").exists()


def test_seeds_must_be_one_or_more(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "scenarios/classroom.toml", "--seeds", "0", "--out", str(out)]) == 2
    assert "blocsim: field '--seeds': must be 1 or more" in capsys.readouterr().err
    assert not out.exists()


def test_svg_paths_are_read_relative_and_absolute():
    from matplotlib.path import Path

    from sim.outputs.world_shapes import parse_path

    path = parse_path("m 10,20 5,0 h 5 v 5 c 0,1 1,1 1,0 z M 0 0 L 1 1")
    assert path.vertices.tolist() == [
        [10, 20], [15, 20], [20, 20], [20, 25], [20, 26], [21, 26], [21, 25], [10, 20],
        [0, 0], [1, 1],
    ]  # fmt: skip
    assert path.codes.tolist() == [
        Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, *[Path.CURVE4] * 3,
        Path.CLOSEPOLY, Path.MOVETO, Path.LINETO,
    ]  # fmt: skip


def test_every_member_has_a_shape_on_the_shipped_map(data):
    from sim.model.run import iso2_code
    from sim.outputs.world_shapes import world_shapes

    shapes = world_shapes()
    missing = [code for code in data.members["iso2"] if iso2_code(code).lower() not in shapes]
    assert not missing
    assert iso2_code("^GB$|^UK$") == "GB"
