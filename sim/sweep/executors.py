"""Where a sweep's blocks run: in this process, a local process pool, or a dask cluster.

An executor is opened before the sweep's setup exists, so that a local pool's workers start
(spawn an interpreter, import numpy and the block kernel) while the command loads the data and
builds the world; `install` then hands it the setup, and every block is a `concurrent.futures`
submit of `sim.sweep.batch.simulate_block` on one BLAS thread, so where a block ran never
changes its numbers.

    >>> with open_executor("local", 2, None) as pool:   # the workers start now
    ...     pool.install(setup)                        # once the world is built
    ...     pool.submit(tasks.task(block)).result()    # (index, arrays)

Leaving the `with` normally closes the executor once its blocks are done; an error or an
interrupt leaving it calls `stop`: the local workers are terminated at once (a pool's shutdown
would wait for their running blocks), so no worker outlives the command.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sim.errors import BlocsimError
from sim.sweep.batch import BlockTask, SweepSetup, simulate_block


class Executor:
    """Runs block tasks, keeping `slots` of them in flight, once `install` gave it the setup."""

    slots: int  # blocks in flight
    description: str

    def install(self, setup: SweepSetup) -> None:
        """The setup every block of the sweep shares (before the first `submit`)."""
        self._setup = setup

    def submit(self, task: BlockTask) -> concurrent.futures.Future:
        """Run one block: a future of (index, arrays)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers once their blocks are done."""

    def stop(self) -> None:
        """Release the workers at once (an interrupt or an error): running blocks are lost."""
        self.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.stop()


def open_executor(kind: str, workers: int, address: str | None) -> Executor:
    """`local`: `workers` spawned processes, started now (1: this process); `dask`: the
    cluster at `address` (or $DASK_SCHEDULER_ADDRESS)."""
    if kind == "dask":
        return _DaskCluster(address or os.environ.get("DASK_SCHEDULER_ADDRESS"))
    if kind != "local":
        raise BlocsimError(f"unknown executor '{kind}' (local or dask)", field="--executor")
    if workers < 1:
        raise BlocsimError("must be at least 1", field="--workers")
    return _InProcess() if workers == 1 else _LocalPool(workers)


class _InProcess(Executor):
    """One worker: each block runs at its submit, in this process."""

    slots = 1
    description = "in process"

    def submit(self, task: BlockTask) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result(simulate_block(self._setup, task))
        return future


class _LocalPool(Executor):
    """`workers` spawned processes (no fork of a threaded parent), started at once: each
    imports the block kernel while the command builds the sweep. Each task carries the setup
    with it (22 KB pickled for the mission's sweep, 0.1 ms to pickle and unpickle, beside a
    task's ~300 KB): no worker needs it before its first block."""

    def __init__(self, workers: int) -> None:
        self._pool = concurrent.futures.ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        with _born_ignoring_ctrl_c():
            for _ in range(workers):  # a spawning pool starts a process at a submit if none is idle
                self._pool.submit(_started)
        self.slots = 2 * workers
        self.description = f"{workers} local processes"

    def submit(self, task: BlockTask) -> concurrent.futures.Future:
        return self._pool.submit(simulate_block, self._setup, task)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def stop(self) -> None:
        _terminate(self._pool)


@contextmanager
def _born_ignoring_ctrl_c() -> Iterator[None]:
    """Processes started within ignore SIGINT from birth (an ignored signal stays ignored across
    exec, and Python then installs no KeyboardInterrupt handler): a worker still importing when
    the terminal's Ctrl-C reaches the whole process group would die printing a traceback. The
    command ignores it for those few milliseconds too. Signal handlers belong to the main
    thread: elsewhere this does nothing (the workers' initializer ignores it once it runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_worker(command: int) -> None:
    """Process-pool initializer (its module's imports, the block kernel's, are the worker's
    start-up).

    A worker ignores Ctrl-C (the terminal sends it to the whole process group): the command
    catches it and stops the workers itself. If the command dies without stopping them
    (SIGKILL), a watchdog thread ends the worker within a second.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(command,), daemon=True).start()
    # At exit the collector would walk every object of pandas, scipy and numba (0.25-0.35 s),
    # and the pool's close waits for the exit: frozen, they are left to the system.
    atexit.register(gc.freeze)


def _started() -> None:
    """The task that makes the pool start a worker (its initializer does the work)."""


def _exit_when_orphaned(command: int) -> None:
    """Exit once the command that started this worker is gone: no one would collect its blocks.

    `command` is the command's process id, passed in (not read here: a worker still starting
    when the command was killed already has another parent)."""
    while os.getppid() == command:
        time.sleep(1)
    os._exit(1)


def _terminate(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel the queued blocks and terminate the workers now, then wait for them to exit.

    Python 3.12's pool has no public way to terminate its workers (3.14 adds
    `terminate_workers`): its `_processes` are the worker processes. A task (about 300 KB, more
    than a pipe holds) may be half-written to the call queue when its reader dies: the queue's
    feeder thread would then block the command's exit, so it is not joined. A result may be
    half-written by a worker terminated mid-send, and the pool's manager thread, reading it,
    would wait forever for the rest (this process holds the pipe's other end): that end is
    closed once the workers are gone, so the read ends and the thread with it. A second call
    finds no workers (shutdown forgot them) and does nothing.
    """
    workers, calls, results = (
        list((pool._processes or {}).values()),
        pool._call_queue,
        pool._result_queue,
    )
    pool.shutdown(wait=False, cancel_futures=True)  # forgets all three
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join()
    if calls is not None:
        calls.cancel_join_thread()
    if results is not None and workers:
        results._writer.close()


class _DaskCluster(Executor):
    """An existing dask.distributed cluster through its `concurrent.futures` interface; the
    setup is scattered to every worker once."""

    def __init__(self, address: str | None) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise BlocsimError(
                "the dask executor needs dask.distributed: pip install 'blocsim[dask]'",
                field="--executor",
            ) from None
        if not address:
            raise BlocsimError(
                "no scheduler: give --address tcp://HOST:PORT or set DASK_SCHEDULER_ADDRESS",
                field="--address",
            )
        try:
            self._client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise BlocsimError(
                f"cannot reach the dask scheduler ({error})", field="--address"
            ) from None
        self._executor = self._client.get_executor()
        threads = max(1, sum(self._client.nthreads().values()))
        self.slots = 2 * threads
        self.description = f"dask at {address} ({threads} worker threads)"

    def install(self, setup: SweepSetup) -> None:
        self._shared = self._client.scatter(setup, broadcast=True, hash=False)

    def submit(self, task: BlockTask) -> concurrent.futures.Future:
        return self._executor.submit(simulate_block, self._shared, task)

    def close(self) -> None:
        self._executor.shutdown(wait=False)
        self._client.close()
