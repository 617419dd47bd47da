"""Where a sweep's blocks run: in this process, a local process pool, or a dask cluster.

Every executor is a `concurrent.futures` submit of `sim.sweep.batch.simulate_block`, with the setup
sent to each worker once and BLAS on one thread, so where a block ran never changes its numbers.

    >>> pool = open_executor("local", 2, None, setup)
    >>> pool.submit(tasks.task(block)).result()   # (index, arrays)
    >>> pool.close()

An interrupted sweep calls `stop` instead: the local workers are terminated at once (a pool's
shutdown would wait for their running blocks), so no worker outlives the command.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.errors import BlocsimError
from sim.sweep.batch import BlockTask, SweepSetup, simulate_block

_installed: SweepSetup | None = None


def _install(setup: SweepSetup, command: int) -> None:
    """Process-pool initializer: keep the setup, sent once, for every block of this worker.

    A worker ignores Ctrl-C (the terminal sends it to the whole process group): the command
    catches it and stops the workers itself. If the command dies without stopping them
    (SIGKILL), a watchdog thread ends the worker within a second.
    """
    global _installed
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(command,), daemon=True).start()
    _installed = setup


def _exit_when_orphaned(command: int) -> None:
    """Exit once the command that started this worker is gone: no one would collect its blocks.

    `command` is the command's process id, passed in (not read here: a worker still starting
    when the command was killed already has another parent)."""
    while os.getppid() == command:
        time.sleep(1)
    os._exit(1)


def _run_installed(task: BlockTask) -> tuple[int, dict[str, np.ndarray]]:
    return simulate_block(_installed, task)


@dataclass
class Executor:
    """Submits block tasks; `slots` blocks are kept in flight; `close` releases the workers once
    their blocks are done, `stop` at once (an interrupt)."""

    submit: Callable[[BlockTask], concurrent.futures.Future]
    slots: int  # blocks in flight
    close: Callable[[], None]
    stop: Callable[[], None]
    description: str


def _run_here(setup: SweepSetup, task: BlockTask) -> concurrent.futures.Future:
    """One worker: run the block now, in this process, as a finished future."""
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_result(simulate_block(setup, task))
    return future


def open_executor(kind: str, workers: int, address: str | None, setup: SweepSetup) -> Executor:
    """`local`: `workers` spawned processes (1: this process); `dask`: the cluster at `address`."""
    if kind == "dask":
        return _dask_executor(address or os.environ.get("DASK_SCHEDULER_ADDRESS"), setup)
    if kind != "local":
        raise BlocsimError(f"unknown executor '{kind}' (local or dask)", field="--executor")
    if workers < 1:
        raise BlocsimError("must be at least 1", field="--workers")
    if workers == 1:
        return Executor(
            lambda task: _run_here(setup, task), 1, lambda: None, lambda: None, "in process"
        )
    pool = concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded parent
        initializer=_install,
        initargs=(setup, os.getpid()),
    )
    return Executor(
        lambda task: pool.submit(_run_installed, task),
        2 * workers,
        lambda: pool.shutdown(cancel_futures=True),
        lambda: _terminate(pool),
        f"{workers} local processes",
    )


def _terminate(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel the queued blocks and terminate the workers now, then wait for them to exit.

    Python 3.12's pool has no public way to terminate its workers (3.14 adds
    `terminate_workers`): its `_processes` are the worker processes. A task (about 300 KB, more
    than a pipe holds) may be half-written to the call queue when its reader dies: the queue's
    feeder thread would then block the command's exit, so it is not joined.
    """
    workers, calls = list((pool._processes or {}).values()), pool._call_queue
    pool.shutdown(wait=False, cancel_futures=True)  # forgets both
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join()
    if calls is not None:
        calls.cancel_join_thread()


def _dask_executor(address: str | None, setup: SweepSetup) -> Executor:
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
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise BlocsimError(
            f"cannot reach the dask scheduler ({error})", field="--address"
        ) from None
    shared = client.scatter(setup, broadcast=True, hash=False)  # sent once to every worker
    executor = client.get_executor()
    threads = max(1, sum(client.nthreads().values()))

    def close() -> None:
        executor.shutdown(wait=False)
        client.close()

    return Executor(
        lambda task: executor.submit(simulate_block, shared, task),
        2 * threads,
        close,
        close,
        f"dask at {address} ({threads} worker threads)",
    )
