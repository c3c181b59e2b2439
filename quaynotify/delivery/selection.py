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
    return partition(config, event, repository, data)[0]


def partition(
    config: Config, event: Event, repository: str, data: Mapping[str, Any]
) -> tuple[list[Rule], tuple[Filtered, ...]]:
    """The enabled rules for this repository and event: those the event reaches, and those
    their event filter stopped, with why (each filter is asked once)."""
    reached: list[Rule] = []
    stopped: list[Filtered] = []
    for rule in config.matching(repository, event.name):
        if not rule.enabled:
            continue
        if event.should_perform(rule.event_config, data):
            reached.append(rule)
        else:
            stopped.append(Filtered(rule.id, event.why_not_performed(rule.event_config, data)))
    return reached, tuple(stopped)
