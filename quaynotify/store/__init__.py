"""The state: the journal, rule health, the notification area's records and e-mail
authorizations, each record kind behind one interface, on one backend (db.py): SQLite in the
state directory, or a PostgreSQL database that many machines share, with the local SQLite
state as its spool while it cannot be reached (spool.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quaynotify.store.authorizations import Authorizations
from quaynotify.store.db import Backend, sqlite_backend
from quaynotify.store.health import Health
from quaynotify.store.inbox import Inbox
from quaynotify.store.journal import Journal, first_time, from_json
from quaynotify.store.spool import INBOX, JOURNAL, Spool

# What `state info` counts: a table for each record kind.
COUNTED = {
    "deliveries": "delivery",
    "attempts": "attempt",
    "notifications": "inbox",
    "authorizations": "authorized_email",
}


@dataclass(frozen=True)
class Synced:
    """What one upload of the spool did."""

    batches: int  # uploaded now
    skipped: int  # found uploaded already (a run ended between the upload and forgetting it)
    deliveries: int
    notifications: int


class Store:
    """What the rest of the code holds: `store.journal.record(...)`, `store.health.reset(id)`,
    `store.inbox.add(...)`, `store.authorizations.confirm(code)`. The backend connects on
    first use, so holding a Store costs nothing until a record kind is used. A `spool` (the
    local state, for a shared backend) keeps what cannot reach the backend."""

    def __init__(self, backend: Backend, spool: Spool | None = None) -> None:
        self.backend = backend
        self.spool = spool
        self.synced: Synced | None = None  # what this run uploaded from the spool
        self.health = Health(backend)
        self.journal = Journal(backend, self.health, spool)
        self.inbox = Inbox(backend, spool)
        self.authorizations = Authorizations(backend)

    def exists(self) -> bool:
        """Whether the database has been created: reading commands do not create it."""
        return self.backend.exists()

    @property
    def unreachable(self) -> str | None:
        """Why the shared database could not be reached in this run, if it could not."""
        return getattr(self.backend, "down", None)

    def counts(self) -> dict[str, int]:
        """How many records of each kind the state holds (none when it was never created)."""
        if not self.exists():
            return dict.fromkeys(COUNTED, 0)
        return {
            name: int(self.backend.read(f"SELECT COUNT(*) FROM {table}")[0][0])
            for name, table in COUNTED.items()
        }

    def sync(self) -> Synced:
        """Upload what the spool kept, oldest first, each batch exactly once, forgetting
        each from the spool once it is in the shared database."""
        self.synced = Synced(0, 0, 0, 0)  # from here on, reaching the database does not sync
        uploaded = skipped = deliveries = notifications = 0
        self.backend.exists()  # reached (and ready) before the spool is read
        for kept in self.spool.kept() if self.spool else ():
            if kept.kind == JOURNAL:
                records, disable_after = from_json(kept.payload)
                with self.backend.write() as tx:
                    new = first_time(tx, kept.batch)
                    if new:
                        self.journal.write_in(tx, records, disable_after)
                deliveries += len(records) if new else 0
            elif kept.kind == INBOX:
                rows = kept.payload["rows"]
                with self.backend.write() as tx:
                    new = first_time(tx, kept.batch)
                    if new:
                        tx.executemany(Inbox.INSERT, rows)
                notifications += len(rows) if new else 0
            else:
                continue  # a kind a newer quaynotify kept: left for it
            uploaded, skipped = uploaded + new, skipped + (not new)
            assert self.spool is not None
            self.spool.forget(kept.batch)
        self.synced = Synced(uploaded, skipped, deliveries, notifications)
        return self.synced

    def _sync_when_reached(self) -> None:
        if self.synced is None:
            self.sync()

    def close(self) -> None:
        self.backend.close()
        if self.spool is not None:
            self.spool.local.close()


def open_store(directory: Path, url: str | None = None, schema: str | None = None) -> Store:
    """The state in `directory` (SQLite, `state.db`), or with a PostgreSQL `url` the shared
    state in that database (in `schema`), spooling to `directory` while it cannot be reached.
    Nothing is opened until it is used."""
    if url is None:
        return Store(sqlite_backend(directory))
    from quaynotify.store.postgres import PostgresBackend

    backend = PostgresBackend(url, schema)
    store = Store(backend, Spool(sqlite_backend(directory)))
    # The next run that reaches the database uploads what an earlier one could not.
    backend.when_ready(store._sync_when_reached)
    return store
