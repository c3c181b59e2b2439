"""Select the rules an event reaches, plan each delivery, make them (run.py), journal every
attempt and trip the failure breaker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from quaynotify.catalogue.data import build_event_data, parse_repository, sample_event_data
from quaynotify.catalogue.events import Event, get_event
from quaynotify.config.load import Config, Rule
from quaynotify.config.settings import Settings
from quaynotify.delivery.retry import SYSTEM_CLOCK, Clock, RetryPolicy
from quaynotify.delivery.run import Planned, deliver, unexpected
from quaynotify.delivery.selection import Filtered, partition
from quaynotify.delivery.workers import Stop
from quaynotify.errors import Interrupted, QuaynotifyError, StateUnreachable
from quaynotify.masking import scrub
from quaynotify.methods import METHODS, get_method
from quaynotify.methods.base import Notification, Preview
from quaynotify.store.journal import INTERRUPTED, DeliveryRecord

if TYPE_CHECKING:
    from quaynotify.notification_area import InboxWriter
    from quaynotify.store import Store
    from quaynotify.store.journal import Journal

# -- planning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """How to run a set of deliveries: what the command line and config say, for one run."""

    dry_run: bool = False
    policy: RetryPolicy | None = None  # default: from [delivery]
    concurrency: int | None = None  # default: [delivery] concurrency
    deadline: float | None = None  # seconds from the start: no attempt starts after it
    clock: Clock = SYSTEM_CLOCK
    progress: Callable[[DeliveryRecord], None] | None = None  # called as each one ends
    stop: Stop | None = None  # set by Ctrl-C or SIGTERM: finish what is in flight, then stop
    retries: Callable[[str], None] | None = None  # hears each retry as it is about to wait


@dataclass(frozen=True)
class Outcome:
    """What `emit`, `rule test` and `replay` did: deliveries made, or previews of them."""

    event: str
    repository: str
    deliveries: tuple[DeliveryRecord, ...] = ()
    previews: tuple[Preview, ...] = ()
    matched: int = 0
    newly_disabled: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # what could not even be planned (e.g. a removed rule)
    dry_run: bool = False
    # What the user should know that did not fail a delivery (the shared state was down).
    warnings: tuple[str, ...] = ()
    filtered: tuple[Filtered, ...] = ()  # rules of this event and repository a filter stopped

    @property
    def ok(self) -> bool:
        return not self.problems and all(d.ok for d in self.deliveries)


def make_event_data(
    config: Config,
    event: Event,
    repository: str,
    fields: Mapping[str, Any],
    *,
    sample: bool = False,
) -> dict[str, Any]:
    """Quay's event data: the common repository fields with the event's fields over them.
    With `sample`, `fields` start from Quay's sample data and our defaults are not added."""
    parse_repository(repository)
    event.check(fields)
    return build_event_data(
        event,
        repository,
        fields,
        hostname=config.settings.server.hostname,
        scheme=config.settings.server.scheme,
        defaults=not sample,
    )


def sample_data(config: Config, rule: Rule) -> dict[str, Any]:
    """What Quay's "Test Notification" sends for this rule."""
    return sample_event_data(
        get_event(rule.event),
        rule.repository,
        rule.event_config,
        hostname=config.settings.server.hostname,
        scheme=config.settings.server.scheme,
    )


def base_notification(
    config: Config,
    rules: Sequence[Rule],
    event: Event,
    data: Mapping[str, Any],
    *,
    performer: str | None = None,
) -> Notification:
    """What every rule of this event is sent, before each gets its delivery id: rendered
    once per event, not per rule, and only when one of the rules' methods needs messages."""
    base = Notification(
        delivery_id="",
        event=event.name,
        repository="",
        data=data,
        summary="",
        level=event.level(data),
        performer=performer,
    )
    methods = {get_method(r.method) for r in rules if r.method in METHODS}
    if not any(m.needs_messages for m in methods):
        return replace(base, summary=event.summary(data))
    from quaynotify.render.messages import messages

    m = messages(
        event,
        data,
        performer=performer,
        hostname=config.settings.server.hostname,
        scheme=config.settings.server.scheme,
    )
    return replace(base, summary=m.summary, html=m.html, text=m.text, mrkdwn=m.mrkdwn)


