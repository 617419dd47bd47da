"""Votes on texts: ordered-logit probabilities, cut-points fitted to tallies, chamber rules,
and amendments. The rule tests act on synthetic chambers (members P1..P5, E01..E10, W1 ...)
with made-up votes: no test here states how a real member voted."""

from __future__ import annotations

import numpy as np
import pytest

from sim.data.resolutions import Tally
from sim.model.voting import (
    ABSTAIN,
    NO,
    NOT_VOTING,
    VOTE_CODES,
    YES,
    Amendment,
    Chamber,
    CutPoints,
    Draft,
    as_tally,
    assign_to_tally,
    codes_by_member,
    draw_votes,
    fit_cut_points,
    ga_adopted,
    ga_outcome,
    project,
    sc_adopted,
    sc_outcome,
    sc_outcome_from_tally,
    tally_of,
    vote_indices,
    vote_probabilities,
    vote_resolution,
)

ES_11_7 = Tally(yes=93, no=18, abstain=65, not_voting=17)
COUNCIL_10_0_5 = Tally(yes=10, no=0, abstain=5, not_voting=0)
# A synthetic Council: five permanent members and ten elected ones.
PERMANENT = ("P1", "P2", "P3", "P4", "P5")
ELECTED = tuple(f"E{i:02d}" for i in range(1, 11))
FAR_SIDE = ELECTED[:5]  # a bloc of five elected members on the far side of a reverse text
COUNCIL = Chamber("SC", PERMANENT + ELECTED, permanent=PERMANENT)
SHARP = 40.0  # discrimination at which members half a unit from a cut vote as expected
PRESENT = 1e-12  # an absence propensity that keeps everyone in the room


@pytest.fixture
def assembly() -> tuple[np.ndarray, np.ndarray]:
    """193 synthetic positions (N,) and absence propensities (N,) from a seeded generator."""
    rng = np.random.default_rng(20250224)
    return rng.normal(0.0, 1.5, 193), rng.uniform(0.01, 0.4, 193)


def expected_counts(positions, absence, cut_points) -> np.ndarray:
    return vote_probabilities(positions, absence, cut_points).sum(axis=-2)  # (4,) Y A N X


def council_votes(**codes: str) -> dict[str, str]:
    """All fifteen Council members voting Yes unless given another code."""
    return {member: codes.get(member, "Y") for member in COUNCIL.members}


# --- probabilities -------------------------------------------------------------------------


def test_probabilities_sum_to_one_for_a_run_and_a_batch(assembly):
    positions, absence = assembly
    cut_points = CutPoints(-0.5, 1.0, discrimination=2.0, absence_shift=0.3)
    batch = np.stack([positions, positions + 1.0, -positions])  # (3, N)
    one_run = vote_probabilities(positions, absence, cut_points)  # (N, 4)
    runs = vote_probabilities(batch, absence, cut_points)  # (3, N, 4)
    assert one_run.shape == (193, 4) and runs.shape == (3, 193, 4)
    for probs in (one_run, runs):
        assert np.all(probs >= 0)
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(runs[0], one_run)


def test_moving_toward_moscow_lowers_yes_and_raises_no_on_a_same_text():
    positions = np.linspace(-5, 5, 101)
    probs = vote_probabilities(positions, np.full(101, 0.1), CutPoints(-1.0, 1.0))
    assert np.all(np.diff(probs[:, YES]) < 0)
    assert np.all(np.diff(probs[:, YES] + probs[:, ABSTAIN]) < 0)
    assert np.all(np.diff(probs[:, NO]) > 0)
    np.testing.assert_allclose(probs[:, NOT_VOTING], 0.1)
    assert probs[50, ABSTAIN] == probs[50].max()  # the centre of the band abstains


def test_reverse_polarity_mirrors_same():
    positions = np.linspace(-4, 4, 33)
    absence = np.full(33, 0.05)
    reverse = CutPoints(-0.5, 1.5, discrimination=1.7, polarity="reverse")
    mirrored_same = CutPoints(-1.5, 0.5, discrimination=1.7, polarity="same")
    np.testing.assert_allclose(
        vote_probabilities(positions, absence, reverse),
        vote_probabilities(-positions, absence, mirrored_same),
        atol=1e-15,
    )
    assert (reverse.yes_abstain, reverse.abstain_no) == (1.5, -0.5)


