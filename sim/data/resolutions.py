"""The official record of the ES-11 series: tallies, dates and subjects the program knows.

These are public facts from United Nations records (the data README's table). They are the one
place blocsim keeps tallies: the loader checks the per-country files against them, the CLI
reports them, and prediction fits cut-points to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Tally:
    """Counts of one roll call: yes, no, abstain, and members on the rolls not voting."""

    yes: int
    no: int
    abstain: int
    not_voting: int = 0

    @property
    def present_and_voting(self) -> int:
        """Members voting yes or no: the base of the GA's majorities (abstentions don't count)."""
        return self.yes + self.no

    @property
    def members(self) -> int:
        return self.yes + self.no + self.abstain + self.not_voting

    def __str__(self) -> str:
        return f"{self.yes}-{self.no}-{self.abstain}"

    @classmethod
    def parse(cls, text: str, members: int) -> Tally:
        """Read 'Y-N-A' (e.g. '93-18-65'); the rest of `members` did not vote. Whole numbers
        only, no spaces or signs, at least one vote cast, no more votes than members.

        >>> Tally.parse("93-18-65", 193)
        Tally(yes=93, no=18, abstain=65, not_voting=17)
        """
        counts = re.fullmatch(r"(\d{1,3})-(\d{1,3})-(\d{1,3})", text, re.ASCII)
        if counts is None:
            raise ValueError(f"tally '{text}' is not of the form Y-N-A, e.g. 93-18-65")
        yes, no, abstain = (int(count) for count in counts.groups())
        if yes + no + abstain == 0:
            raise ValueError(f"tally '{text}' has no votes cast")
        rest = members - yes - no - abstain
        if rest < 0:
            raise ValueError(
                f"tally '{text}' counts {yes + no + abstain} votes for {members} members"
            )
        return cls(yes, no, abstain, rest)


@dataclass(frozen=True)
class Resolution:
    """One recorded vote of the ES-11 series and whether its per-country votes are in the data."""

    symbol: str
    date: date
    body: str  # "GA" or "SC"
    subject: str
    tally: Tally
    in_data: bool


def _r(symbol: str, day: str, body: str, subject: str, tally: tuple, in_data: bool) -> Resolution:
    return Resolution(symbol, date.fromisoformat(day), body, subject, Tally(*tally), in_data)


RESOLUTIONS: dict[str, Resolution] = {
    r.symbol: r
    for r in (
        _r(
            "A/RES/ES-11/1",
            "2022-03-02",
            "GA",
            "aggression against Ukraine",
            (141, 5, 35, 12),
            True,
        ),
        _r(
            "A/RES/ES-11/2", "2022-03-24", "GA", "humanitarian consequences", (140, 5, 38, 10), True
        ),
        _r(
            "A/RES/ES-11/3",
            "2022-04-07",
            "GA",
            "suspension of Russia from the Human Rights Council",
            (93, 24, 58, 18),
            False,
        ),
        _r(
            "A/RES/ES-11/4",
            "2022-10-12",
            "GA",
            "territorial integrity (annexations)",
            (143, 5, 35, 10),
            True,
        ),
        _r("A/RES/ES-11/5", "2022-11-14", "GA", "remedy and reparation", (94, 14, 73, 12), False),
        _r(
            "A/RES/ES-11/6",
            "2023-02-23",
            "GA",
            "principles of the Charter, just peace",
            (141, 7, 32, 13),
            True,
        ),
        _r(
            "A/RES/ES-11/7",
            "2025-02-24",
            "GA",
            "comprehensive, just and lasting peace (Ukraine/EU text)",
            (93, 18, 65, 17),
            True,
        ),
        _r(
            "A/RES/ES-11/8",
            "2025-02-24",
            "GA",
            "path to peace (US text as amended; the US abstained)",
            (93, 8, 73, 19),
            False,
        ),
        _r(
            "A/RES/ES-11/9",
            "2025-12-03",
            "GA",
            "return of Ukrainian children",
            (91, 12, 57, 33),
            False,
        ),
        _r(
            "S/RES/2774",
            "2025-02-24",
            "SC",
            "US text on the path to peace (European amendments vetoed by Russia)",
            (10, 0, 5, 0),
            False,
        ),
    )
}

CALIBRATION_TARGET = "A/RES/ES-11/7"  # the vote `blocsim calibrate` fits (sim.fit.calibrate)


def symbol_forms(text: str) -> list[str]:
    """The symbols a user's text may stand for, upper-case, the literal one first.

    Case and spaces do not matter; a year suffix is dropped ('S/RES/2774 (2025)'); the
    'A/RES/' or 'S/RES/' prefix may be left out ('ES-11/7', '77/272', '2774'); and a General
    Assembly symbol also stands for the Voeten years' form ('A/RES/55/33 A' -> 'R/55/33A').

    >>> symbol_forms("77/272")
    ['77/272', 'A/RES/77/272', 'S/RES/77/272', 'R/77/272']
    """
    key = re.sub(r"\s+", "", re.sub(r"\s*\(\d{4}\)$", "", text.strip())).upper()
    forms = [key]
    if not key.startswith(("A/", "S/", "R/")):
        forms += [f"A/RES/{key}", f"S/RES/{key}"]
    voeten = re.fullmatch(r"(?:A/RES/)?(\d+/\d+[A-Z]*)", key)
    if voeten:
        forms.append(f"R/{voeten.group(1)}")
    return forms


def resolution(symbol: str) -> Resolution:
    """Look a resolution of the official record up by symbol, accepting the short forms of
    `symbol_forms` such as 'ES-11/7' or 'S/RES/2774 (2025)'."""
    for candidate in symbol_forms(symbol):
        if candidate in RESOLUTIONS:
            return RESOLUTIONS[candidate]
    known = ", ".join(RESOLUTIONS)
    raise KeyError(f"unknown resolution '{symbol}' (known: {known})")
