"""The spool: what was to be written to a shared state database that could not be reached,
kept in the local SQLite state until it can be. Each kept batch has an id, recorded in the
shared database in the transaction that uploads it: a batch is uploaded exactly once, even
when a run ends between the upload and forgetting it here."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quaynotify.store.db import Backend

JOURNAL = "journal"  # a batch of deliveries, with the breaker setting they count with
INBOX = "inbox"  # a batch of notification-area rows


@dataclass(frozen=True)
class Kept:
    """One batch in the spool."""

    batch: str
    kind: str
    created: float
    payload: dict[str, Any]


class Spool:
    """The spool table of the local state. Called from any thread: each call has a
    connection of its own."""

    def __init__(self, local: Backend) -> None:
        self.local = local

    def keep(self, batch: str, kind: str, payload: dict[str, Any]) -> None:
        with self.local.separate() as db, db.write() as tx:
            tx.execute(
                "INSERT INTO spool (batch, kind, created, payload) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (batch) DO NOTHING",
                (batch, kind, time.time(), json.dumps(payload)),
            )

    def kept(self) -> list[Kept]:
        """The batches kept, oldest first; none when there is no local state at all."""
        with self.local.separate() as db:
            if not db.exists():
                return []
            rows = db.read(
                "SELECT batch, kind, created, payload FROM spool ORDER BY created, rowid"
            )
        return [Kept(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def forget(self, batch: str) -> None:
        with self.local.separate() as db, db.write() as tx:
            tx.execute("DELETE FROM spool WHERE batch = ?", (batch,))
