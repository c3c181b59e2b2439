"""The notification area (Quay's bell): quay_notification records in the state database, who
sees which, their one-line messages, and dismissing them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from quaynotify.errors import DeliveryError, NotFoundError, StateError
from quaynotify.methods.quay_notification import NewRecord
from quaynotify.store.state import State

_COLUMNS = "id, kind, target_kind, target, repository, delivery_id, metadata, created, dismissed"


@dataclass(frozen=True)
class InboxRecord:
    """One record of the notification area, as Quay's Notification row."""

    id: str
    kind: str
    target_kind: str  # "user" or "org"
    target: str
    repository: str | None
    delivery_id: str | None
    metadata: Mapping[str, Any]
    created: float  # epoch seconds
    dismissed: bool

    @property
    def organization(self) -> str | None:
        return self.target if self.target_kind == "org" else None

    @property
    def message(self) -> str:
        return message(self.kind, self.metadata)


class Inbox:
    """The records in one state database. `add` may be called from many threads at once."""

    def __init__(self, state: State, *, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self._clock = clock

    def add(self, records: Sequence[NewRecord]) -> list[str]:
        """Store the records in one transaction; return their new ids."""
        if not records:
            return []
        created = self._clock()
        ids = [str(uuid.uuid4()) for _ in records]
        rows = [
            (i, r.kind, r.target_kind, r.target, r.repository, r.delivery_id,
             json.dumps(r.metadata), created)
            for i, r in zip(ids, records, strict=True)
        ]  # fmt: skip
        # The delivery pool calls this from its threads, and an sqlite3 connection belongs to
        # the thread that opened it: each call opens its own (writers queue on the busy timeout).
        state = State(self.state.directory)
        try:
            with state.write() as conn:
                conn.executemany(
                    f"INSERT INTO inbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)", rows
                )
        except StateError as exc:
            raise DeliveryError(f"cannot write the notification area: {exc}") from None
        finally:
            state.close()
        return ids

    def visible(
        self, user: str, orgs: Sequence[str] = (), *, include_dismissed: bool = False
    ) -> list[InboxRecord]:
        """What `user` sees, newest first: records targeting them, and records targeting the
        organisations `orgs` (those they administer)."""
        if not self.state.exists():
            return []  # nothing was ever delivered: do not create the database to say so
        marks = ", ".join("?" for _ in orgs)
        where = "(target_kind = 'user' AND target = ?)"
        if orgs:
            where = f"({where} OR (target_kind = 'org' AND target IN ({marks})))"
        if not include_dismissed:
            where += " AND dismissed = 0"
        rows = self.state.read(
            f"SELECT {_COLUMNS} FROM inbox WHERE {where} ORDER BY created DESC, rowid DESC",
            [user, *orgs],
        )
        return [_record(row) for row in rows]

    def get(self, id_or_prefix: str) -> InboxRecord:
        """One record, dismissed or not, by its id or any unique prefix of it."""
        prefix = id_or_prefix.strip().lower()
        rows = []
        if prefix and self.state.exists():
            rows = self.state.read(
                f"SELECT {_COLUMNS} FROM inbox WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                (prefix, prefix + "\uffff"),
            )
        if not rows:
            raise NotFoundError(
                f"no notification with id {id_or_prefix!r}: "
                "run `quaynotify inbox --all` to list them"
            )
        if len(rows) > 1 and rows[0][0] != prefix:
            raise NotFoundError(
                f"notification id prefix {id_or_prefix!r} is ambiguous: give more of it"
            )
        return _record(rows[0])

    def dismiss(self, ids_or_prefixes: Sequence[str]) -> list[InboxRecord]:
        """Dismiss records (an org record once, for every admin, as Quay does). Every id is
        looked up first, so that one unknown id leaves all of them untouched."""
        records = list({r.id: r for r in map(self.get, ids_or_prefixes)}.values())
        with self.state.write() as conn:
            conn.executemany(
                "UPDATE inbox SET dismissed = 1 WHERE id = ?", [(r.id,) for r in records]
            )
        return records


def _record(row: Sequence[Any]) -> InboxRecord:
    id_, kind, target_kind, target, repository, delivery_id, metadata, created, dismissed = row
    return InboxRecord(
        id=id_,
        kind=kind,
        target_kind=target_kind,
        target=target,
        repository=repository,
        delivery_id=delivery_id,
        metadata=json.loads(metadata),
        created=created,
        dismissed=bool(dismissed),
    )


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
