"""The state database (SQLite): the journal of deliveries and attempts, and rule health."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quaynotify.errors import NotFoundError, StateError
from quaynotify.store import db as statedb

if TYPE_CHECKING:
    import sqlite3

INTERRUPTED = "interrupted"  # a delivery status: Ctrl-C or SIGTERM came before it finished


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery: what happened, when, how long it took."""

    number: int
    started: float  # epoch seconds
    duration: float
    ok: bool
    status: int | None  # HTTP status or SMTP reply code, when there was one
    message: str


@dataclass(frozen=True)
class DeliveryRecord:
    """One rule x one event, as journaled. `status` is succeeded, failed, skipped (disabled
    by the breaker) or interrupted (Ctrl-C or SIGTERM came first)."""

    id: str
    event: str
    repository: str
    rule_id: str
    method: str
    status: str
    data: dict[str, Any]
    error: str | None = None
    performer: str | None = None
    attempts: tuple[Attempt, ...] = ()
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class RuleHealth:
    rule_id: str
    failures: int
    disabled: bool
    last_error: str | None


class State:
    """A connection to the state database, opened on first use; safe across processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "state.db"
        self._conn: sqlite3.Connection | None = None

    def exists(self) -> bool:
        """Whether the database has been created; a StateError when the state directory is
        not a directory (so that reading commands fail as writing ones do)."""
        if self.directory.exists() and not self.directory.is_dir():
            raise StateError(
                f"state directory {self.directory} is not a directory: point --state-dir "
                "(or QUAYNOTIFY_STATE_DIR) at a directory"
            )
        return self.path.exists()

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = statedb.connect(self.path)
        return self._conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: writers queue on the busy timeout)."""
        import sqlite3

        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the state database {self.path}: {exc}") from exc

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one query, outside any explicit transaction."""
        import sqlite3

        try:
            return self._connect().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StateError(f"cannot read the state database {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- journal ----------------------------------------------------------------------------

    def record(
        self, deliveries: Sequence[DeliveryRecord], *, disable_after: int | None = None
    ) -> list[str]:
        """Journal deliveries and their attempts; a replayed id continues its attempt numbers.

        With `disable_after`, each delivery also counts towards its rule's consecutive
        failures (skipped and interrupted ones do not: the receiver did not fail); returns
        the ids of rules this disabled."""
        newly_disabled: list[str] = []
        if not deliveries:
            return newly_disabled
        # A handful of statements per batch, not per delivery: a fan-out journals a thousand
        # deliveries from the main thread while the workers wait for the GIL.
        with self.write() as conn:
            conn.executemany(
                "INSERT INTO delivery (id, created, updated, event, repository, rule_id,"
                " method, status, error, performer, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET updated = excluded.updated,"
                " rule_id = excluded.rule_id, method = excluded.method,"
                " status = excluded.status, error = excluded.error",
                [
                    (
                        d.id,
                        d.created,
                        d.updated,
                        d.event,
                        d.repository,
                        d.rule_id,
                        d.method,
                        d.status,
                        d.error,
                        d.performer,
                        json.dumps(d.data),
                    )
                    for d in deliveries
                ],
            )
            # A replayed delivery continues its attempt numbers.
            conn.executemany(
                "INSERT INTO attempt (delivery_id, number, started, duration, ok, status,"
                " message) VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1 FROM attempt"
                " WHERE delivery_id = ?), ?, ?, ?, ?, ?)",
                [
                    (d.id, d.id, a.started, a.duration, a.ok, a.status, a.message)
                    for d in deliveries
                    for a in d.attempts
                ],
            )
            if disable_after is not None:
                now = time.time()
                successes: list[tuple[str, float]] = []
                for d in deliveries:  # in order: the breaker counts consecutive failures
                    if d.status in ("skipped", INTERRUPTED):
                        continue
                    if d.ok:
                        successes.append((d.rule_id, now))
                        continue
                    self._succeeded(conn, successes)
                    if self._failed(conn, d.rule_id, d.error, disable_after, now):
                        newly_disabled.append(d.rule_id)
                self._succeeded(conn, successes)
        return newly_disabled

    def deliveries(
        self,
        *,
        failed: bool = False,
        rule_id: str | None = None,
        event: str | None = None,
        since: float | None = None,
        limit: int | None = 50,
    ) -> list[DeliveryRecord]:
        """Journaled deliveries, newest first, with their attempt counts (not the attempts)."""
        where, params = [], []  # type: tuple[list[str], list[Any]]
        if failed:
            where.append("status != 'succeeded'")
        if rule_id:
            where.append("rule_id = ?")
            params.append(rule_id)
        if event:
            where.append("event = ?")
            params.append(event)
        if since is not None:
            where.append("updated >= ?")
            params.append(since)
        sql = "SELECT * FROM delivery"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self.read(sql, params)
        return [self._delivery(row, self._attempts(row[0])) for row in rows]

    def delivery(self, id_or_prefix: str) -> DeliveryRecord:
        """One journaled delivery with every attempt; any unique prefix of its id."""
        prefix = id_or_prefix.strip().lower()
        rows = self.read(
            "SELECT * FROM delivery WHERE id >= ? AND id < ? LIMIT 2", (prefix, prefix + "\uffff")
        )
        if not rows or not prefix:
            raise NotFoundError(
                f"no delivery with id {id_or_prefix!r} in the journal: "
                "run `quaynotify log` to list them"
            )
        if len(rows) > 1:
            raise NotFoundError(
                f"delivery id prefix {id_or_prefix!r} is ambiguous: give more of it"
            )
        return self._delivery(rows[0], self._attempts(rows[0][0]))

    def _attempts(self, delivery_id: str) -> tuple[Attempt, ...]:
        rows = self.read(
            "SELECT number, started, duration, ok, status, message FROM attempt"
            " WHERE delivery_id = ? ORDER BY number",
            (delivery_id,),
        )
        return tuple(Attempt(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows)

    @staticmethod
    def _delivery(row: Sequence[Any], attempts: tuple[Attempt, ...]) -> DeliveryRecord:
        (id_, created, updated, event, repository, rule_id, method, status, error, performer,
         data) = row  # fmt: skip
        return DeliveryRecord(
            id=id_,
            event=event,
            repository=repository,
            rule_id=rule_id,
            method=method,
            status=status,
            data=json.loads(data),
            error=error,
            performer=performer,
            attempts=attempts,
            created=created,
            updated=updated,
        )

    def prune(self, keep_days: float, *, now: float | None = None) -> int:
        """Forget deliveries older than `keep_days`; returns how many were removed."""
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        with self.write() as conn:
            return conn.execute("DELETE FROM delivery WHERE updated < ?", (cutoff,)).rowcount

    # -- rule health (the failure breaker) ----------------------------------------------------

    def health(self, rule_ids: Sequence[str] | None = None) -> dict[str, RuleHealth]:
        rows = self.read("SELECT rule_id, failures, disabled, last_error FROM rule_health")
        wanted = None if rule_ids is None else set(rule_ids)
        return {
            r[0]: RuleHealth(r[0], r[1], bool(r[2]), r[3])
            for r in rows
            if wanted is None or r[0] in wanted
        }

    @staticmethod
    def _succeeded(conn: sqlite3.Connection, successes: list[tuple[str, float]]) -> None:
        """Reset the breaker of rules that just delivered (and empty the list)."""
        conn.executemany(
            "INSERT INTO rule_health (rule_id, failures, disabled, last_error, updated)"
            " VALUES (?, 0, 0, NULL, ?) ON CONFLICT (rule_id) DO UPDATE SET"
            " failures = 0, disabled = 0, last_error = NULL, updated = excluded.updated",
            successes,
        )
        successes.clear()

    @staticmethod
    def _failed(
        conn: sqlite3.Connection, rule_id: str, error: str | None, disable_after: int, now: float
    ) -> bool:
        """Count a failed delivery towards the rule's breaker; True when this disabled it."""
        failures, disabled = conn.execute(
            "INSERT INTO rule_health (rule_id, failures, disabled, last_error, updated)"
            " VALUES (?, 1, 0, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET"
            " failures = failures + 1, last_error = excluded.last_error,"
            " updated = excluded.updated RETURNING failures, disabled",
            (rule_id, error, now),
        ).fetchone()
        if disable_after > 0 and failures >= disable_after and not disabled:
            conn.execute("UPDATE rule_health SET disabled = 1 WHERE rule_id = ?", (rule_id,))
            return True
        return False

    def reset(self, rule_id: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM rule_health WHERE rule_id = ?", (rule_id,))
