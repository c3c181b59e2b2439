"""Event config filters, with Quay's semantics: builds' `ref-regex`, vulnerabilities' minimum
`level` (a priority index), image expiry's `days`; checked when a rule is added."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from quaynotify.errors import ValidationError

# Quay's PRIORITY_LEVELS, in index order: a lower index is more severe.
PRIORITIES: tuple[str, ...] = ("Critical", "High", "Medium", "Low", "Negligible", "Unknown")


@dataclass(frozen=True)
class Filter:
    """An event config key: its add-time check and Quay's should_perform semantics."""

    normalise: Callable[[Any], Any]  # add-time check; returns the value to store, None to drop it
    perform: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]
    # why `perform` said no, in one phrase naming the filter, for the user who expected a send
    why_not: Callable[[Mapping[str, Any], Mapping[str, Any]], str] = lambda config, data: (
        "its event filter did not match"
    )


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value.strip()) if isinstance(value, str) else None
    except ValueError:
        return None


def priority_index(value: str | int) -> int:
    """Quay's index of a vulnerability priority given by name (any case) or by index."""
    names = [name.lower() for name in PRIORITIES]
    if isinstance(value, str) and value.strip().lower() in names:
        return names.index(value.strip().lower())
    index = _whole_number(value)
    if index is not None and 0 <= index < len(PRIORITIES):
        return index
    valid = ", ".join(f"{name} ({i})" for i, name in enumerate(PRIORITIES))
    raise ValidationError(f"unknown vulnerability level {value!r}: use a name or index: {valid}")


def _normalise_ref_regex(value: Any) -> str | None:
    if value is None or value == "":
        return None  # Quay fires for every build when the regex is blank
    if not isinstance(value, str):
        kind = "a number" if isinstance(value, int | float) else type(value).__name__
        raise ValidationError(f"ref-regex must be a string, not {kind}")
    try:
        _compile(value)
    except re.error as error:
        raise ValidationError(f"invalid ref-regex '{value}': {error}") from None
    return value


def _compile(regex: str) -> re.Pattern[str]:
    """The regex, compiled without Python's FutureWarning for what a later Python may read
    differently (e.g. "[[" as a nested set): it is two lines on the user's terminal, and the
    regex means today what Quay's Python makes of it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(regex)


def _ref_matches(event_config: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    regex = event_config.get("ref-regex") or None
    if regex is None:
        return True
    metadata = data.get("trigger_metadata")
    ref = metadata.get("ref") if isinstance(metadata, Mapping) else None
    if ref is None:
        return False  # a manual upload, or a build from outside git
    try:
        # anchored at the start only, as in Quay
        return _compile(str(regex)).match(ref) is not None
    except (re.error, TypeError):
        return False  # Quay logs a bad regex (or ref) and does not fire


def _ref_mismatch(event_config: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    regex = event_config.get("ref-regex")
    metadata = data.get("trigger_metadata")
    ref = metadata.get("ref") if isinstance(metadata, Mapping) else None
    if ref is None:
        return f"ref-regex '{regex}' did not match: the build has no ref (trigger_metadata.ref)"
    try:
        _compile(str(regex))
    except re.error:
        return f"ref-regex '{regex}' is not a valid regex, so it matches nothing"
    return f"ref-regex '{regex}' did not match {ref}"


def _severe_enough(event_config: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    if "level" not in event_config or "vulnerable_index_report_created" in data:
        return True  # Quay pre-filters the new-index path by its own minimum severity
    vulnerability = data.get("vulnerability")
    if not isinstance(vulnerability, Mapping):
        return False
    priority = vulnerability.get("priority", "Unknown")
    if priority not in PRIORITIES:
        return False
    # Quay applies int() to the stored value and crashes on a name; a hand-edited name works here.
    return PRIORITIES.index(priority) <= priority_index(event_config["level"])


def _not_severe(event_config: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    try:
        index = priority_index(event_config["level"])
        minimum = f"level {PRIORITIES[index]} ({index})"
    except ValidationError:
        return (
            f"level {event_config['level']!r} is not a vulnerability level, so it matches nothing"
        )
    vulnerability = data.get("vulnerability")
    if not isinstance(vulnerability, Mapping):
        return f"{minimum} did not match: the event has no vulnerability"
    priority = vulnerability.get("priority", "Unknown")
    if priority not in PRIORITIES:
        return f"{minimum} did not match priority {priority!r}, which is not one of Quay's"
    return f"{minimum} did not match priority {priority}"


def _normalise_days(value: Any) -> int:
    days = _whole_number(value)
    if days is None:
        raise ValidationError(f"days must be a whole number of days, not {value!r}")
    if days <= 0:
        raise ValidationError("number of days should be more than 0.")  # Quay's new-UI text
    return days


FILTERS: dict[str, Filter] = {
    "ref-regex": Filter(_normalise_ref_regex, _ref_matches, _ref_mismatch),
    # Quay stores "1"
    "level": Filter(lambda value: str(priority_index(value)), _severe_enough, _not_severe),
    # days chooses which tags Quay's expiry scanner reports; an emitted event always fires
    "days": Filter(_normalise_days, lambda event_config, data: True),
}
