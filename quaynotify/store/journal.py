"""The journal: every delivery and its attempts, as recorded; a recorded batch also counts
towards each rule's failure breaker (health.py), in the same transaction."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from quaynotify.errors import NotFoundError, StateUnreachable

if TYPE_CHECKING:
    from quaynotify.store.db import Backend, Transaction
    from quaynotify.store.health import Health
    from quaynotify.store.spool import Spool

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


_COLUMNS = (
    "id, created, updated, event, repository, rule_id, method, status, error, performer, data"
)
_UPSERT_DELIVERY = (
    f"INSERT INTO delivery ({_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET updated = excluded.updated,"
    " rule_id = excluded.rule_id, method = excluded.method,"
    " status = excluded.status, error = excluded.error"
)
# A replayed delivery continues its attempt numbers.
_INSERT_ATTEMPT = (
    "INSERT INTO attempt (delivery_id, number, started, duration, ok, status,"
    " message) VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1 FROM attempt"
    " WHERE delivery_id = ?), ?, ?, ?, ?, ?)"
)


# A batch is recorded once: one whose id is in `upload` already is not recorded again.
_FIRST_TIME = "INSERT INTO upload (batch, created) VALUES (?, ?) ON CONFLICT (batch) DO NOTHING"


class Journal:
    """The delivery and attempt tables. With a spool (a shared database's local fallback),
    a batch that cannot reach the database is kept there, to be uploaded later."""

    def __init__(self, backend: Backend, health: Health, spool: Spool | None = None) -> None:
        self._db = backend
        self._health = health
        self._spool = spool

    def record(
        self,
        deliveries: Sequence[DeliveryRecord],
        *,
        disable_after: int | None = None,
        batch: str | None = None,
    ) -> list[str]:
        """Journal deliveries and their attempts; a replayed id continues its attempt numbers.

        With `disable_after`, each delivery also counts towards its rule's consecutive
        failures (skipped and interrupted ones do not: the receiver did not fail); returns
        the ids of rules this disabled. A `batch` id records the batch once, however many
        times it is recorded (an upload from the spool)."""
        if not deliveries:
            return []
        if self._spool is None:
            return self._write(deliveries, disable_after, batch)
        batch = batch or str(uuid.uuid4())
        try:
            return self._write(deliveries, disable_after, batch)
        except StateUnreachable:
            from quaynotify.store.spool import JOURNAL

            self._spool.keep(batch, JOURNAL, to_json(deliveries, disable_after))
            return []

    def _write(
        self, deliveries: Sequence[DeliveryRecord], disable_after: int | None, batch: str | None
    ) -> list[str]:
        with self._db.write() as tx:
            if batch is not None and not first_time(tx, batch):
                return []
            return self.write_in(tx, deliveries, disable_after)

    def write_in(
        self, tx: Transaction, deliveries: Sequence[DeliveryRecord], disable_after: int | None
    ) -> list[str]:
        """Journal deliveries (as `record` does) in the transaction `tx`."""
        deliveries = [_storable(d) for d in deliveries]
        # A handful of statements per batch, not per delivery: a fan-out journals a thousand
        # deliveries from the main thread while the workers wait for the GIL.
        tx.executemany(
            _UPSERT_DELIVERY,
            [
                (d.id, d.created, d.updated, d.event, d.repository, d.rule_id, d.method,
                 d.status, d.error, d.performer, json.dumps(d.data))
                for d in deliveries
            ],
        )  # fmt: skip
        tx.executemany(
            _INSERT_ATTEMPT,
            [
                (d.id, d.id, a.started, a.duration, int(a.ok), a.status, a.message)
                for d in deliveries
                for a in d.attempts
            ],
        )
        if disable_after is None:
            return []
        return self._health.count(tx, deliveries, disable_after)

    def deliveries(
        self,
        *,
        failed: bool = False,
        rule_id: str | None = None,
        event: str | None = None,
        since: float | None = None,
        repository: str | None = None,
        limit: int | None = 50,
    ) -> list[DeliveryRecord]:
        """Journaled deliveries, newest first, with their attempts; none when the database
        has not been created (reading it does not create it)."""
        if not self._db.exists():
            return []
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
        if repository:
            where.append("repository = ?")
            params.append(repository)
        sql = f"SELECT {_COLUMNS} FROM delivery"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY updated DESC, {self._db.insertion_order} DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._db.read(sql, params)
        return [_delivery(row, self._attempts(row[0])) for row in rows]

    def delivery(self, id_or_prefix: str) -> DeliveryRecord:
        """One journaled delivery with every attempt; any unique prefix of its id."""
        prefix = id_or_prefix.strip().lower()
        rows = self._db.read(
            f"SELECT {_COLUMNS} FROM delivery WHERE id >= ? AND id < ? LIMIT 2",
            (prefix, prefix + "\uffff"),
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
        return _delivery(rows[0], self._attempts(rows[0][0]))

    def _attempts(self, delivery_id: str) -> tuple[Attempt, ...]:
        rows = self._db.read(
            "SELECT number, started, duration, ok, status, message FROM attempt"
            " WHERE delivery_id = ? ORDER BY number",
            (delivery_id,),
        )
        return tuple(Attempt(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows)

    def prune(self, keep_days: float, *, now: float | None = None) -> int:
        """Forget deliveries older than `keep_days`, with their attempts; returns how many."""
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        try:
            with self._db.write() as tx:
                if not tx.try_lock("prune"):
                    return 0  # another process is pruning: once is enough
                tx.execute("DELETE FROM upload WHERE created < ?", (cutoff,))
                return tx.execute("DELETE FROM delivery WHERE updated < ?", (cutoff,)).rowcount
        except StateUnreachable:
            if self._spool is None:
                raise
            return 0  # the next run that reaches the database prunes it


# PostgreSQL's text cannot hold a NUL (SQLite's can): a receiver's reply journaled as received
# (an SMTP server's, say) would fail the whole batch there. Both backends keep U+FFFD in its
# place, as they do for bytes that were not UTF-8.
_NUL = "\x00"
_STANDIN = "\ufffd"


def _text(value: str | None) -> str | None:
    return value.replace(_NUL, _STANDIN) if value and _NUL in value else value


def _storable(d: DeliveryRecord) -> DeliveryRecord:
    """The delivery with no NUL in its free text (its error, performer, attempt messages)."""
    texts = [d.error, d.performer, *(a.message for a in d.attempts)]
    if not any(t and _NUL in t for t in texts):
        return d  # nearly always: nothing copied
    attempts = tuple(replace(a, message=_text(a.message) or "") for a in d.attempts)
    return replace(d, error=_text(d.error), performer=_text(d.performer), attempts=attempts)


def first_time(tx: Transaction, batch: str) -> bool:
    """Mark the batch recorded, in the transaction that records it; False when it was."""
    return tx.execute(_FIRST_TIME, (batch, time.time())).rowcount == 1


def to_json(deliveries: Sequence[DeliveryRecord], disable_after: int | None) -> dict[str, Any]:
    """A batch of deliveries as JSON, as the spool keeps it."""
    return {
        "disable_after": disable_after,
        "deliveries": [
            {**d.__dict__, "attempts": [a.__dict__ for a in d.attempts]} for d in deliveries
        ],
    }


def from_json(payload: dict[str, Any]) -> tuple[list[DeliveryRecord], int | None]:
    """The deliveries of a batch `to_json` wrote, and the breaker setting they count with."""
    deliveries = [
        DeliveryRecord(**{**d, "attempts": tuple(Attempt(**a) for a in d["attempts"])})
        for d in payload["deliveries"]
    ]
    return deliveries, payload["disable_after"]


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
