"""Reading the TOML files people write (scenarios, calibrations) so that any bad one is one line.

`tomllib` alone lets a broken file end in a traceback: nesting thousands deep overflows its
recursion, bytes that are not UTF-8 fail to decode, a directory cannot be opened, and a file of
gigabytes is read whole. `read_toml` refuses each as a `BlocsimError` naming the file (and the
line where there is one), and indexes the line of every key so that later checks name the line
of the field they refuse (`line_of`). A file is parsed once per content per process: loading one
scenario reads its calibration for the parameters, the shocks, the weights and whom they follow.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sim.errors import BlocsimError

MAX_BYTES = 1 << 20  # 1 MiB: a scenario is a page of text, never this
MAX_DEPTH = 32  # nesting of tables and arrays; a scenario needs 4

# Strings and comments, whose brackets, quotes and '=' are not TOML structure.
_STRINGS_AND_COMMENTS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"{3,5}'  # multi-line basic string
    r"|'''(?:[^']|'(?!''))*'{3,5}"  # multi-line literal string
    r'|"(?:[^"\\\n]|\\.)*"'  # basic string
    r"|'[^'\n]*'"  # literal string
    r"|#[^\n]*",  # comment
    re.DOTALL,
)
_ARRAY_HEADER = re.compile(r"\s*\[\[([^\[\]]*)\]\]")
_TABLE_HEADER = re.compile(r"\s*\[([^\[\]]*)\]")
_BARE_KEY = r"[A-Za-z0-9_-]+"
_KEY = re.compile(rf"\s*({_BARE_KEY}(?:\s*\.\s*{_BARE_KEY})*)\s*=")  # linear on any line
# A key of more than MAX_DEPTH dotted parts ('a.a.a...'): tomllib takes quadratic time on them.
_DOTTED_RUN = re.compile(rf"(?<![\w-])(?:[\w-]++\s*+\.\s*+){{{MAX_DEPTH}}}")
_LAST_PART = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")  # ".tally" or "[1]"
_DECODE_ERROR = re.compile(r"(.*) \((?:at line (\d+), column (\d+)|at end of document)\)")


@dataclass(frozen=True)
class TomlDocument:
    """A parsed TOML file: its bytes, its table, and the line of each dotted key."""

    path: Path
    content: bytes
    table: dict
    key_lines: Mapping[str, int]


def line_of(key_lines: Mapping[str, int], field: str) -> int | None:
    """The line of a dotted field ('votes[1].tally'), else of its nearest enclosing key."""
    while field not in key_lines:
        parent = _LAST_PART.sub("", field)
        if parent == field:
            return None
        field = parent
    return key_lines[field]


def read_toml(path: str | Path, what: str) -> TomlDocument:
    """Read and parse a TOML file (`what` names it in errors: 'scenario file', ...)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise BlocsimError(f"{what} not found", file=path) from None
    except IsADirectoryError:
        raise BlocsimError(f"is a directory, not a {what}", file=path) from None
    except OSError as error:
        raise BlocsimError(f"cannot read the {what} ({error.strerror})", file=path) from None
    if len(content) > MAX_BYTES:
        raise BlocsimError(f"larger than 1 MiB, the most a {what} may be", file=path)
    return _parsed(path, what, content)


@lru_cache(maxsize=16)
def _parsed(path: Path, what: str, content: bytes) -> TomlDocument:
    """The document of `content`, parsed once per path and content (the bytes are read every
    time, so an edited file is parsed again). Shared: its table must not be changed."""
    try:
        text = content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise BlocsimError(
            f"not UTF-8 text (byte 0x{content[error.start]:02x}); is this a {what}?",
            file=path,
            line=line,
        ) from None
    key_lines = _index_keys(text, path)
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = _DECODE_ERROR.fullmatch(str(error))
        if where is None:
            raise BlocsimError(f"not valid TOML ({error})", file=path) from None
        reason, line, column = where.groups()
        place = f"column {column}" if line else "at the end of the file"
        line = line or text.count("\n") + 1
        raise BlocsimError(
            f"not valid TOML ({reason[:1].lower()}{reason[1:]}, {place})",
            file=path,
            line=int(line),
        ) from None
    return TomlDocument(path, content, table, key_lines)


def _index_keys(text: str, path: Path) -> dict[str, int]:
    """The line of each table header and key ('votes[0].amendments[1].shift'), checking on the
    way that keys and brackets nest at most `MAX_DEPTH` deep, before `tomllib` meets them."""
    blank = _STRINGS_AND_COMMENTS.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    if dotted := _DOTTED_RUN.search(blank):
        line = blank.count("\n", 0, dotted.start()) + 1
        raise BlocsimError(f"a key of more than {MAX_DEPTH} dotted parts", file=path, line=line)
    key_lines: dict[str, int] = {}
    counts: dict[str, int] = {}  # array-of-tables path -> index of its latest table
    table = ""
    depth = 0
    for number, line in enumerate(blank.split("\n"), start=1):
        if depth == 0:
            if header := _ARRAY_HEADER.match(line):
                *parents, last = _dotted(header.group(1))
                parent = _resolve(parents, counts)
                array = f"{parent}.{last}" if parent else last
                counts[array] = counts.get(array, -1) + 1
                table = f"{array}[{counts[array]}]"
                key_lines.setdefault(table, number)
                key_lines.setdefault(array, number)
            elif header := _TABLE_HEADER.match(line):
                table = _resolve(_dotted(header.group(1)), counts)
                key_lines.setdefault(table, number)
            elif key := _KEY.match(line):
                name = ".".join(_dotted(key.group(1)))
                key_lines.setdefault(f"{table}.{name}" if table else name, number)
        for bracket in re.finditer(r"[\[\]{}]", line):
            depth += 1 if bracket.group() in "[{" else -1
            if depth > MAX_DEPTH:
                raise BlocsimError(
                    f"arrays or tables nested more than {MAX_DEPTH} deep", file=path, line=number
                )
        depth = max(depth, 0)
    return key_lines


def _dotted(key: str) -> list[str]:
    return [part.strip() for part in key.split(".")]


def _resolve(parts: list[str], counts: Mapping[str, int]) -> str:
    """A header's path with the index of each array of tables it passes through."""
    path = ""
    for part in parts:
        path = f"{path}.{part}" if path else part
        if path in counts:
            path = f"{path}[{counts[path]}]"
    return path
