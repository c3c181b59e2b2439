"""The notification area (Quay's bell) as users see it: records from the store, worded as the
bell words them; and the writer the quay_notification method delivers through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from quaynotify.catalogue.events import EVENTS
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


def message(kind: str, metadata: Mapping[str, Any]) -> str:
    """The one-line message the bell shows for a record of this kind: the event's own
    wording, or a plain one for a kind the catalogue does not word (or no longer knows)."""
    event = EVENTS.get(kind)
    if event is not None and event.bell is not None:
        return event.bell(metadata)
    return f"{kind} for repository {metadata.get('repository', '')}"