def test_cut_points_reject_an_inverted_band_and_unknown_polarity():
    with pytest.raises(ValueError, match="lower > upper"):
        CutPoints(1.0, 0.0)
    with pytest.raises(ValueError, match="polarity"):
        CutPoints(0.0, 1.0, polarity="sideways")


# --- fitting to a tally ----------------------------------------------------------------------


@pytest.mark.parametrize("polarity", ["same", "reverse"])
def test_fitted_cut_points_reproduce_es_11_7(assembly, polarity):
    positions, absence = assembly
    cut_points = fit_cut_points(positions, absence, ES_11_7, polarity=polarity)
    np.testing.assert_allclose(
        expected_counts(positions, absence, cut_points), [93, 65, 18, 17], atol=1e-6
    )
    assert cut_points.polarity == polarity


def test_fitted_cut_points_reproduce_a_council_10_0_5(assembly):
    positions, absence = (a[:15] for a in assembly)
    cut_points = fit_cut_points(positions, absence, COUNCIL_10_0_5, discrimination=2.0)
    counts = expected_counts(positions, absence, cut_points)
    np.testing.assert_allclose(counts, [10, 5, 0, 0], atol=1e-6)
    assert all(np.isfinite([cut_points.lower, cut_points.upper, cut_points.absence_shift]))


def test_fit_with_no_abstentions_gives_a_band_of_width_zero(assembly):
    positions, absence = assembly
    cut_points = fit_cut_points(positions, absence, Tally(100, 76, 0, 17))
    assert cut_points.lower == cut_points.upper
    np.testing.assert_allclose(
        expected_counts(positions, absence, cut_points), [100, 0, 76, 17], atol=1e-6
    )


def test_fit_refuses_a_tally_of_another_chamber(assembly):
    positions, absence = assembly
    with pytest.raises(ValueError, match="counts 15 members, but there are 193 positions"):
        fit_cut_points(positions, absence, COUNCIL_10_0_5)


# --- texts on their own direction in K dimensions --------------------------------------------


def test_a_text_without_direction_reads_the_one_axis_itself_and_no_axis_of_several(assembly):
    positions, absence = assembly
    np.testing.assert_array_equal(project(positions[:, None]), positions)  # no arithmetic
    two_axes = np.stack([positions, np.random.default_rng(3).normal(size=193)], axis=-1)
    with pytest.raises(ValueError, match="without a direction needs positions of one dimension"):
        project(two_axes)  # which axis is Ukraine's is the world's to say, never a guess
    np.testing.assert_array_equal(project(two_axes, (0.0, 2.0)), 2.0 * two_axes[:, 1])
    with pytest.raises(ValueError, match="direction has 3 entries, positions 2 dimensions"):
        project(two_axes, (1.0, 0.0, 0.0))


def test_a_fit_on_the_projection_reproduces_the_tally_in_two_dimensions(assembly):
    """A synthetic K = 2 world: cut-points fitted on the members' positions on a text's
    direction give the tally exactly, and members equal on the text vote alike however far
    apart they stand across it."""
    _, absence = assembly
    positions = np.random.default_rng(11).normal(0.0, 1.5, (193, 2))
    direction = (0.6, 0.8)
    cut_points = fit_cut_points(
        project(positions, direction), absence, ES_11_7, discrimination=2.0, direction=direction
    )
    assert cut_points.direction == direction
    on_text = cut_points.on_text(positions)  # (N,)
    np.testing.assert_allclose(on_text, positions @ np.array(direction))
    np.testing.assert_allclose(
        expected_counts(on_text, absence, cut_points), [93, 65, 18, 17], atol=1e-6
    )
    across = positions + np.outer(np.random.default_rng(12).normal(0, 3, 193), [0.8, -0.6])
    np.testing.assert_allclose(cut_points.on_text(across), on_text, atol=1e-12)
    ukraine_only = fit_cut_points(positions[:, 0], absence, ES_11_7, discrimination=2.0)
    assert not np.allclose(  # another direction orders the members otherwise
        vote_probabilities(on_text, absence, cut_points),
        vote_probabilities(positions[:, 0], absence, ukraine_only),
    )


