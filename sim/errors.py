"""The one error type users see: a bad input, named by file, line and field."""

from __future__ import annotations

MAX_PART = 400  # characters shown of one part (file, field, reason): a 50 MB value stays a line


class BlocsimError(Exception):
    """A problem with the user's input, printed once by the CLI as one line (exit status 2).

    `line` is the line number in the file (the header is line 1), so an editor finds it.
    Every part is shown on one line: control characters (a newline inside a value) are escaped
    and an overlong part is cut, so the message stays one readable line whatever the input.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: object = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.field = field
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [one_line(self.file)] if self.file is not None else []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{one_line(self.field)}'")
        return ": ".join([*where, one_line(self.reason)])


def one_line(value: object) -> str:
    """`value` as text on one line: control characters escaped (a newline reads `\\n`), and a
    part longer than `MAX_PART` cut in the middle, so the reason at its end still shows."""
    text = str(value)
    if len(text) > MAX_PART:
        half = MAX_PART // 2
        return f"{_printable(text[:half])} ... {_printable(text[-half:])}"
    return _printable(text)


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
