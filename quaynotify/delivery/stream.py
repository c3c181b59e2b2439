"""A stream of events to emit, one JSON object a line: parsed and checked whole before
anything is sent, then planned to share one pool."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quaynotify.catalogue.events import get_event
from quaynotify.config.load import Config
from quaynotify.delivery import plan as delivery
from quaynotify.delivery.run import Planned
from quaynotify.delivery.selection import select
from quaynotify.errors import UsageError
from quaynotify.inputs import loads
from quaynotify.store import Store


@dataclass(frozen=True)
class StreamEvent:
    line: int
    event: str
    repository: str
    data: dict[str, Any]
    performer: str | None = None


def parse_stream(text: str, source: str) -> list[StreamEvent]:
    """JSON lines, one `{"event": ..., "repository": ..., "data": {...}}` each; blank lines and
    lines starting with # are skipped. Any bad line rejects the whole stream, before sending."""
    events = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source} line {number}"
        try:
            item = loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON: {exc.msg} at column {exc.colno}") from None
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if not isinstance(item, dict):
            raise UsageError(
                f'{where}: expected an object like {{"event": ..., "repository": ...}}'
            )
        unknown = sorted(set(item) - {"event", "repository", "data", "performer"})
        if unknown:
            raise UsageError(
                f"{where}: unknown key {unknown[0]!r}: expected event, repository, data, performer"
            )
        event, repository = item.get("event"), item.get("repository")
        data, performer = item.get("data", {}), item.get("performer")
        if not isinstance(event, str) or not isinstance(repository, str):
            raise UsageError(f'{where}: "event" and "repository" must be strings')
        if not isinstance(data, dict):
            raise UsageError(f'{where}: "data" must be an object')
        if performer is not None and not isinstance(performer, str):
            raise UsageError(f'{where}: "performer" must be a string')
        events.append(StreamEvent(number, event, repository, data, performer))
    return events


def plan_stream(
    config: Config, store: Store, events: Sequence[StreamEvent], source: str
) -> list[Planned]:
    """Every event of a stream, planned to share one pool. Every event is checked before
    anything is sent, so a typo on line 900 does not leave 899 half-sent."""
    planned: list[Planned] = []
    prepared = []
    for e in events:
        try:
            event = get_event(e.event)
            data = delivery.make_event_data(config, event, e.repository, e.data)
        except UsageError as exc:
            raise UsageError(f"{source} line {e.line}: {exc}") from None
        prepared.append((e, event, data, select(config, event, e.repository, data)))
    disabled = delivery.disabled_rules(store, [r for *_, rules in prepared for r in rules])
    for e, event, data, rules in prepared:
        planned += delivery.plan(
            config, rules, event, data, performer=e.performer, disabled=disabled
        )
    return planned