def test_members_vote_on_the_text_s_own_axis():
    """Five members in two dimensions; a text on the second axis splits them by it alone."""
    positions = np.array([[-3.0, 3.0], [-3.0, 2.5], [-3.0, -3.0], [3.0, -3.0], [3.0, 3.0]])
    text = CutPoints(-1.0, 1.0, discrimination=SHARP, direction=(0.0, 1.0))
    draft = Draft("a text on the second axis", text)
    members = ("A", "B", "C", "D", "E")
    record = vote_resolution(
        np.random.default_rng(4),
        draft.cut_points.on_text(positions),
        np.full(5, PRESENT),
        draft,
        Chamber("GA", members),
    )
    assert codes_by_member(record.codes[-1], members) == {
        "A": "N",
        "B": "N",
        "C": "Y",
        "D": "Y",
        "E": "N",
    }


def test_amendments_share_the_direction_and_offset_of_their_text():
    text = CutPoints(-1.0, 1.0, direction=(0.0, 1.0))
    with pytest.raises(ValueError, match="amendment 'elsewhere' has direction None"):
        Draft("text", text, (Amendment("elsewhere", CutPoints(0.0, 1.0)),))
    moved = CutPoints(0.0, 1.0, direction=(0.0, 1.0), offset=(0.5, 0.0))
    with pytest.raises(ValueError, match="amendment 'moved' has another offset than the text"):
        Draft("text", text, (Amendment("moved", moved),))


def test_a_text_s_offset_moves_each_member_on_it_and_nowhere_else():
    positions = np.array([[1.0, 2.0], [3.0, -1.0]])
    text = CutPoints(0.0, 0.0, direction=(0.5, 1.0), offset=(0.25, -1.0))
    np.testing.assert_array_equal(text.on_text(positions), [2.75, -0.5])
    runs = np.stack([positions, positions + 1.0])  # (R, M, K): the offset is per member
    np.testing.assert_array_equal(text.on_text(runs), [[2.75, -0.5], [4.25, 1.0]])


# --- draws, tallies and the most likely votes under a tally --------------------------------


def test_certain_votes_are_drawn_as_they_are():
    probs = np.eye(4)[[YES, NO, ABSTAIN, NOT_VOTING, YES]]  # (5, 4)
    batch = np.broadcast_to(probs, (3, 5, 4))
    codes = draw_votes(np.random.default_rng(0), batch)
    assert codes.dtype == np.int8
    assert codes.shape == (3, 5)
    assert np.all(codes == [YES, NO, ABSTAIN, NOT_VOTING, YES])
    np.testing.assert_array_equal(tally_of(codes), [[2, 1, 1, 1]] * 3)


def test_draw_frequencies_follow_the_probabilities():
    probs = np.broadcast_to([0.5, 0.2, 0.2, 0.1], (200_000, 4))
    counts = tally_of(draw_votes(np.random.default_rng(7), probs))
    np.testing.assert_allclose(counts / 200_000, [0.5, 0.2, 0.2, 0.1], atol=0.005)


def test_tally_of_counts_along_the_member_axis():
    codes = np.array([[YES, YES, NO], [ABSTAIN, NOT_VOTING, NO]], dtype=np.int8)
    np.testing.assert_array_equal(
        tally_of(codes, axis=0), [[1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 2, 0]]
    )
    assert as_tally(tally_of(codes[0])) == Tally(yes=2, no=1, abstain=0, not_voting=0)


def test_assign_to_tally_matches_the_tally_exactly(assembly):
    positions, absence = assembly
    probs = vote_probabilities(positions, absence, CutPoints(0.0, 1.0))  # not fitted
    codes = assign_to_tally(probs, ES_11_7)
    assert as_tally(tally_of(codes)) == ES_11_7


def test_assign_to_tally_picks_the_obvious_votes():
    probs = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],  # leans Yes
            [0.6, 0.3, 0.05, 0.05],  # leans Yes, but the likelier abstainer
            [0.05, 0.05, 0.8, 0.1],  # No
            [0.1, 0.1, 0.1, 0.7],  # absent
        ]
    )
    codes = assign_to_tally(probs, Tally(yes=1, no=1, abstain=1, not_voting=1))
    assert [VOTE_CODES[c] for c in codes] == ["Y", "A", "N", "X"]


# --- chamber rules --------------------------------------------------------------------------


def test_es_11_7_is_adopted_by_simple_majority():
    outcome = ga_outcome(ES_11_7)
    assert outcome.adopted
    assert outcome.rule == "GA simple majority"
    assert outcome.reason == "93 yes > 18 no"


