"""Load and validate the real UN data: the 193 members, the ES-11 votes, the 2000-2025 history and
the titles of the roll calls.

Everything is checked on load: 193 unique ISO3 codes, vote codes only Y/N/A/X, one vote per
member per roll call, readable dates, and every ES-11 roll call's counts equal to its official
tally (`sim.data.resolutions`). A bad file is reported as one `BlocsimError` naming the file, the line
and the field. The long history file is cached in columnar form outside the repository, keyed
by its checksum, so loading everything again takes a fraction of a second.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from sim.config import HOW_TO_POINT, cache_dir
from sim.config import data_dir as resolve_data_dir
from sim.data.resolutions import RESOLUTIONS, Resolution, Tally, resolution, symbol_forms
from sim.errors import BlocsimError

MEMBERS_FILE = "members.csv"
UKRAINE_FILE = "votes_ukraine.csv"
HISTORY_FILE = "unga_votes_history.csv.gz"
ROLL_CALLS_FILE = "roll_calls.csv"
DATA_FILES = (MEMBERS_FILE, UKRAINE_FILE, HISTORY_FILE, ROLL_CALLS_FILE)

BLOCS = (
    "eu",
    "nato",
    "au",
    "asean",
    "brics",
    "sco",
    "csto",
    "oic",
    "arab_league",
    "nam",
    "g77",
    "oecd",
    "g7",
    "g20",
)
UN_GROUPS = ("African", "Asia-Pacific", "Eastern European", "GRULAC", "WEOG")
VOTE_VALUES = ("Y", "N", "A", "X")
BODIES = ("GA", "SC")
MEMBER_COUNT = 193
MAX_LINE = 10_000  # characters; the longest line of the shipped files is under 1,000

VOTES_COLUMNS = ("resolution", "date", "iso3", "vote")
HISTORY_COLUMNS = ("vote_id", "resolution", "date", "session", "kind", "iso3", "vote")
MEMBERS_COLUMNS = ("iso3", "iso2", "name", "un_group", *BLOCS, "unsc_2025", "unsc_p5")
ROLL_CALLS_COLUMNS = (
    "vote_id",
    "resolution",
    "date",
    "session",
    "title",
    "agenda_item",
    "committee",
    "originating_document",
)


@dataclass(frozen=True)
class UNData:
    """The validated tables every model is built from.

    members: 193 rows sorted by ISO3 (the agents' order); ukraine: ES-11 roll calls, long
    (resolution, date, body, iso3, vote); history: UNGA roll calls 2000-2025, long
    (vote_id, resolution, date, session, kind, iso3, vote); titles: one row per roll call of the
    UN extract years (Nov 2019 on) and the ES-11 votes (vote_id, resolution, date, session,
    title, agenda_item, committee, originating_document): the way to a text's earlier versions.
    """

    data_dir: Path
    members: pd.DataFrame
    ukraine: pd.DataFrame
    history: pd.DataFrame
    titles: pd.DataFrame
    fingerprint: str  # checksum of the input files: the key of every derived cache

    @property
    def iso3(self) -> tuple[str, ...]:
        return tuple(self.members["iso3"])

    def votes_on(self, symbol: str) -> pd.Series:
        """One roll call's votes (an ES-11 symbol or a history `vote_id`) indexed by ISO3,
        every member present (X where unrecorded)."""
        rows = self.ukraine[self.ukraine["resolution"] == symbol]
        if rows.empty:
            rows = self.history[self.history["vote_id"] == symbol]
        if rows.empty:
            raise KeyError(f"no per-country votes for {symbol} in the data")
        return rows.set_index("iso3")["vote"].reindex(self.iso3, fill_value="X")

    def resolution(self, symbol: str) -> Resolution:
        """A roll call by symbol ('ES-11/7' works): counted from the data where its per-country
        votes are there (the shipped file or the user's), else the official record."""
        held = set(self.ukraine["resolution"])
        try:
            official = resolution(symbol)
        except KeyError:
            if symbol not in held:
                return self._history_roll_call(symbol)
            rows = self.ukraine[self.ukraine["resolution"] == symbol]
            day = rows["date"].iloc[0].date()
            return Resolution(
                symbol, day, rows["body"].iloc[0], "", count_votes(rows["vote"]), True
            )
        if official.symbol not in held:
            return official
        return replace(official, tally=count_votes(self.votes_on(official.symbol)), in_data=True)

    def _history_roll_call(self, symbol: str) -> Resolution:
        """A roll call of the history by `vote_id` or resolution symbol (short forms as in
        `symbol_forms`), titled from `roll_calls.csv`; a symbol voted on in parts means the
        vote on the whole text."""
        forms = symbol_forms(symbol)
        calls = self.history.drop_duplicates("vote_id")
        found = calls[calls["vote_id"].str.upper().isin(forms)]
        if found.empty:
            found = calls[calls["resolution"].str.upper().isin(forms)]
            if len(found) > 1:
                found = found[found["kind"] == "resolution"]
        if len(found) != 1:
            if found.empty:
                raise KeyError(
                    f"unknown resolution '{symbol}': not an ES-11 text, nor a vote_id or "
                    "resolution of the history (find one with `blocsim data search`)"
                )
            raise KeyError(
                f"'{symbol}' names {len(found)} roll calls; give one vote_id: "
                + ", ".join(found["vote_id"])
            )
        call = found.iloc[0]
        titled = self.titles.loc[self.titles["vote_id"] == call["vote_id"], "title"]
        subject = (
            titled.iloc[0]
            if len(titled)
            else f"{call['kind']} vote on {call['resolution'] or 'a text'} (no title: Voeten years)"
        )
        votes = self.history.loc[self.history["vote_id"] == call["vote_id"], "vote"]
        return Resolution(
            call["vote_id"], call["date"].date(), "GA", subject, count_votes(votes), True
        )

    def roll_calls(self) -> pd.DataFrame:
        """History and ES-11 votes as one long table: vote_id, date, iso3, vote.

        The history repeats ES-11/1, /2, /4 and /6; the ES-11 file (or the user's) wins.
        """
        ukraine = self.ukraine.assign(vote_id=self.ukraine["resolution"])
        history = self.history[~self.history["vote_id"].isin(set(ukraine["vote_id"]))]
        columns = ["vote_id", "date", "iso3", "vote"]
        return pd.concat([history[columns], ukraine[columns]], ignore_index=True)


def load_data(
    data_dir: str | os.PathLike | None = None, votes: str | os.PathLike | None = None
) -> UNData:
    """Load the data directory (resolved by `sim.config.data_dir`), plus the user's own votes.

    A `votes` file in the long format of `votes_ukraine.csv` adds roll calls; a resolution it
    shares with the shipped file replaces the shipped rows.
    """
    folder = check_data_dir(resolve_data_dir(data_dir))
    checksums = {name: _checksum(folder / name) for name in DATA_FILES}
    if votes is not None and Path(votes).is_file():
        checksums["votes"] = _checksum(Path(votes))
    fingerprint = hashlib.sha256("".join(checksums.values()).encode()).hexdigest()[:16]
    members = read_members(folder / MEMBERS_FILE)
    known = frozenset(members["iso3"])
    ukraine = read_votes(folder / UKRAINE_FILE, known)
    if votes is not None:
        extra = read_votes(Path(votes), known)
        kept = ukraine[~ukraine["resolution"].isin(set(extra["resolution"]))]
        ukraine = pd.concat([kept, extra], ignore_index=True)
    ukraine = ukraine.sort_values(["date", "resolution", "iso3"], ignore_index=True)
    history = read_history(folder / HISTORY_FILE, known, checksums[HISTORY_FILE])
    titles = read_titles(folder / ROLL_CALLS_FILE)
    return UNData(folder, members, ukraine, history, titles, fingerprint)


def check_data_dir(folder: Path) -> Path:
    """Fail early, saying how to fix it, when the directory or one of its files is missing."""
    if not folder.is_dir():
        raise BlocsimError(f"data directory not found; {HOW_TO_POINT}", file=folder)
    missing = [name for name in DATA_FILES if not (folder / name).is_file()]
    if missing:
        raise BlocsimError(
            f"data directory lacks {', '.join(missing)}; {HOW_TO_POINT}", file=folder
        )
    return folder


def read_members(path: Path) -> pd.DataFrame:
    """The 193 member states with UN regional group and 0/1 bloc flags, sorted by ISO3."""
    table = read_csv_table(path, MEMBERS_COLUMNS)
    _check_codes(table, path, "iso3", lambda s: s.str.fullmatch(r"[A-Z]{3}"), "not an ISO3 code")
    _check_unique(table, path, ["iso3"], "member listed twice")
    _check_codes(table, path, "un_group", lambda s: s.isin(UN_GROUPS), "not a UN regional group")
    for flag in (*BLOCS, "unsc_2025", "unsc_p5"):
        _check_codes(table, path, flag, lambda s: s.isin(("0", "1")), "flag must be 0 or 1")
        table[flag] = table[flag].astype(int)
    if len(table) != MEMBER_COUNT:
        raise BlocsimError(f"{len(table)} members, expected {MEMBER_COUNT}", file=path)
    return table.sort_values("iso3", ignore_index=True)


def read_votes(path: Path, known_iso3: frozenset[str]) -> pd.DataFrame:
    """Roll calls in the long format of `votes_ukraine.csv`, checked against official tallies."""
    table = read_csv_table(path, VOTES_COLUMNS)
    if table.empty:
        raise BlocsimError("no roll calls in this file: a header and no rows", file=path)
    if "body" not in table:
        table["body"] = "GA"
    table = _check_roll_calls(table, path, known_iso3, key="resolution")
    _check_codes(table, path, "body", lambda s: s.isin(BODIES), "body must be GA or SC")
    _check_official_tallies(table, path)
    return table[["resolution", "date", "body", "iso3", "vote"]]


def read_history(path: Path, known_iso3: frozenset[str], checksum: str) -> pd.DataFrame:
    """The 2000-2024 history, validated once and then read from a checksum-keyed Parquet cache."""
    cached = cache_dir() / f"history-{checksum}.parquet"
    if cached.is_file():
        return pd.read_parquet(cached)
    table = read_csv_table(path, HISTORY_COLUMNS)
    table = _check_roll_calls(table, path, known_iso3, key="vote_id")
    table = table[list(HISTORY_COLUMNS)]
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    table.to_parquet(partial, index=False)
    partial.replace(cached)
    return table


def read_titles(path: Path) -> pd.DataFrame:
    """One row per roll call with its title, agenda item and committee, dates parsed."""
    table = read_csv_table(path, ROLL_CALLS_COLUMNS)
    _check_unique(table, path, ["vote_id"], "roll call listed twice")
    dates = pd.to_datetime(table["date"], format="%Y-%m-%d", errors="coerce")
    _check_codes(table, path, "date", lambda _: dates.notna(), "unreadable date (want YYYY-MM-DD)")
    return table[list(ROLL_CALLS_COLUMNS)].assign(date=dates)


def count_votes(votes: pd.Series) -> Tally:
    """The tally of one roll call's vote codes."""
    counts = votes.value_counts()
    return Tally(*(int(counts.get(code, 0)) for code in VOTE_VALUES))


def read_csv_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV file read as checked text (`_read_text`), every cell a string, with `required`
    columns; anything else is a one-line error naming the file."""
    try:
        table = pd.read_csv(io.StringIO(_read_text(path)), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BlocsimError(f"not a readable CSV file ({reason})", file=path) from None
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise BlocsimError("missing column", file=path, field=missing[0])
    return table


def _read_text(path: Path) -> str:
    """The file as text (gunzipped if it ends in .gz), refused in one line if it is not a text
    file: unreadable, a broken gzip stream, bytes that are not UTF-8, NULs, overlong lines."""
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise BlocsimError("file not found", file=path) from None
    except IsADirectoryError:
        raise BlocsimError("is a directory, not a CSV file", file=path) from None
    except (OSError, EOFError, zlib.error) as error:
        kind = "gzip-compressed CSV" if compressed else "CSV"
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise BlocsimError(f"not a readable {kind} file ({reason})", file=path) from None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        reason = f"not UTF-8 text (byte 0x{content[error.start]:02x}): not a CSV file?"
        raise BlocsimError(reason, file=path, line=line) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise BlocsimError("holds a NUL character: not a CSV file?", file=path, line=line)
    lines = text.split("\n")
    longest = max(range(len(lines)), key=lambda i: len(lines[i]))
    if len(lines[longest]) > MAX_LINE:
        raise BlocsimError(
            f"line longer than {MAX_LINE:,} characters: not a CSV file?",
            file=path,
            line=longest + 1,
        )
    return text


def _check_roll_calls(
    table: pd.DataFrame, path: Path, known_iso3: frozenset[str], key: str
) -> pd.DataFrame:
    _check_codes(table, path, "iso3", lambda s: s.isin(known_iso3), "unknown ISO3 code")
    _check_codes(table, path, "vote", lambda s: s.isin(VOTE_VALUES), "vote must be Y, N, A or X")
    _check_unique(table, path, [key, "iso3"], "member voted twice on one roll call")
    dates = pd.to_datetime(table["date"], format="%Y-%m-%d", errors="coerce")
    _check_codes(table, path, "date", lambda _: dates.notna(), "unreadable date (want YYYY-MM-DD)")
    first_date = table.groupby(key, sort=False)["date"].transform("first")
    _check_codes(
        table, path, "date", lambda s: s == first_date, f"another date than this {key}'s first row"
    )
    return table.assign(date=dates)


def _check_codes(table: pd.DataFrame, path: Path, field: str, valid, reason: str) -> None:
    """Raise for the first row whose `field` fails the vectorised test `valid`."""
    ok = valid(table[field]).to_numpy(dtype=bool)
    if not ok.all():
        row = int(ok.argmin())
        value = table[field].iloc[row]
        raise BlocsimError(f"'{value}': {reason}", file=path, line=row + 2, field=field)


def _check_unique(table: pd.DataFrame, path: Path, columns: list[str], reason: str) -> None:
    repeated = table.duplicated(columns).to_numpy()
    if repeated.any():
        row = int(repeated.argmax())
        value = "/".join(table[c].iloc[row] for c in columns)
        raise BlocsimError(f"'{value}': {reason}", file=path, line=row + 2, field=columns[-1])


def _check_official_tallies(table: pd.DataFrame, path: Path) -> None:
    """A roll call of the ES-11 series must add up to the United Nations' own tally."""
    for symbol, rows in table.groupby("resolution", sort=False):
        official = RESOLUTIONS.get(str(symbol))
        if official is None:
            continue
        counted = count_votes(rows["vote"])
        if str(counted) != str(official.tally):
            raise BlocsimError(
                f"{symbol} counts {counted} (yes-no-abstain) but the official tally is "
                f"{official.tally}",
                file=path,
                field="vote",
            )


def _checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]
