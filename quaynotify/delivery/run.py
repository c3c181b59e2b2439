"""Making planned deliveries: each through THE retry loop, at most `concurrency` at once on
the run's workers, sharing its HTTP clients. Whatever one delivery raises is that delivery's
failure; every record is scrubbed of known secrets before anyone sees it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from quaynotify.config.load import Rule
from quaynotify.delivery.retry import (
    SYSTEM_CLOCK,
    Clock,
    Retrying,
    RetryPolicy,
    attempt_with_retries,
)
from quaynotify.delivery.workers import Stop, run_all
from quaynotify.errors import DeliveryError
from quaynotify.masking import scrub
from quaynotify.methods.base import Method, Notification, SendContext, Sent
from quaynotify.methods.http import Clients, HttpMethod
from quaynotify.store.journal import INTERRUPTED, Attempt, DeliveryRecord

if TYPE_CHECKING:
    from quaynotify.notification_area import InboxWriter


@dataclass(frozen=True)
class Planned:
    """One delivery about to be made: a rule, its method (or why it has none), the message."""

    rule: Rule
    notification: Notification
    method: Method | None = None
    problem: str | None = None  # the rule's config no longer validates, or it is disabled
    skip: bool = False  # disabled by the failure breaker


def deliver(
    planned: Sequence[Planned],
    policy: RetryPolicy,
    *,
    concurrency: int = 8,
    deadline: float | None = None,
    clock: Clock = SYSTEM_CLOCK,
    on_done: Callable[[DeliveryRecord], None] | None = None,
    inbox: InboxWriter | None = None,
    stop: Stop | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> list[DeliveryRecord]:
    """Deliver every planned notification, each with its own retry loop, at most
    `concurrency` at a time. Returns records in the order planned, whatever order they end in.
    `deadline` is in seconds from now. After `stop` is requested no attempt starts, and what
    is not done within the grace is recorded as interrupted. `on_retry` hears, from the
    delivery's own thread, one line for each attempt that failed and will be tried again.

    Whatever one delivery raises is that delivery's failure: no other delivery is affected."""
    if not planned:
        return []
    absolute = None if deadline is None else clock.monotonic() + deadline
    results: list[DeliveryRecord | None] = [None] * len(planned)
    progress: list[list[Attempt]] = [[] for _ in planned]  # each one's attempts so far
    stop_event = None if stop is None else stop.requested
    clients = Clients(concurrency)

    def one(index: int) -> DeliveryRecord:
        p = planned[index]
        try:
            ctx = SendContext(timeout=policy.timeout, inbox=inbox)
            retrying = None if on_retry is None else _retry_line(p, on_retry)
            return _deliver_one(
                p,
                policy,
                ctx,
                clients,
                absolute,
                clock,
                stop_event,
                progress[index].append,
                retrying,
            )
        except Exception as exc:  # a defect met by one delivery fails that delivery only
            return replace(_record(p, clock), error=unexpected(exc).message, updated=clock.wall())

    def finished(index: int, record: DeliveryRecord) -> None:
        record = _scrubbed(record)
        results[index] = record
        if on_done:
            on_done(record)

    unfinished = run_all(one, len(planned), workers=concurrency, on_result=finished, stop=stop)
    for left in unfinished:
        attempts = tuple(progress[left.index])
        finished(left.index, _interrupted(planned[left.index], attempts, left.started, clock))
    if not unfinished:
        # With threads still in flight a close could wait on them: the process is ending.
        clients.close()
    return [r for r in results if r is not None]


def _retry_line(p: Planned, on_retry: Callable[[str], None]) -> Callable[[Retrying], None]:
    """'rule ID: attempt 1/3 timed out after 5 s; retrying in 2 s', scrubbed of secrets."""
    return lambda retrying: on_retry(scrub(f"rule {p.rule.id}: {retrying.line()}"))


def unexpected(exc: BaseException) -> DeliveryError:
    """What a method raised that is not a DeliveryError (a library's exception for a value
    it cannot send): a failure of this delivery that retrying cannot help."""
    reason = " ".join(str(exc).split())
    return DeliveryError(
        f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__, retryable=False
    )


def _record(p: Planned, clock: Clock) -> DeliveryRecord:
    n = p.notification
    return DeliveryRecord(
        id=n.delivery_id,
        event=n.event,
        repository=n.repository,
        rule_id=p.rule.id,
        method=p.rule.method,
        status="failed",
        data=dict(n.data),
        performer=n.performer,
        created=clock.wall(),
    )


def _interrupted(
    p: Planned, attempts: tuple[Attempt, ...], started: bool, clock: Clock
) -> DeliveryRecord:
    """The record of a delivery a stop left unfinished, with the attempts it made."""
    if started:
        error = f"interrupted during attempt {len(attempts) + 1}: the receiver may have it"
    else:
        error = "interrupted before the first attempt"
    return replace(
        _record(p, clock),
        status=INTERRUPTED,
        error=error,
        attempts=attempts,
        updated=clock.wall(),
    )


def _scrubbed(record: DeliveryRecord) -> DeliveryRecord:
    """The record with every known secret masked in its messages, before it is journaled
    or shown: a library's message may repeat a token it was handed."""
    attempts = tuple(replace(a, message=scrub(a.message)) for a in record.attempts)
    error = None if record.error is None else scrub(record.error)
    return replace(record, error=error, attempts=attempts)


def _deliver_one(
    p: Planned,
    policy: RetryPolicy,
    ctx: SendContext,
    clients: Clients,
    deadline: float | None,
    clock: Clock,
    stop: threading.Event | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
    on_retry: Callable[[Retrying], None] | None = None,
) -> DeliveryRecord:
    n = p.notification
    base = _record(p, clock)
    if p.method is None:
        return replace(base, status="skipped" if p.skip else "failed", error=p.problem)
    method = p.method
    if isinstance(method, HttpMethod):
        try:
            ctx = replace(ctx, client=clients.get(method.tls()))
        except DeliveryError as exc:
            return replace(base, error=exc.message, updated=clock.wall())

    def send(timeout: float) -> Sent:
        try:
            return method.send(n, replace(ctx, timeout=timeout))
        except DeliveryError:
            raise
        except Exception as exc:
            raise unexpected(exc) from None

    tried = attempt_with_retries(
        send,
        policy,
        deadline=deadline,
        clock=clock,
        stop=stop,
        on_attempt=on_attempt,
        on_retry=on_retry,
    )
    status = "succeeded" if tried.error is None else "failed"
    return replace(
        base,
        status=INTERRUPTED if tried.interrupted else status,
        error=tried.error,
        attempts=tried.attempts,
        updated=clock.wall(),
    )
