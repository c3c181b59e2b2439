"""The image expiry event: tags are due to expire within the rule's number of days (Quay's
RepoImageExpiryEvent). Quay's notification area has no kind for it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from quaynotify.catalogue.event import Event, Message, ViewValues
from quaynotify.catalogue.fields import fields


def _view(data: Mapping[str, Any], values: ViewValues) -> dict[str, Any]:
    return {
        "expiring_in": values.text(data.get("expiring_in")),
        "tags": values.tags(data.get("tags")),
    }


REPO_IMAGE_EXPIRY = Event(
    name="repo_image_expiry",
    title="Image expiry trigger",
    description="tags are due to expire within the rule's number of days",
    required=fields("tags expiring_in"),
    optional=fields("notification_uuid"),
    filter_key="days",
    fixed_level="info",
    summary_format="Repository {repository} image(s) expiring",
    message=Message("repo_image_expiry.j2", _view),
    bell=None,
    sample_template=MappingProxyType(
        # without days this is "None days", as in Quay
        {"tags": ["latest", "v1"], "expiring_in": lambda config: f"{config.get('days')} days"}
    ),
    # the order Quay's expiry scanner writes them in (util/notification.py)
    field_order=("notification_uuid", "tags", "expiring_in"),
)