def plan(
    config: Config,
    rules: Sequence[Rule],
    event: Event,
    data: Mapping[str, Any],
    *,
    performer: str | None = None,
    disabled: Sequence[str] = (),
    delivery_ids: Mapping[str, str] | None = None,
) -> list[Planned]:
    """One Planned per rule: its method built from its current config (checked again, as the
    file may have been edited by hand since the rule was added)."""
    base = base_notification(config, rules, event, data, performer=performer)
    planned = []
    for rule in rules:
        notification = replace(
            base,
            delivery_id=(delivery_ids or {}).get(rule.id) or str(uuid.uuid4()),
            repository=rule.repository,
            title=rule.title,
        )
        planned.append(_planned(config.settings, rule, notification, rule.id in disabled))
    return planned


def _planned(settings: Settings, rule: Rule, notification: Notification, disabled: bool) -> Planned:
    """The rule's delivery: skipped when the breaker disabled the rule, failed when its config
    no longer holds, else with its method built from the config's settings."""
    if disabled:
        return Planned(
            rule,
            notification,
            problem=f"rule {rule.id} is disabled after {settings.delivery.disable_after}"
            f" failed deliveries in a row: run `quaynotify rule reset {rule.id}`",
            skip=True,
        )
    try:
        method = get_method(rule.method).for_sending(
            rule.config, settings.methods, repository=rule.repository
        )
    except QuaynotifyError as exc:
        return Planned(rule, notification, problem=f"invalid rule config: {exc}")
    except Exception as exc:  # a value our validation does not foresee: this rule fails
        return Planned(
            rule, notification, problem=f"invalid rule config: {unexpected(exc).message}"
        )
    return Planned(rule, notification, method=method)


def disabled_rules(store: Store, rules: Sequence[Rule]) -> list[str]:
    """The ids of these rules that the failure breaker has disabled. A shared state that
    cannot be reached cannot say: none is, and everything is delivered."""
    if not rules:
        return []
    try:
        if not store.exists():
            return []
        health = store.health.of([r.id for r in rules])
    except StateUnreachable:
        if store.spool is None:
            raise
        return []
    return [rule_id for rule_id, h in health.items() if h.disabled]


def unreachable_warning(store: Store) -> tuple[str, ...]:
    """The one line saying the shared state could not be reached, and where what was to be
    written there is kept; none when it was reached (or is not shared)."""
    if store.unreachable is None or store.spool is None:
        return ()
    return (
        f"{store.unreachable}: delivered anyway; the journal is kept in "
        f"{store.spool.local.where} and uploaded by the next run that reaches the database "
        "(or `quaynotify state sync`)",
    )


# -- running ------------------------------------------------------------------------------------


JOURNAL_BATCH = 100
JOURNAL_BATCH_SECONDS = 0.05


