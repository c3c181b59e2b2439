"""The notification area's records (Quay's Notification rows): adding them from any thread,
who sees which, and dismissing them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quaynotify.errors import NotFoundError, StateUnreachable

if TYPE_CHECKING:
    from quaynotify.notification_area import NewRecord
    from quaynotify.store.db import Backend
    from quaynotify.store.spool import Spool

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


# A record added twice (an upload from the spool of one that reached the database) is one.
_INSERT = (
    f"INSERT INTO inbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO NOTHING"
)


class Inbox:
    """The inbox table. `add` may be called from many threads at once. With a spool (a
    shared database's local fallback), records that cannot reach the database are kept
    there, to be uploaded later."""

    def __init__(self, backend: Backend, spool: Spool | None = None) -> None:
        self._db = backend
        self._spool = spool

    INSERT = _INSERT

    def add(self, records: Sequence[NewRecord]) -> list[str]:
        """Store the records in one transaction; return their new ids."""
        if not records:
            return []
        created = time.time()
        ids = [str(uuid.uuid4()) for _ in records]
        rows = [
            (i, r.kind, r.target_kind, r.target, r.repository, r.delivery_id,
             json.dumps(r.metadata), created)
            for i, r in zip(ids, records, strict=True)
        ]  # fmt: skip
        try:
            self.insert(rows)
        except StateUnreachable:
            if self._spool is None:
                raise
            from quaynotify.store.spool import INBOX

            self._spool.keep(str(uuid.uuid4()), INBOX, {"rows": rows})
        return ids

    def insert(self, rows: Sequence[Sequence[Any]]) -> None:
        """Store rows as `add` makes them (a record already there is left as it is)."""
        # The delivery pool calls this from its threads, and a connection belongs to the
        # thread that opened it: each call has its own (writers queue for each other).
        with self._db.separate() as db, db.write() as tx:
            tx.executemany(self.INSERT, rows)

    def visible(
        self, user: str, orgs: Sequence[str] = (), *, include_dismissed: bool = False
    ) -> list[InboxRecord]:
        """What `user` sees, newest first: records targeting them, and records targeting the
        organisations `orgs` (those they administer)."""
        if not self._db.exists():
            return []  # nothing was ever delivered: do not create the database to say so
        marks = ", ".join("?" for _ in orgs)
        where = "(target_kind = 'user' AND target = ?)"
        if orgs:
            where = f"({where} OR (target_kind = 'org' AND target IN ({marks})))"
        if not include_dismissed:
            where += " AND dismissed = 0"
        order = f"created DESC, {self._db.insertion_order} DESC"
        rows = self._db.read(
            f"SELECT {_COLUMNS} FROM inbox WHERE {where} ORDER BY {order}", [user, *orgs]
        )
        return [_record(row) for row in rows]

    def get(self, id_or_prefix: str) -> InboxRecord:
        """One record, dismissed or not, by its id or any unique prefix of it."""
        prefix = id_or_prefix.strip().lower()
        rows = []
        if prefix and self._db.exists():
            rows = self._db.read(
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
        with self._db.write() as tx:  # rows locked in id order: concurrent dismissals queue
            tx.executemany(
                "UPDATE inbox SET dismissed = 1 WHERE id = ?", sorted((r.id,) for r in records)
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
