"""The push event: tags were pushed to the repository (Quay's RepoPushEvent)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from quaynotify.catalogue.event import Event, Message, ViewValues
from quaynotify.catalogue.fields import fields


def _view(data: Mapping[str, Any], values: ViewValues) -> dict[str, Any]:
    return {"updated_tags": values.tags(data.get("updated_tags"))}


def _bell(data: Mapping[str, Any]) -> str:
    repository = data.get("repository", "")
    tags = data.get("updated_tags")
    if not tags:
        return f"Repository {repository} has been pushed"
    # Old event data held a mapping of tag -> image; the UI listed its keys.
    names = tags.keys() if isinstance(tags, Mapping) else tags
    updated = ", ".join(str(t) for t in names)
    return f"Repository {repository} has been pushed with the following tags updated: {updated}"


REPO_PUSH = Event(
    name="repo_push",
    title="Push to Repository",
    description="tags were pushed to the repository",
    required=fields("updated_tags"),
    fixed_level="primary",
    summary_format="Repository {repository} updated",
    message=Message("repo_push.j2", _view),
    bell=_bell,
    sample_template=MappingProxyType({"updated_tags": ["latest", "foo"], "pruned_image_count": 3}),
)
