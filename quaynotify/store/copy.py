"""Copying one state into another (the local SQLite journal into a shared PostgreSQL state):
every record the target does not hold yet, in one transaction, so that copying twice copies
nothing twice and a copy that fails copies nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quaynotify.store.db import Backend

# Each table, its columns, and the key a record already there is known by; parents first.
TABLES: tuple[tuple[str, str, str], ...] = (
    (
        "delivery",
        "id, created, updated, event, repository, rule_id, method, status, error, performer, data",
        "id",
    ),
    (
        "attempt",
        "delivery_id, number, started, duration, ok, status, message",
        "delivery_id, number",
    ),
    (
        "inbox",
        "id, kind, target_kind, target, repository, delivery_id, metadata, created, dismissed",
        "id",
    ),
    (
        "authorized_email",
        "repository, email, code, confirmed, created, confirmed_at",
        "repository, email",
    ),
    ("rule_health", "rule_id, failures, disabled, last_error, updated", "rule_id"),
)
# What `state copy` reports each table as.
NAMES = {
    "delivery": "deliveries",
    "attempt": "attempts",
    "inbox": "notifications",
    "authorized_email": "authorizations",
    "rule_health": "rule health records",
}


def copy_state(source: Backend, target: Backend) -> dict[str, int]:
    """Copy what `target` lacks of `source`'s records; how many of each table were new."""
    copied = dict.fromkeys(NAMES.values(), 0)
    if not source.exists():
        # Nothing to copy, but a target that cannot be reached (or is newer) is still said so,
        # not reported as "copied 0" into a database that a mistyped URL never named.
        target.version()
        return copied
    rows = {
        table: source.read(f"SELECT {columns} FROM {table} ORDER BY {source.insertion_order}")
        for table, columns, _ in TABLES
    }
    with target.write() as tx:
        for table, columns, key in TABLES:
            before = tx.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            marks = ", ".join("?" for _ in columns.split(","))
            tx.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT ({key}) DO NOTHING",
                [tuple(row) for row in rows[table]],
            )
            after = tx.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            copied[NAMES[table]] = int(after) - int(before)
    return copied
