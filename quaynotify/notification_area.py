"""A record for the notification area (Quay's bell), as the quay_notification method hands it
over, and where it hands it: the value both the method and the store know."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class NewRecord:
    """A record to put in the notification area: Quay's Notification row, minus id and time."""

    kind: str  # the event name
    target_kind: str  # "user" (team members get one each) or "org" (one shared by its admins)
    target: str
    repository: str
    delivery_id: str
    metadata: Mapping[str, Any]


class InboxWriter(Protocol):
    """Where the method puts records (quaynotify.services.inbox.Inbox). Called from the
    delivery pool's threads: an implementation must be safe to call concurrently."""

    def add(self, records: Sequence[NewRecord]) -> Sequence[str]:
        """Store every record in one transaction; return their ids."""
        ...
