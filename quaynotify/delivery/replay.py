"""Replay: re-deliver journaled deliveries to their rules' current config, under the same
delivery id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quaynotify.catalogue.events import get_event
from quaynotify.config.load import Config
from quaynotify.delivery import plan as delivery
from quaynotify.delivery.run import Planned
from quaynotify.store import Store
from quaynotify.store.journal import DeliveryRecord


def journaled(
    store: Store,
    ids: Sequence[str] = (),
    *,
    since: float | None = None,
    rule_id: str | None = None,
) -> list[DeliveryRecord]:
    """The deliveries to replay: by id (any unique prefix), or without ids every one that did
    not succeed, optionally since a time or of one rule (oldest first, so that receivers see
    them in the order they happened)."""
    if ids:
        return [store.journal.delivery(i) for i in ids]
    if not store.exists():
        return []
    records = store.journal.deliveries(failed=True, since=since, rule_id=rule_id, limit=None)
    return list(reversed(records))


@dataclass(frozen=True)
class Plan:
    """Deliveries ready for `delivery.execute`, and what could not be planned."""

    planned: list[Planned]
    problems: list[str]


def plan_records(config: Config, store: Store, records: Sequence[DeliveryRecord]) -> Plan:
    """Each record's event data again, for its rule as configured now, under the same
    delivery id so that receivers can de-duplicate."""
    rules = {r.id: r for r in config.rules}
    problems: list[str] = []
    planned: list[Planned] = []
    chosen = [rules[r.rule_id] for r in records if r.rule_id in rules]
    disabled = delivery.disabled_rules(store, chosen)
    for record in records:
        rule = rules.get(record.rule_id)
        if rule is None:
            problems.append(
                f"delivery {record.id} not replayed: its rule {record.rule_id} is no longer in "
                f"the config"
            )
            continue
        if not rule.enabled:
            problems.append(
                f"delivery {record.id} not replayed: rule {rule.id} is disabled in the config "
                f"(`quaynotify rule enable {rule.id}`)"
            )
            continue
        planned += delivery.plan(
            config,
            [rule],
            get_event(record.event),
            record.data,
            performer=record.performer,
            disabled=disabled,
            delivery_ids={rule.id: record.id},
        )
    return Plan(planned, problems)
