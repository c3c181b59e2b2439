"""THE retry loop: attempts, exponential backoff with jitter, Retry-After, timeouts and the
overall deadline. Its clock and sleep are parameters, so tests never wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from quaynotify.errors import DeliveryError
from quaynotify.methods.base import Sent
from quaynotify.store.journal import Attempt

if TYPE_CHECKING:
    from quaynotify.config.settings import DeliverySettings

TRANSIENT = "transient"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0
    timeout: float = 10.0
    retry_on: str = "any"  # "any": every failure is retried, as Quay does; or "transient"

    @classmethod
    def from_settings(cls, s: DeliverySettings, **overrides: Any) -> RetryPolicy:
        policy = cls(s.max_attempts, s.backoff, s.max_backoff, s.timeout, s.retry_on)
        return replace(policy, **{k: v for k, v in overrides.items() if v is not None})

    def delay(self, attempt: int, error: DeliveryError, rng: Callable[[], float]) -> float:
        """How long to wait after failed attempt number `attempt` (1-based)."""
        if error.retry_after is not None:
            return min(error.retry_after, self.max_backoff)
        # Exponential backoff with "equal jitter": at least half the step, so retries from
        # many processes spread out but never come back immediately.
        step = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return step / 2 + rng() * step / 2

    def should_retry(self, error: DeliveryError) -> bool:
        return error.retryable and (self.retry_on != TRANSIENT or error.transient)


@dataclass(frozen=True)
class Clock:
    """Time as the retry loop sees it; tests pass their own and never really wait."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = lambda: _random()
    # Sleep until `seconds` pass or the event is set (an interrupted run stops waiting).
    wait: Callable[[threading.Event, float], object] = lambda event, seconds: event.wait(seconds)


def _random() -> float:
    import random  # only a failed attempt needs it: not worth loading on every start

    return random.random()


SYSTEM_CLOCK = Clock()


@dataclass(frozen=True)
class Tried:
    """What the retry loop did: every attempt, the final error (None on success), and whether
    it stopped because the run was interrupted rather than because it was done."""

    attempts: tuple[Attempt, ...]
    error: str | None
    interrupted: bool = False


@dataclass(frozen=True)
class Retrying:
    """A failed attempt about to be tried again, as the user hears of it."""

    number: int
    of: int  # the policy's max_attempts
    error: DeliveryError
    wait: float  # seconds until the next attempt

    def line(self) -> str:
        """'attempt 1/3 timed out after 5 s; retrying in 2 s' (or what failed instead)."""
        if self.error.timed_out is not None:
            what = f"timed out after {_seconds(self.error.timed_out)}"
        else:
            what = f"failed: {self.error.message}"
        return f"attempt {self.number}/{self.of} {what}; retrying in {_seconds(self.wait)}"


def _seconds(value: float) -> str:
    return f"{round(value, 1):g} s"


def attempt_with_retries(
    send: Callable[[float], Sent],
    policy: RetryPolicy,
    *,
    deadline: float | None = None,
    clock: Clock = SYSTEM_CLOCK,
    stop: threading.Event | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
    on_retry: Callable[[Retrying], None] | None = None,
) -> Tried:
    """Call `send(timeout)` until it succeeds, the policy gives up, the deadline (on
    `clock.monotonic`) comes or `stop` is set: no attempt starts after that, and a wait
    between attempts ends at once. `on_attempt` hears of each attempt as it ends, `on_retry`
    of each wait before another attempt, as it begins."""
    attempts: list[Attempt] = []
    error: str | None = None

    def done(attempt: Attempt) -> None:
        attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)

    for number in range(1, policy.max_attempts + 1):
        if stop is not None and stop.is_set():
            return Tried(tuple(attempts), _interrupted(number, error), interrupted=True)
        timeout = policy.timeout
        if deadline is not None:
            timeout = min(timeout, deadline - clock.monotonic())
            if timeout <= 0:
                error = f"deadline reached before attempt {number}" + (
                    f"; last error: {error}" if error else ""
                )
                break
        started, t0 = clock.wall(), clock.monotonic()
        try:
            sent = send(timeout)
        except DeliveryError as exc:
            done(Attempt(number, started, clock.monotonic() - t0, False, exc.status, exc.message))
            error = exc.message
            if number == policy.max_attempts or not policy.should_retry(exc):
                break
            wait = policy.delay(number, exc, clock.random)
            if deadline is not None and clock.monotonic() + wait >= deadline:
                error = f"{exc.message} (no time left before the deadline to retry)"
                break
            if on_retry is not None:
                on_retry(Retrying(number, policy.max_attempts, exc, wait))
            if stop is None:
                clock.sleep(wait)
            else:
                clock.wait(stop, wait)
        else:
            done(Attempt(number, started, clock.monotonic() - t0, True, sent.status, sent.message))
            return Tried(tuple(attempts), None)
    return Tried(tuple(attempts), error)


def _interrupted(number: int, error: str | None) -> str:
    return f"interrupted before attempt {number}" + (f"; last error: {error}" if error else "")
