"""What a state backend is: a database whose schema it migrates in order (refusing one from a
newer quaynotify), and the transactions and queries the record kinds run on it.

The record kinds (journal, health, inbox, authorizations) write their SQL once, with `?`
placeholders, in the subset SQLite and PostgreSQL share (ON CONFLICT, RETURNING); a backend
whose driver wants another placeholder style translates them. What only one database has
(PRAGMAs, file locks, read-only URIs) stays in that backend's module: sqlite.py."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from quaynotify.errors import StateError


class Rows(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Transaction(Protocol):
    """Statements run inside one write transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def try_lock(self, name: str) -> bool:
        """Take the lock `name` until the transaction ends, if no other process holds it:
        for work one process at a time is enough to do (pruning)."""
        ...


class Backend(Protocol):
    """One state database. A backend connects on first use; its connection belongs to the
    thread that made it (another thread asks for `separate()`)."""

    # What the database is ("sqlite", "postgresql"), and where: a path, or a URL without its
    # password, for messages.
    kind: str
    where: str
    # A column that orders rows as they were inserted, for ties of equal timestamps.
    insertion_order: str

    def exists(self) -> bool:
        """Whether the database has been created (reading commands do not create it)."""
        ...

    def write(self) -> AbstractContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back when it raises.
        Writers queue for each other rather than fail."""
        ...

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one query, outside any write transaction."""
        ...

    def separate(self) -> AbstractContextManager[Backend]:
        """The same database on a connection of its own, closed when the block ends: for a
        thread other than the one that uses this backend."""
        ...

    def version(self) -> int:
        """The schema version the database holds (0 when it has not been created)."""
        ...

    def close(self) -> None: ...


def check_version(
    where: str, version: int, known: int, elsewhere: str = "point --state-dir at another directory"
) -> int:
    """`version`, the schema version a database holds; a StateError when a newer quaynotify
    wrote it: its tables may mean what this version cannot know. It is never downgraded."""
    if version > known:
        raise StateError(
            f"the state database {where} was written by a newer quaynotify (schema "
            f"version {version}; this one knows up to {known}): upgrade "
            f"quaynotify, or {elsewhere}"
        )
    return version


def sqlite_backend(directory: Path) -> Backend:
    """The embedded default: `state.db` in the state directory."""
    from quaynotify.store.sqlite import SqliteBackend

    return SqliteBackend(directory)


def statements(migration: str) -> Iterator[str]:
    """A migration's statements, one by one (a driver's run-a-script call may commit the
    transaction the migration runs in)."""
    for statement in migration.split(";"):
        if statement.strip():
            yield statement
