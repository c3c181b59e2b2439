"""The state: the journal, rule health, the notification area's records and e-mail
authorizations, each record kind behind one interface, on one backend (db.py)."""

from __future__ import annotations

from pathlib import Path

from quaynotify.store.authorizations import Authorizations
from quaynotify.store.db import Backend, sqlite_backend
from quaynotify.store.health import Health
from quaynotify.store.inbox import Inbox
from quaynotify.store.journal import Journal


class Store:
    """What the rest of the code holds: `store.journal.record(...)`, `store.health.reset(id)`,
    `store.inbox.add(...)`, `store.authorizations.confirm(code)`. The backend connects on
    first use, so holding a Store costs nothing until a record kind is used."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.health = Health(backend)
        self.journal = Journal(backend, self.health)
        self.inbox = Inbox(backend)
        self.authorizations = Authorizations(backend)

    def exists(self) -> bool:
        """Whether the database has been created: reading commands do not create it."""
        return self.backend.exists()

    def close(self) -> None:
        self.backend.close()


def open_store(directory: Path) -> Store:
    """The state in `directory` (SQLite, `state.db`); nothing is opened until it is used."""
    return Store(sqlite_backend(directory))
