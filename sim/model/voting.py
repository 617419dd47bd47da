"""How members vote on a text: cut-points, ordered-logit draws and the chambers' rules.

Members stand in K dimensions, positions (..., N, K). A text has a `direction` (K,) in that
space; a member's position on the text is the projection positions @ direction, (..., N), plus
the text's fixed per-member `offset` if it has one, and everything else works on that one axis
(`project`; a text without a direction is voted on the one axis of one-dimensional positions,
the Ukraine axis, on which low = pro-Ukraine / Western, high = close to Moscow). A text has an
abstain band [lower, upper] on it; its `polarity` says which side votes Yes ("same": the low side, like A/RES/ES-11/7;
"reverse": the high side, like the unamended US text). Members vote Y/A/N by ordered logit
against the band, or not at all (X) by their absence propensity. Probabilities, draws and
chamber rules take one run (N,) or a batch of runs (R, N) of positions on the text alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.special import expit, logit

from sim.data.resolutions import Tally

VOTE_CODES = ("Y", "A", "N", "X")
YES, ABSTAIN, NO, NOT_VOTING = range(4)
POLARITIES = ("same", "reverse")

SC_REQUIRED_YES = 9
SC_RULE = "SC nine votes and no veto"
# A logit this far out is a probability below 1e-21: "nobody" without infinities or NaN.
_FAR_LOGIT = 50.0


def project(positions: np.ndarray, direction: Sequence[float] | None = None) -> np.ndarray:
    """Members' positions on a text: positions (..., N, K) @ direction (K,) -> (..., N).

    No direction: positions of one dimension (K = 1, the Ukraine axis), read without arithmetic,
    so the one-dimensional numbers are exactly those of the axis; with K > 1 a text must say its
    direction (which axis is which is the world's to say, `World.axis_names`). A direction is
    not normalised: its length scales the text's cut-points as the discrimination does.

    >>> project(np.array([[1.0, 2.0], [3.0, -1.0]]), (0.5, 1.0))
    array([2.5, 0.5])
    """
    positions = np.asarray(positions)
    if direction is None:
        if positions.shape[-1] != 1:
            raise ValueError(
                f"a text without a direction needs positions of one dimension, not "
                f"{positions.shape[-1]}"
            )
        return positions[..., 0]
    if len(direction) != positions.shape[-1]:
        raise ValueError(
            f"direction has {len(direction)} entries, positions {positions.shape[-1]} dimensions"
        )
    return positions @ np.asarray(direction, dtype=positions.dtype)


@dataclass(frozen=True)
class CutPoints:
    """Where a text splits its axis: Yes on one side of the abstain band [lower, upper], No on
    the other; `discrimination` is how sharply; `absence_shift` is a logit offset added to every
    member's absence propensity for this vote (attendance differs from vote to vote);
    `direction` (K,) is the text's axis in position space (None: the one axis of
    one-dimensional positions); `offset` (M,), in the chamber's member order, is added to each
    member's place on the text (its own vote on the text's earlier version as evidence,
    `sim.model.text_axis`), None for none."""

    lower: float
    upper: float
    discrimination: float = 1.0
    polarity: Literal["same", "reverse"] = "same"
    absence_shift: float = 0.0
    direction: tuple[float, ...] | None = None
    offset: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not self.lower <= self.upper:
            raise ValueError(f"abstain band [{self.lower}, {self.upper}] has lower > upper")
        if not self.discrimination > 0:
            raise ValueError(f"discrimination must be positive, not {self.discrimination}")
        if self.polarity not in POLARITIES:
            raise ValueError(f"polarity must be one of {POLARITIES}, not '{self.polarity}'")

    def on_text(self, positions: np.ndarray) -> np.ndarray:
        """The chamber's positions (..., M, K) on the text: projected on its direction, plus
        its offset (..., M)."""
        on_text = project(positions, self.direction)
        if self.offset is None:
            return on_text
        return on_text + np.asarray(self.offset, dtype=on_text.dtype)

    @property
    def yes_abstain(self) -> float:
        """The cut between Yes and Abstain: the band's edge on the Yes side."""
        return self.lower if self.polarity == "same" else self.upper

    @property
    def abstain_no(self) -> float:
        """The cut between Abstain and No: the band's edge on the No side."""
        return self.upper if self.polarity == "same" else self.lower


