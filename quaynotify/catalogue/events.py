"""The event catalogue: every repository event by name. Each is declared once, in the module
of its family (push, builds, vulnerability, mirrors, expiry); everything else reads these."""

from __future__ import annotations

from quaynotify.catalogue import builds, expiry, mirrors, push, vulnerability
from quaynotify.catalogue.event import LEVELS, Event, Field
from quaynotify.errors import UsageError

__all__ = ["EVENTS", "LEVELS", "Event", "Field", "get_event"]

EVENTS: dict[str, Event] = {
    event.name: event
    for event in (
        push.REPO_PUSH,
        builds.BUILD_QUEUED,
        builds.BUILD_START,
        builds.BUILD_SUCCESS,
        builds.BUILD_FAILURE,
        builds.BUILD_CANCELLED,
        vulnerability.VULNERABILITY_FOUND,
        mirrors.MIRROR_STARTED,
        mirrors.MIRROR_SUCCESS,
        mirrors.MIRROR_FAILED,
        expiry.REPO_IMAGE_EXPIRY,
    )
}


def get_event(name: str) -> Event:
    event = EVENTS.get(name)
    if event is not None:
        return event
    import difflib  # only on this error path, to keep start-up cheap

    close = difflib.get_close_matches(name.lower(), EVENTS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UsageError(f"unknown event '{name}'{hint}: run `quaynotify events` to list them")