class JournalBatches:
    """Finished deliveries, journaled in batches as they end: one transaction per batch, not
    per delivery (1,000 small ones cost ~100 ms of the main thread's time), and a killed
    process loses at most JOURNAL_BATCH_SECONDS of them. Each batch counts towards its
    rules' failure breakers."""

    def __init__(self, journal: Journal, disable_after: int, clock: Clock) -> None:
        self._journal = journal
        self._disable_after = disable_after
        self._clock = clock
        self._batch: list[DeliveryRecord] = []
        self._flushed = clock.monotonic()
        self.newly_disabled: list[str] = []  # rules the breaker disabled, in order

    def add(self, record: DeliveryRecord) -> None:
        self._batch.append(record)
        if (
            len(self._batch) >= JOURNAL_BATCH
            or self._clock.monotonic() - self._flushed >= JOURNAL_BATCH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self._batch:
            disabled = self._journal.record(self._batch, disable_after=self._disable_after)
            self.newly_disabled.extend(disabled)
            self._batch.clear()
        self._flushed = self._clock.monotonic()


def inbox_writer(store: Store) -> InboxWriter:
    """Where quay_notification deliveries go, handed to methods in their SendContext (they
    never look up the state themselves); it opens nothing until a record is written."""
    from quaynotify.services.inbox import Inbox

    return Inbox(store)


def preview(planned: Sequence[Planned]) -> list[Preview]:
    """What each planned delivery would send, secrets masked; nothing is sent."""
    out = []
    for p in planned:
        if p.method is None:
            out.append(Preview(p.rule.method, "(not sent)", {}, {"error": p.problem}))
            continue
        try:
            out.append(p.method.preview(p.notification))
        except QuaynotifyError as exc:
            out.append(Preview(p.rule.method, "(not sent)", {}, {"error": scrub(str(exc))}))
        except Exception as exc:  # as in deliver(): one rule's defect is that rule's alone
            error = scrub(unexpected(exc).message)
            out.append(Preview(p.rule.method, "(not sent)", {}, {"error": error}))
    return out


def execute(
    config: Config,
    store: Store,
    planned: Sequence[Planned],
    *,
    event: str = "",
    repository: str = "",
    run: Run = Run(),
    problems: Sequence[str] = (),
) -> Outcome:
    """Deliver (or preview) what was planned. Each delivery is journaled as it ends, so a
    killed process loses at most the ones in flight, and counts towards its rule's breaker."""
    if run.dry_run:
        return Outcome(
            event,
            repository,
            previews=tuple(preview(planned)),
            matched=len(planned),
            problems=tuple(problems),
            dry_run=True,
        )
    if planned and config.settings.journal.keep_days > 0:
        store.journal.prune(config.settings.journal.keep_days)
    batches = JournalBatches(store.journal, config.settings.delivery.disable_after, run.clock)

    def done(record: DeliveryRecord) -> None:
        batches.add(record)
        if run.progress is not None:
            run.progress(record)

    try:
        records = deliver(
            planned,
            run.policy or RetryPolicy.from_settings(config.settings.delivery),
            concurrency=run.concurrency or config.settings.delivery.concurrency,
            deadline=run.deadline,
            clock=run.clock,
            on_done=done,
            inbox=inbox_writer(store),
            stop=run.stop,
            on_retry=run.retries,
        )
    finally:
        batches.flush()
    if run.stop is not None and run.stop.requested.is_set():
        raise Interrupted(interrupted_summary(records))
    return Outcome(
        event,
        repository,
        deliveries=tuple(records),
        matched=len(planned),
        newly_disabled=tuple(batches.newly_disabled),
        problems=tuple(problems),
        warnings=unreachable_warning(store),
    )


def interrupted_summary(records: Sequence[DeliveryRecord]) -> str:
    """The one line an interrupted run ends with: what was done, what was not, what to run."""
    left = sum(1 for r in records if r.status == INTERRUPTED)
    done = len(records) - left
    line = f"interrupted: {done} of {len(records)} deliveries finished"
    if left:
        line += (
            f"; {left} journaled as interrupted: `quaynotify replay --failed` sends them"
            " (receivers de-duplicate by delivery id)"
        )
    return line


def emit(
    config: Config,
    store: Store,
    event: Event,
    repository: str,
    data: Mapping[str, Any],
    *,
    performer: str | None = None,
    run: Run = Run(),
) -> Outcome:
    """Deliver the event's data (built by make_event_data) to every matching rule, journal
    it all."""
    rules, filtered = partition(config, event, repository, data)
    planned = plan(
        config, rules, event, data, performer=performer, disabled=disabled_rules(store, rules)
    )
    outcome = execute(config, store, planned, event=event.name, repository=repository, run=run)
    return replace(outcome, filtered=filtered)


def dispatch(
    config: Config,
    store: Store,
    rules: Sequence[Rule],
    event_name: str,
    repository: str,
    data: Mapping[str, Any],
    *,
    performer: str | None = None,
    run: Run = Run(),
    honour_breaker: bool = True,
) -> Outcome:
    """Deliver `data` to `rules`, already selected (`rule test`: one rule, its sample)."""
    disabled = disabled_rules(store, rules) if honour_breaker else []
    event = get_event(event_name)
    planned = plan(config, rules, event, data, performer=performer, disabled=disabled)
    return execute(config, store, planned, event=event_name, repository=repository, run=run)