def vote_probabilities(
    positions: np.ndarray, absence: np.ndarray, cut_points: CutPoints
) -> np.ndarray:
    """Probabilities of Y, A, N, X for each member: positions (..., N), absence (N,) in (0, 1)
    -> (..., N, 4) in VOTE_CODES order, rows summing to 1.

    >>> vote_probabilities(np.array([-3.0, 3.0]), np.array([0.1, 0.1]), CutPoints(0, 0)).round(2) + 0
    array([[0.86, 0.  , 0.04, 0.1 ],
           [0.04, 0.  , 0.86, 0.1 ]])
    """
    cp = cut_points
    sign = 1.0 if cp.polarity == "same" else -1.0
    yes, abstain, no, absent = _ordered_columns(
        positions, absence, cp.lower, cp.upper, sign, cp.discrimination, cp.absence_shift
    )
    return np.stack([yes, abstain, no, np.broadcast_to(absent, yes.shape)], axis=-1)


def absence_probability(absence: np.ndarray, absence_shift: float) -> np.ndarray:
    """(N,) probability of not voting on a text: each member's propensity moved by the text's
    logit `absence_shift` (attendance differs from vote to vote)."""
    return expit(logit(np.asarray(absence, dtype=float)) + absence_shift)


def _ordered_columns(
    positions: np.ndarray,
    absence: np.ndarray,
    lower: np.ndarray | float,
    upper: np.ndarray | float,
    sign: np.ndarray | float,
    discrimination: float,
    absence_shift: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The one ordered-logit kernel, as its columns: Y, A, N (..., N) and X (N,). lower, upper
    and sign (+1 same, -1 reverse) are scalars or one per run (...,), so runs whose amendments
    passed or failed vote on different texts."""
    positions = np.asarray(positions, dtype=float)
    lower, upper, sign = (np.asarray(v, dtype=float)[..., None] for v in (lower, upper, sign))
    yes_edge = np.where(sign > 0, lower, upper)  # (..., 1)
    no_edge = np.where(sign > 0, upper, lower)
    to_yes = sign * discrimination * (yes_edge - positions)  # (..., N) logits among voters
    to_abstain = sign * discrimination * (no_edge - positions)  # >= to_yes
    p_yes = expit(to_yes)
    # L(b) - L(a) = L(b) L(-a) (1 - e^(a - b)): no cancellation where both are near 1, so a
    # member voting far from its place keeps a smooth, nonzero probability
    p_abstain = expit(to_abstain) * expit(-to_yes) * -np.expm1(to_yes - to_abstain)
    p_absent = absence_probability(absence, absence_shift)  # (N,)
    present = 1.0 - p_absent
    p_yes *= present
    p_abstain *= present
    p_no = expit(-to_abstain)
    p_no *= present
    return p_yes, p_abstain, p_no, p_absent


def fit_cut_points(
    positions: np.ndarray,
    absence: np.ndarray,
    tally: Tally,
    polarity: Literal["same", "reverse"] = "same",
    discrimination: float = 1.0,
    direction: tuple[float, ...] | None = None,
) -> CutPoints:
    """Cut-points whose expected Yes, Abstain, No and not-voting counts equal the tally.

    positions (N,): members' positions on the text (`project` on `direction`, which the
    cut-points keep); absence (N,). Each count is monotone in one parameter, so three 1-D roots
    (absence shift, then the two band edges) fit it exactly; a count of 0 or of everyone puts
    that parameter at a far finite limit.
    """
    positions = np.asarray(positions, dtype=float)
    absence = np.asarray(absence, dtype=float)
    _check_fit_inputs(positions, absence, tally)
    absence_shift = _fit_absence_shift(absence, tally.not_voting)
    present = 1.0 - absence_probability(absence, absence_shift)  # (N,)
    sign = 1.0 if polarity == "same" else -1.0

    def expected_on_yes_side(edge: float) -> float:
        return float(np.sum(present * expit(sign * discrimination * (edge - positions))))

    far = _FAR_LOGIT / discrimination
    edges = (positions.min() - far, positions.max() + far)
    yes_edge = _monotone_root(expected_on_yes_side, tally.yes, edges, sign)
    no_edge = _monotone_root(expected_on_yes_side, tally.yes + tally.abstain, edges, sign)
    lower, upper = sorted((yes_edge, no_edge))
    if tally.abstain == 0:  # both roots are the same point up to solver precision
        lower = upper = (lower + upper) / 2
    return CutPoints(lower, upper, discrimination, polarity, absence_shift, direction)


def _check_fit_inputs(positions: np.ndarray, absence: np.ndarray, tally: Tally) -> None:
    if positions.ndim != 1 or absence.shape != positions.shape:
        raise ValueError(
            f"fit needs one run: positions {positions.shape} and absence {absence.shape} "
            "must both be (N,)"
        )
    if tally.members != positions.size:
        raise ValueError(
            f"tally {tally} with {tally.not_voting} not voting counts {tally.members} members, "
            f"but there are {positions.size} positions"
        )
    if min(tally.yes, tally.no, tally.abstain, tally.not_voting) < 0:
        raise ValueError(f"tally {tally} has a negative count")
    if not np.all((absence > 0) & (absence < 1)):
        raise ValueError("absence propensities must lie strictly between 0 and 1")


def _fit_absence_shift(absence: np.ndarray, not_voting: int) -> float:
    """The logit offset that makes the expected number of members not voting `not_voting`."""
    base = logit(absence)  # (N,)

    def expected_absent(shift: float) -> float:
        return float(np.sum(expit(base + shift)))

    far = _FAR_LOGIT + float(np.abs(base).max())
    return _monotone_root(expected_absent, not_voting, (-far, far), 1.0)


def _monotone_root(
    count: Callable[[float], float], target: float, bounds: tuple[float, float], direction: float
) -> float:
    """Where an increasing (direction +1) or decreasing (-1) expected count meets `target`;
    the bound itself when the target is 0 or everyone, which no finite point reaches."""
    low_end, high_end = (float(b) for b in (bounds if direction > 0 else bounds[::-1]))
    if target <= count(low_end):
        return low_end
    if target >= count(high_end):
        return high_end
    from scipy.optimize import brentq  # imported where fitted: a sweep worker never fits

    return brentq(lambda x: count(x) - target, *sorted(bounds), xtol=1e-12, rtol=1e-14)


def draw_votes(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One vote per member: probs (..., N, 4) -> codes (..., N) int8, indices into VOTE_CODES.

    One uniform per member against the cumulative probabilities, so a batch costs one draw.
    """
    return _draw(rng, [probs[..., code] for code in range(NOT_VOTING)])


