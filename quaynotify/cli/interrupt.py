"""Ctrl-C and SIGTERM. Outside a delivery run they end the command at once; during one they
ask the run to stop, so that every delivery that reached a receiver is journaled first and
the rest are journaled as interrupted. Either way the command exits 130 with one line."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from quaynotify.errors import Interrupted

if TYPE_CHECKING:  # loaded by the commands that deliver, not by every command
    from quaynotify.delivery.workers import Stop

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_run: Stop | None = None


def _handle(signum: int, frame: FrameType | None) -> None:
    if _run is not None:
        _run.request()
        return
    raise Interrupted("interrupted")


@contextmanager
def handled() -> Iterator[None]:
    """Our handler for SIGINT and SIGTERM while a command runs (the previous ones after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handle) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def graceful() -> Iterator[Stop]:
    """A delivery run's stop request, set by the signals while the run lasts."""
    from quaynotify.delivery.workers import Stop

    global _run
    stop = _run = Stop()
    try:
        yield stop
    finally:
        _run = None