def test_two_thirds_of_present_and_voting_for_important_questions():
    assert not ga_adopted(Tally(93, 50, 33, 17), important=True)
    assert ga_adopted(Tally(100, 50, 26, 17), important=True)  # exactly two thirds
    assert ga_adopted(Tally(93, 50, 33, 17))
    assert not ga_outcome(Tally(93, 50, 33, 17), important=True).adopted


def test_abstentions_and_absences_do_not_count_in_the_assembly():
    assert ga_adopted(Tally(yes=10, no=9, abstain=150, not_voting=24))
    assert ga_adopted(Tally(yes=10, no=5, abstain=150, not_voting=28), important=True)
    assert not ga_adopted(Tally(yes=9, no=9, abstain=150, not_voting=25))


def test_a_text_passes_the_council_with_ten_yes_and_five_abstentions():
    votes = council_votes(**dict.fromkeys(FAR_SIDE, "A"))
    assert sc_adopted(votes, PERMANENT) == (True, [])
    assert sc_outcome(votes, PERMANENT).reason == "10 yes >= 9, no veto"


def test_an_amendment_with_ten_yes_falls_to_one_permanent_members_no():
    votes = council_votes(P2="N", P1="A", P3="A", E04="A", E08="A")
    assert sum(code == "Y" for code in votes.values()) == 10
    assert sc_adopted(votes, PERMANENT) == (False, ["P2"])
    outcome = sc_outcome(votes, PERMANENT)
    assert not outcome.adopted
    assert outcome.reason == "vetoed by P2"


def test_a_text_that_fails_on_votes_is_not_vetoed():
    """7-2-6 with both No votes cast by permanent members: short of nine Yes, the text fails
    on votes, and no veto is named (a No only vetoes a text that had the nine)."""
    votes = council_votes(P1="N", P2="N", **dict.fromkeys(ELECTED[:6], "A"))
    assert sc_adopted(votes, PERMANENT) == (False, [])
    outcome = sc_outcome(votes, PERMANENT)
    assert (outcome.adopted, outcome.reason) == (False, "7 yes < 9 required")
    codes = vote_indices([votes[member] for member in COUNCIL.members])
    assert COUNCIL.outcome(codes) == outcome and not COUNCIL.adopted(codes)


def test_an_abstaining_permanent_member_is_no_veto():
    votes = council_votes(P2="A", P3="A", P1="A", E01="N", E05="N", E10="A")
    assert sc_adopted(votes, PERMANENT) == (True, [])


def test_eight_yes_fail_in_the_council():
    votes = council_votes(**dict.fromkeys(ELECTED[3:], "A"))
    assert sc_adopted(votes, PERMANENT) == (False, [])
    assert sc_outcome(votes, PERMANENT).reason == "8 yes < 9 required"


@pytest.mark.parametrize(
    ("tally", "adopted", "reason"),
    [
        (COUNCIL_10_0_5, True, "10 yes, no vote against"),
        (Tally(8, 0, 7, 0), False, "8 yes < 9 required"),
        (Tally(12, 2, 1, 0), True, "adopted as recorded; who voted no needs per-country votes"),
    ],
)
def test_a_council_tally_alone_decides_only_without_votes_against(tally, adopted, reason):
    outcome = sc_outcome_from_tally(tally)
    assert (outcome.adopted, outcome.reason) == (adopted, reason)
    assert outcome.rule == sc_outcome(council_votes(), PERMANENT).rule


def test_vote_letters_become_vote_code_indices():
    assert vote_indices(["Y", "A", "N", "X"]).tolist() == [YES, ABSTAIN, NO, NOT_VOTING]
    assert [VOTE_CODES[i] for i in vote_indices("XNY")] == ["X", "N", "Y"]
    with pytest.raises(ValueError, match="not Q"):
        vote_indices(["Y", "Q"])


def test_the_vectorised_council_rule_agrees_with_the_mapping_rule():
    rng = np.random.default_rng(3)
    codes = rng.choice([YES, ABSTAIN, NO], p=[0.7, 0.2, 0.1], size=(500, 15)).astype(np.int8)
    by_rule = [sc_adopted(codes_by_member(run, COUNCIL.members), PERMANENT)[0] for run in codes]
    np.testing.assert_array_equal(COUNCIL.adopted(codes), by_rule)


