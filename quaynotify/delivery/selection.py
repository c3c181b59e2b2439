"""Which rules an event reaches: those of its repository and event that are enabled and whose
event filter lets it through; and, for the user who expected more, those a filter stopped and
why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quaynotify.catalogue.events import Event
from quaynotify.config.load import Config, Rule


@dataclass(frozen=True)
class Filtered:
    """A rule whose event filter stopped the event, and why (e.g. its ref-regex)."""

    rule_id: str
    reason: str


def select(config: Config, event: Event, repository: str, data: Mapping[str, Any]) -> list[Rule]:
    """The enabled rules for this repository and event whose event filter lets it through."""
    return [
        rule
        for rule in config.matching(repository, event.name)
        if rule.enabled and event.should_perform(rule.event_config, data)
    ]


def filtered_out(
    config: Config, event: Event, repository: str, data: Mapping[str, Any]
) -> tuple[Filtered, ...]:
    """The enabled rules for this repository and event that their event filter stopped."""
    stopped = (
        (rule.id, event.why_not_performed(rule.event_config, data))
        for rule in config.matching(repository, event.name)
        if rule.enabled
    )
    return tuple(Filtered(rule_id, reason) for rule_id, reason in stopped if reason is not None)