def _draw(rng: np.random.Generator, columns: Sequence[np.ndarray]) -> np.ndarray:
    """`draw_votes` from the probabilities of Y, A, N (..., N) each (X is what is left): the
    uniform counts the cumulative sums it reaches, added in code order as `np.cumsum` adds."""
    uniform = rng.random(columns[0].shape)
    cumulative = np.array(columns[0])
    codes = (uniform >= cumulative).view(np.int8)
    for column in columns[1:]:
        cumulative += column
        codes += uniform >= cumulative
    return codes


def tally_of(codes: np.ndarray, axis: int = -1) -> np.ndarray:
    """Counts of Y, A, N, X along `axis`: codes (..., N) -> counts (..., 4)."""
    codes = np.moveaxis(np.asarray(codes), axis, -1)
    return np.stack([(codes == code).sum(axis=-1) for code in range(len(VOTE_CODES))], axis=-1)


def vote_indices(votes: Iterable[str]) -> np.ndarray:
    """Vote letters as indices into VOTE_CODES: votes (N,) of Y/A/N/X -> codes (N,) intp.

    >>> vote_indices(["Y", "N", "X"])
    array([0, 2, 3])
    """
    index = {code: i for i, code in enumerate(VOTE_CODES)}
    letters = list(votes)
    unknown = sorted({str(v) for v in letters if v not in index})
    if unknown:
        raise ValueError(f"votes must be one of {', '.join(VOTE_CODES)}, not {', '.join(unknown)}")
    return np.array([index[v] for v in letters], dtype=np.intp)