# --- amendments, in a synthetic assembly and council -----------------------------------------

ASSEMBLY_MEMBERS = ("W1", "W2", "W3", "MID", "SPONSOR", "E1", "E2")
# Three members on the low side, one mid-axis, the sponsor just above centre, two far above.
POSITIONS = np.array([-4.0, -3.0, -3.0, -0.5, 0.5, 3.0, 3.0])
SPONSOR_TEXT = CutPoints(-1.0, 0.0, discrimination=SHARP, polarity="reverse")
# An amendment the high side opposes: if adopted, it turns the text around and moves its band
# up to take in the sponsor, which then abstains on its own amended text.
TURNING_AMENDMENT = Amendment(
    "amendment",
    CutPoints(0.0, 2.0, discrimination=SHARP),
    shift=1.0,
    polarity="same",
)


def test_an_adopted_amendment_is_voted_first_and_turns_the_text_around():
    draft = Draft("sponsor's text", SPONSOR_TEXT, (TURNING_AMENDMENT,))
    chamber = Chamber("GA", ASSEMBLY_MEMBERS)
    record = vote_resolution(
        np.random.default_rng(1), POSITIONS, np.full(7, PRESENT), draft, chamber
    )
    assert record.names == ("amendment", "sponsor's text")
    amendment, text = (codes_by_member(c, ASSEMBLY_MEMBERS) for c in record.codes)
    assert amendment == {"W1": "Y", "W2": "Y", "W3": "Y", "MID": "Y"} | {
        "SPONSOR": "A",
        "E1": "N",
        "E2": "N",
    }
    assert text["SPONSOR"] == "A" and text["W1"] == "Y" and text["E1"] == "N"
    np.testing.assert_array_equal(record.counts, [[4, 1, 2, 0], [4, 1, 2, 0]])
    assert [o.reason for o in record.outcomes()] == ["4 yes > 2 no", "4 yes > 2 no"]


def test_the_sponsor_votes_yes_on_its_text_when_the_amendment_fails():
    draft = Draft("sponsor's text", SPONSOR_TEXT, (TURNING_AMENDMENT,))
    chamber = Chamber("GA", ASSEMBLY_MEMBERS)
    # Run 0: MID on the low side, the amendment passes. Run 1: MID on the high side, 3-3.
    batch = np.stack([POSITIONS, np.where(np.array(ASSEMBLY_MEMBERS) == "MID", 3.0, POSITIONS)])
    record = vote_resolution(np.random.default_rng(2), batch, np.full(7, PRESENT), draft, chamber)
    assert record.codes.shape == (2, 2, 7)
    np.testing.assert_array_equal(record.adopted, [[True, True], [False, True]])
    sponsor_on_text = record.codes[:, -1, ASSEMBLY_MEMBERS.index("SPONSOR")]
    assert [VOTE_CODES[c] for c in sponsor_on_text] == ["A", "Y"]
    assert [o.reason for o in record.outcomes(1)] == ["3 yes = 3 no", "4 yes > 3 no"]


def test_a_vetoed_amendment_leaves_a_reverse_text_to_pass_10_0_5_in_a_synthetic_council():
    where = {"P1": 0.5, "P2": 3.0, "P3": 2.0} | dict.fromkeys(FAR_SIDE, -3.0)
    positions = np.array([where.get(member, 0.8) for member in COUNCIL.members])
    reverse_text = CutPoints(-4.0, 0.0, discrimination=SHARP, polarity="reverse")
    amendment = Amendment(
        "amendment", CutPoints(1.0, 2.5, discrimination=SHARP), shift=1.0, polarity="same"
    )
    draft = Draft("a reverse text", reverse_text, (amendment,))
    record = vote_resolution(
        np.random.default_rng(5), positions, np.full(15, PRESENT), draft, COUNCIL
    )
    amendment_outcome, text_outcome = record.outcomes()
    assert as_tally(record.counts[0]) == Tally(yes=13, no=1, abstain=1, not_voting=0)
    assert not amendment_outcome.adopted and amendment_outcome.reason == "vetoed by P2"
    assert as_tally(record.counts[1]) == COUNCIL_10_0_5
    assert text_outcome.adopted
    text = codes_by_member(record.codes[1], COUNCIL.members)
    assert {m for m, code in text.items() if code == "A"} == set(FAR_SIDE)
