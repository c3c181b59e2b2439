"""The worker threads of a run, and the stop request (Ctrl-C, SIGTERM) that ends it early:
once a stop is asked for, no item starts, items in flight get a short grace, and the run
returns without waiting for the rest (they run on daemon threads and die with the process)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

GRACE = 1.0  # seconds attempts in flight get to finish after a stop is asked for
POLL = 0.1  # how often the main thread looks for a stop while it waits for results


class Stop:
    """A request to stop a run. The first request stops new attempts and grants the ones in
    flight `GRACE` seconds; a second one (`urgent`) stops waiting for them at once."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.urgent = threading.Event()

    def request(self) -> None:
        """Safe to call from a signal handler: it only sets events."""
        if self.requested.is_set():
            self.urgent.set()
        self.requested.set()


@dataclass(frozen=True)
class Unfinished:
    """An item the run gave up on after a stop: `started` when a worker had begun it."""

    index: int
    started: bool


def run_all(
    work: Callable[[int], T],
    count: int,
    *,
    workers: int,
    on_result: Callable[[int, T], None],
    stop: Stop | None = None,
    grace: float = GRACE,
) -> list[Unfinished]:
    """Call `work(i)` for i in range(count) on at most `workers` threads, and `on_result(i,
    result)` on the calling thread as each one ends. Returns the items left unfinished
    because of a stop (none without one). `work` must not raise."""
    tasks: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(count):
        tasks.put(index)
    started = [False] * count
    results: queue.SimpleQueue[tuple[int, T | None]] = queue.SimpleQueue()

    def worker() -> None:
        while True:
            try:
                index = tasks.get_nowait()
            except queue.Empty:
                return
            if stop is not None and stop.requested.is_set():
                results.put((index, None))  # never started
                continue
            started[index] = True
            results.put((index, work(index)))

    for n in range(min(workers, count)):
        threading.Thread(target=worker, name=f"deliver-{n}", daemon=True).start()

    pending = set(range(count))
    not_started: list[int] = []
    give_up: float | None = None
    while pending:
        if stop is not None and stop.requested.is_set():
            if stop.urgent.is_set():
                break
            if give_up is None:
                give_up = time.monotonic() + grace
        wait = POLL if give_up is None else min(POLL, give_up - time.monotonic())
        if wait <= 0:
            break
        try:
            # Polling, not blocking: a signal handler runs on this thread between waits.
            index, result = results.get(timeout=wait if stop is not None else None)
        except queue.Empty:
            continue
        pending.discard(index)
        if result is None:
            not_started.append(index)
        else:
            on_result(index, result)
    gone = sorted(pending | set(not_started))
    return [Unfinished(i, started[i]) for i in gone]
