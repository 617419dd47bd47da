"""Ctrl-C (SIGINT) and SIGTERM during a sweep: stop the workers, keep a resumable directory.

SIGTERM's default action kills the command at once, leaving its worker processes orphaned;
while a sweep runs both signals raise `Interrupted` instead, so the runner can terminate its
workers and say how to finish the sweep (`blocsim sweep --resume DIR`). The exit status is
128 + the signal's number, as a shell reports a process killed by it: 130 for SIGINT, 143 for
SIGTERM.

    >>> with stop_on_interrupt(directory, pool):
    ...     run the blocks
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.sweep.executors import Executor

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A sweep stopped by a signal; `directory` (if it was created) holds its finished blocks."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number
        self.directory: Path | None = None

    @property
    def exit_status(self) -> int:
        return 128 + self.signal_number

    def message(self) -> str:
        """One line: what stopped the sweep and the command that finishes it."""
        name = signal.Signals(self.signal_number).name
        if self.directory is None or not self.directory.exists():
            return f"interrupted by {name} before the sweep started; nothing was written"
        return (
            f"interrupted by {name}: the finished blocks are kept in {self.directory}; "
            f"finish the sweep with: blocsim sweep --resume {self.directory}"
        )


@contextmanager
def stop_on_interrupt(directory: Path | None, pool: Executor | None) -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise `Interrupted`, which stops `pool`'s workers at once and
    names `directory` (None: not known yet; an inner `stop_on_interrupt` may name it). Signal
    handlers belong to the main thread: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, _frame: object) -> None:
        raise Interrupted(number)

    previous = {number: signal.signal(number, interrupt) for number in SIGNALS}
    try:
        yield
    except Interrupted as stop:
        for number in SIGNALS:  # a second Ctrl-C must not cut the stopping short
            signal.signal(number, signal.SIG_IGN)
        if pool is not None:
            pool.stop()
        if stop.directory is None:
            stop.directory = directory
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
