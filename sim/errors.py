"""The one error type users see: a bad input, named by file, row and field."""

from __future__ import annotations


class BlocsimError(Exception):
    """A problem with the user's input, printed once by the CLI as one line (exit status 2).

    `line` is the line number in the file (the header is line 1), so an editor finds it.
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
        where = [str(self.file)] if self.file is not None else []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return ": ".join([*where, self.reason])