def codes_by_member(codes: np.ndarray, members: Sequence[str]) -> dict[str, str]:
    """One run's votes as ISO3 -> vote code: codes (N,)."""
    return {member: VOTE_CODES[code] for member, code in zip(members, codes, strict=True)}


def tally_counts(tally: Tally) -> np.ndarray:
    """A Tally as counts (4,) in VOTE_CODES order: the inverse of `as_tally`."""
    return np.array([tally.yes, tally.abstain, tally.no, tally.not_voting])


def as_tally(counts: np.ndarray) -> Tally:
    """A Tally from one run's counts (4,) in VOTE_CODES order."""
    return Tally(
        yes=int(counts[YES]),
        no=int(counts[NO]),
        abstain=int(counts[ABSTAIN]),
        not_voting=int(counts[NOT_VOTING]),
    )


def assign_to_tally(probs: np.ndarray, tally: Tally) -> np.ndarray:
    """The most likely votes whose counts are exactly the tally: probs (N, 4) -> codes (N,).

    Maximises the summed log-probability over members x vote slots (each code repeated by its
    count), so predicted votes add up to the official record.
    """
    counts = tally_counts(tally)
    if tally.members != probs.shape[0]:
        raise ValueError(f"tally counts {tally.members} members, probabilities {probs.shape[0]}")
    slot_codes = np.repeat(np.arange(len(VOTE_CODES)), counts)  # (N,)
    log_probs = np.log(np.clip(probs, 1e-300, None))  # (N, 4); impossible votes cost ~690
    from scipy.optimize import linear_sum_assignment  # as brentq above

    members, slots = linear_sum_assignment(-log_probs[:, slot_codes])
    codes = np.empty(probs.shape[0], dtype=np.int8)
    codes[members] = slot_codes[slots]
    return codes


def most_likely(probs: np.ndarray, absence: bool = True) -> np.ndarray:
    """Each member's single most probable vote: probs (N, 4) -> codes (N,) intp.

    With `absence`, the argmax over Y, A, N, X: X only where not voting is more probable than
    each vote (p_X = the member's absence propensity moved by the text's attendance shift;
    p_Y + p_A + p_N = 1 - p_X). Without, the argmax over Y, A, N alone: how the member votes if
    it votes. Ties go to the earlier code (Y before A before N before X).

    >>> most_likely(np.array([[0.3, 0.1, 0.2, 0.4], [0.5, 0.1, 0.0, 0.4]])).tolist()
    [3, 0]
    >>> most_likely(np.array([[0.3, 0.1, 0.2, 0.4]]), absence=False).tolist()
    [0]
    """
    probs = np.asarray(probs)
    return np.argmax(probs if absence else probs[..., :NOT_VOTING], axis=-1).astype(np.intp)


@dataclass(frozen=True)
class Outcome:
    """Whether a vote carried, under which rule, and why, in words a reader can quote."""

    adopted: bool
    rule: str
    reason: str


def ga_adopted(tally: Tally, important: bool = False) -> bool:
    """General Assembly: a majority of members present and voting (abstentions and absences do
    not count); two thirds of them on important questions."""
    return bool(_ga_passes(tally.yes, tally.no, important))


