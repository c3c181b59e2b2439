"""The repository mirror events: a sync started, succeeded or failed (Quay's
RepoMirrorSync*Event), which differ only in their words and level."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from quaynotify.catalogue.event import Bell, Event, Message, ViewValues
from quaynotify.catalogue.fields import fields


def _view(data: Mapping[str, Any], values: ViewValues) -> dict[str, Any]:
    return {"message": values.text(data.get("message"))}


def _bell(word: str) -> Bell:
    # The old UI's wording (static/js/services/notification-service.js).
    return lambda data: (
        f"Repository Mirror {word} for {data.get('message') or data.get('repository', '')}"
    )


def _mirror(
    name: str, *, title: str, description: str, level: str, words: tuple[str, str]
) -> Event:
    """`words`: the summary's word, then the bell's."""
    summary_word, bell_word = words
    return Event(
        name=name,
        title=title,
        description=description,
        required=fields("message"),
        fixed_level=level,
        summary_format=f"Repository Mirror {summary_word} for {{message}}",
        # Quay's events/repo_mirror_sync_*.html: the performer, if any, then the message.
        message=Message("mirror.j2", _view),
        bell=_bell(bell_word),
        sample_template=MappingProxyType({"message": "TEST NOTIFICATION"}),
    )


MIRROR_STARTED = _mirror(
    "repo_mirror_sync_started",
    title="Repository mirror started",
    description="a repository mirror sync started",
    level="info",
    words=("started", "started"),
)
MIRROR_SUCCESS = _mirror(
    "repo_mirror_sync_success",
    title="Repository mirror successful",
    description="a repository mirror sync succeeded",
    level="success",
    words=("success", "successful"),
)
MIRROR_FAILED = _mirror(
    "repo_mirror_sync_failed",
    title="Repository mirror unsuccessful",
    description="a repository mirror sync failed",
    level="error",
    words=("failed", "unsuccessful"),
)
