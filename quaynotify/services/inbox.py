"""The notification area (Quay's bell) as users see it: records from the store, worded as the
bell words them; and the writer the quay_notification method delivers through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from quaynotify.errors import DeliveryError, StateError

if TYPE_CHECKING:
    from quaynotify.notification_area import NewRecord
    from quaynotify.store import Store
    from quaynotify.store.inbox import InboxRecord


class Inbox:
    """The notification area of one state: an InboxWriter for the delivery pool's threads."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, records: Sequence[NewRecord]) -> list[str]:
        """Store the records in one transaction; return their new ids. A state that cannot
        be written fails the delivery."""
        try:
            return self.store.inbox.add(records)
        except StateError as exc:
            raise DeliveryError(f"cannot write the notification area: {exc}") from None

    def visible(
        self, user: str, orgs: Sequence[str] = (), *, include_dismissed: bool = False
    ) -> list[InboxRecord]:
        """What `user` sees, newest first: records targeting them, and records targeting the
        organisations `orgs` (those they administer)."""
        return self.store.inbox.visible(user, orgs, include_dismissed=include_dismissed)

    def get(self, id_or_prefix: str) -> InboxRecord:
        """One record, dismissed or not, by its id or any unique prefix of it."""
        return self.store.inbox.get(id_or_prefix)

    def dismiss(self, ids_or_prefixes: Sequence[str]) -> list[InboxRecord]:
        """Dismiss records (an org record once, for every admin); one unknown id dismisses
        none of them."""
        return self.store.inbox.dismiss(ids_or_prefixes)

    @staticmethod
    def message(record: InboxRecord) -> str:
        """The one-line message the bell shows for the record."""
        return message(record.kind, record.metadata)


# -- messages: Quay's old-UI bell wording (static/js/services/notification-service.js) ----------

_BUILDS = {
    "build_queued": "A build has been queued",
    "build_start": "A build has been started",
    "build_success": "A build has succeeded",
    "build_failure": "A build has failed",
    "build_cancelled": "A build was cancelled",
}
_MIRRORS = {
    "repo_mirror_sync_started": "started",
    "repo_mirror_sync_success": "successful",
    "repo_mirror_sync_failed": "unsuccessful",
}


def message(kind: str, metadata: Mapping[str, Any]) -> str:
    """The one-line message the bell shows for a record of this kind."""
    repository = metadata.get("repository", "")
    if kind == "repo_push":
        tags = metadata.get("updated_tags")
        if tags:
            # Old event data held a mapping of tag -> image; the UI listed its keys.
            names = tags.keys() if isinstance(tags, Mapping) else tags
            updated = ", ".join(str(t) for t in names)
            return (
                f"Repository {repository} has been pushed with the following tags updated: "
                f"{updated}"
            )
        return f"Repository {repository} has been pushed"
    if kind in _BUILDS:
        return f"{_BUILDS[kind]} for repository {repository}"
    if kind == "vulnerability_found":
        vulnerability = metadata.get("vulnerability")
        priority = vulnerability.get("priority") if isinstance(vulnerability, Mapping) else None
        return f"A {priority or 'Unknown'} vulnerability was detected in repository {repository}"
    if kind in _MIRRORS:
        return f"Repository Mirror {_MIRRORS[kind]} for {metadata.get('message') or repository}"
    return f"{kind} for repository {repository}"
