"""Views of records for every output form: a rule as Quay's notification view, a delivery as
a JSON object or a table's detail cell, a time as a table shows it. One shape per record kind,
whichever command shows it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quaynotify.config.load import Rule
    from quaynotify.output import Output
    from quaynotify.store.health import RuleHealth
    from quaynotify.store.journal import DeliveryRecord


def when(ts: float) -> str:
    """An epoch time as tables show it: ISO 8601 in local time, to the second."""
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def status(rule: Rule, health: RuleHealth | None) -> str:
    if not rule.enabled:
        return "disabled"
    if health is not None and health.disabled:
        return f"disabled ({health.failures} failed)"
    return "enabled"


def rule_view(rule: Rule, health: RuleHealth | None, out: Output) -> dict[str, Any]:
    """The rule's own `id` (as every record's is), then Quay's notification view (to_dict,
    whose `uuid` is the same id), plus repository and enabled; the method config's secrets
    masked unless --show-secrets."""
    from quaynotify.methods import mask_config

    return {
        "id": rule.id,
        "uuid": rule.id,
        "title": rule.title,
        "event": rule.event,
        "method": rule.method,
        "config": dict(rule.config) if out.show_secrets else mask_config(rule.method, rule.config),
        "event_config": dict(rule.event_config),
        "number_of_failures": health.failures if health else 0,
        "repository": rule.repository,
        "enabled": rule.enabled and not (health is not None and health.disabled),
    }


JOURNAL_COLUMNS = [
    "DELIVERY",
    "WHEN",
    "EVENT",
    "REPOSITORY",
    "METHOD",
    "STATUS",
    "ATTEMPTS",
    "DETAIL",
]


def journal_row(d: DeliveryRecord) -> list[Any]:
    """A delivery as a row of the journal's table (`log`)."""
    return [
        d.id,
        when(d.updated),
        d.event,
        d.repository,
        d.method,
        d.status,
        len(d.attempts),
        detail(d),
    ]


def detail(d: DeliveryRecord) -> str:
    if d.error:
        return str(d.error)
    return d.attempts[-1].message if d.attempts else ""


def delivery_view(d: DeliveryRecord, *, with_attempts: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": d.id,
        "event": d.event,
        "repository": d.repository,
        "rule_id": d.rule_id,
        "method": d.method,
        "status": d.status,
        "error": d.error,
        "performer": d.performer,
        "created": d.created,
        "updated": d.updated,
        "attempt_count": len(d.attempts),
    }
    if with_attempts:
        view["attempts"] = [
            {
                "number": a.number,
                "started": a.started,
                "duration": round(a.duration, 6),
                "ok": a.ok,
                "status": a.status,
                "message": a.message,
            }
            for a in d.attempts
        ]
    return view