def _ga_passes(yes, no, important: bool):
    """The GA rule on counts, scalars or arrays alike (integers: no rounding of 2/3)."""
    if important:
        return (3 * yes >= 2 * (yes + no)) & (yes > 0)
    return yes > no


def ga_outcome(tally: Tally, important: bool = False) -> Outcome:
    """The GA rule applied to one tally, with its reason."""
    adopted = ga_adopted(tally, important)
    if important:
        relation = ">=" if adopted else "<"
        return Outcome(
            adopted,
            "GA two-thirds majority",
            f"{tally.yes} yes {relation} 2/3 of {tally.present_and_voting} present and voting",
        )
    relation = ">" if adopted else "=" if tally.yes == tally.no else "<"
    return Outcome(adopted, "GA simple majority", f"{tally.yes} yes {relation} {tally.no} no")


def sc_adopted(votes: Mapping[str, str], permanent: Collection[str]) -> tuple[bool, list[str]]:
    """Security Council: at least nine yes and no permanent member voting No (an abstaining
    permanent member is no veto). A permanent member's No is a veto only on a text that had
    the nine votes: one that fails on votes fails without it. votes maps ISO3 -> code;
    returns (adopted, vetoing members)."""
    yes = sum(code == "Y" for code in votes.values())
    if yes < SC_REQUIRED_YES:
        return False, []
    vetoes = sorted(member for member in permanent if votes.get(member) == "N")
    return not vetoes, vetoes


def sc_outcome(votes: Mapping[str, str], permanent: Collection[str]) -> Outcome:
    """The SC rule applied to one vote, naming the vetoing members."""
    adopted, vetoes = sc_adopted(votes, permanent)
    yes = sum(code == "Y" for code in votes.values())
    if vetoes:
        reason = f"vetoed by {', '.join(vetoes)}"
    elif adopted:
        reason = f"{yes} yes >= {SC_REQUIRED_YES}, no veto"
    else:
        reason = f"{yes} yes < {SC_REQUIRED_YES} required"
    return Outcome(adopted, SC_RULE, reason)


def sc_outcome_from_tally(tally: Tally) -> Outcome:
    """The SC rule on a tally alone (no per-country votes): with no vote against it decides;
    with some, a veto may hide among them, so the recorded result is taken as it was.

    >>> sc_outcome_from_tally(Tally(10, 0, 5)).reason
    '10 yes, no vote against'
    """
    if tally.yes < SC_REQUIRED_YES:
        return Outcome(False, SC_RULE, f"{tally.yes} yes < {SC_REQUIRED_YES} required")
    if tally.no:
        return Outcome(True, SC_RULE, "adopted as recorded; who voted no needs per-country votes")
    return Outcome(True, SC_RULE, f"{tally.yes} yes, no vote against")


@dataclass(frozen=True)
class Chamber:
    """Who votes (ISO3 codes in the order of the position arrays) and under which rule."""

    body: Literal["GA", "SC"]
    members: tuple[str, ...]
    permanent: tuple[str, ...] = ()  # veto holders, Security Council only

    def __post_init__(self) -> None:
        if self.body not in ("GA", "SC"):
            raise ValueError(f"body must be 'GA' or 'SC', not '{self.body}'")
        missing = set(self.permanent) - set(self.members)
        if missing:
            raise ValueError(f"permanent members {sorted(missing)} are not in the chamber")

    def adopted(self, codes: np.ndarray, important: bool = False) -> np.ndarray:
        """Whether each vote carried: codes (..., N) -> (...) bool, for batches of runs."""
        counts = tally_of(codes)  # (..., 4)
        if self.body == "GA":
            return np.asarray(_ga_passes(counts[..., YES], counts[..., NO], important))
        veto_columns = [self.members.index(member) for member in self.permanent]
        vetoed = (codes[..., veto_columns] == NO).any(axis=-1)
        return (counts[..., YES] >= SC_REQUIRED_YES) & ~vetoed

    def outcome(self, codes: np.ndarray, important: bool = False) -> Outcome:
        """One vote's outcome with its reason: codes (N,)."""
        if self.body == "GA":
            return ga_outcome(as_tally(tally_of(codes)), important)
        return sc_outcome(codes_by_member(codes, self.members), self.permanent)


