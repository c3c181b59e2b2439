"""Looking at the state a test's commands left, on whichever backend the `backend` fixture of
conftest.py chose: through a Store opened as the CLI opens it (the `store` fixture), never by
opening the SQLite file, so that a PostgreSQL run checks the PostgreSQL database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from quaynotify.store import Store

# A test (or, as `pytestmark`, a module) that depends on the state runs once per backend.
on_both_backends = pytest.mark.usefixtures("backend")


def created(store: Store) -> bool:
    """Whether anything has created the state: the SQLite database, or for PostgreSQL the
    schema in its database, or the local spool beside it. Reading commands must not."""
    return store.exists() or (store.spool is not None and store.spool.local.exists())


def rows(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one query (`?` placeholders), as tuples, from the state's own database."""
    return [tuple(row) for row in store.backend.read(sql, params)]


def execute(store: Store, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement (`?` placeholders) in a write transaction of its own, as another
    process would: for a test that makes the state as time or a fault would have left it.
    Returns how many rows it changed."""
    with store.backend.write() as tx:
        return tx.execute(sql, params).rowcount


def tables(store: Store) -> list[str]:
    """The names of the state's tables, as its backend's catalogue lists them."""
    if store.backend.kind == "sqlite":
        listed = rows(store, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    else:
        listed = rows(
            store,
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() ORDER BY table_name",
        )
    return [name for (name,) in listed]


def everything_stored(store: Store) -> str:
    """Every row of every table of the state, as text: what someone reading the database
    (or a dump of it) would see, for tests that no secret is kept there."""
    if not store.exists():
        return ""
    return "\n".join(
        repr(row) for table in tables(store) for row in rows(store, f"SELECT * FROM {table}")
    )


def stored_bytes(store: Store, state_dir: Path) -> bytes:
    """All the state keeps, as bytes: every file of the state dir (the SQLite database with
    its WAL, or a PostgreSQL state's spool), and every row of the state's tables."""
    files = sorted(p for p in state_dir.iterdir() if p.is_file()) if state_dir.is_dir() else []
    return b"".join(p.read_bytes() for p in files) + everything_stored(store).encode()