@dataclass(frozen=True)
class Amendment:
    """An amendment: how members vote on it, and where it moves the text if adopted.

    `shift` moves the text's band along the text's direction (negative = toward the pro-Ukraine side);
    `polarity`, when given, is the amended text's
    (amendments can turn who supports a text around, as the European amendments to the US
    text did in the General Assembly on 24 Feb 2025: Russia then voted No on it)."""

    name: str
    cut_points: CutPoints
    shift: float = 0.0
    polarity: Literal["same", "reverse"] | None = None


@dataclass(frozen=True)
class Draft:
    """A draft resolution: its text's cut-points and the amendments voted before it, in order.

    The amendments are on the text's own subject: they share its direction and offset, so one
    projection of the members' positions (`cut_points.on_text`) serves every vote on the draft."""

    name: str
    cut_points: CutPoints
    amendments: tuple[Amendment, ...] = ()
    important: bool = False  # GA: two thirds, for amendments and text alike

    def __post_init__(self) -> None:
        text = self.cut_points
        for amendment in self.amendments:
            if amendment.cut_points.direction != text.direction:
                raise ValueError(
                    f"amendment '{amendment.name}' has direction "
                    f"{amendment.cut_points.direction}, the text {text.direction}"
                )
            if amendment.cut_points.offset != text.offset:
                raise ValueError(f"amendment '{amendment.name}' has another offset than the text")


@dataclass(frozen=True)
class VoteRecord:
    """Every vote on a draft: the amendments in order, then the text (last)."""

    names: tuple[str, ...]  # (V,)
    codes: np.ndarray  # (..., V, N) int8, indices into VOTE_CODES
    counts: np.ndarray  # (..., V, 4) Y A N X
    adopted: np.ndarray  # (..., V) bool
    chamber: Chamber = field(repr=False)
    important: bool = False

    def outcomes(self, run: int | tuple[int, ...] = ()) -> list[Outcome]:
        """The outcome of each vote of one run (no index for a single run)."""
        return [self.chamber.outcome(codes, self.important) for codes in self.codes[run]]


def vote_resolution(
    rng: np.random.Generator,
    positions: np.ndarray,
    absence: np.ndarray,
    draft: Draft,
    chamber: Chamber,
) -> VoteRecord:
    """Vote the amendments in order, move the text by those adopted, then vote the text.

    positions (..., N) on the draft's direction (`draft.cut_points.on_text`), in the chamber's
    member order; absence (N,). In a batch each run has its own amendment outcomes, hence its
    own version of the text.
    """
    text = draft.cut_points
    batch_shape = np.shape(positions)[:-1]
    shift = np.zeros(batch_shape)  # (...,) how far adopted amendments moved the text
    sign = np.full(batch_shape, 1.0 if text.polarity == "same" else -1.0)
    votes = []  # each (..., N)
    for amendment in draft.amendments:
        codes = draw_votes(rng, vote_probabilities(positions, absence, amendment.cut_points))
        passed = chamber.adopted(codes, draft.important)  # (...,)
        shift = shift + np.where(passed, amendment.shift, 0.0)
        if amendment.polarity is not None:
            sign = np.where(passed, 1.0 if amendment.polarity == "same" else -1.0, sign)
        votes.append(codes)
    *columns, _ = _ordered_columns(
        positions,
        absence,
        text.lower + shift,
        text.upper + shift,
        sign,
        text.discrimination,
        text.absence_shift,
    )
    votes.append(_draw(rng, columns))
    codes = np.stack(votes, axis=-2)  # (..., V, N)
    return VoteRecord(
        names=(*(a.name for a in draft.amendments), draft.name),
        codes=codes,
        counts=tally_of(codes),
        adopted=chamber.adopted(codes, draft.important),
        chamber=chamber,
        important=draft.important,
    )
