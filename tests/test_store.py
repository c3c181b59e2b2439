"""The store: every record kind through one Store, on every backend (the `store` fixture of
conftest.py: SQLite, then PostgreSQL), and the SQLite file itself: a version-1 database from
before the store was split still works."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers.state import created, rows

from quaynotify.errors import NotFoundError, StateError
from quaynotify.notification_area import NewRecord
from quaynotify.store import Store, open_store
from quaynotify.store.journal import INTERRUPTED, Attempt, DeliveryRecord
from quaynotify.store.sqlite import SCHEMA_VERSION

BASE = DeliveryRecord(
    id="",
    event="repo_push",
    repository="acme/web",
    rule_id="r1",
    method="webhook",
    status="succeeded",
    data={"repository": "acme/web"},
    created=1000.0,
    updated=1000.0,
)


def delivery(id_: str, rule_id: str = "r1", status: str = "succeeded", **kw: Any) -> DeliveryRecord:
    return replace(BASE, id=id_, rule_id=rule_id, status=status, **kw)


def attempt(ok: bool, message: str = "") -> Attempt:
    return Attempt(
        number=1, started=1000.0, duration=0.5, ok=ok, status=200 if ok else 500, message=message
    )


# -- reading creates nothing ----------------------------------------------------------------------


def test_reading_an_absent_store_creates_nothing(store: Store) -> None:
    assert not created(store)
    assert store.journal.deliveries() == []
    assert store.health.of() == {}
    assert store.inbox.visible("alice", ["acme"]) == []
    assert store.authorizations.of() == []
    assert not store.authorizations.is_confirmed("acme/web", "dev@example.com")
    assert store.authorizations.confirm("ABCDEFGHJKLMNPQR") is None
    with pytest.raises(NotFoundError):
        store.inbox.get("0")
    assert not created(store)


# -- the journal --------------------------------------------------------------------------------


def test_the_journal_keeps_deliveries_and_continues_attempt_numbers(store: Store) -> None:
    store.journal.record([delivery("d1", status="failed", attempts=(attempt(False, "500"),))])
    # A replay of d1 (same id) adds its attempts after the first, and updates the status.
    store.journal.record(
        [
            delivery("d1", attempts=(attempt(True, "200"),), updated=2000.0),
            delivery("d2", updated=1500.0),
        ]
    )
    d1 = store.journal.delivery("d1")
    assert (d1.status, d1.updated) == ("succeeded", 2000.0)
    assert [(a.number, a.ok, a.message) for a in d1.attempts] == [
        (1, False, "500"),
        (2, True, "200"),
    ]
    assert [d.id for d in store.journal.deliveries()] == ["d1", "d2"]  # newest first
    assert [d.id for d in store.journal.deliveries(since=1800.0)] == ["d1"]
    assert store.journal.deliveries(failed=True) == []


def test_journal_lookups_by_prefix(store: Store) -> None:
    store.journal.record([delivery("abc1"), delivery("abc2"), delivery("bcd")])
    assert store.journal.delivery("BCD").id == "bcd"
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.journal.delivery("abc")
    with pytest.raises(NotFoundError, match="no delivery with id 'x'"):
        store.journal.delivery("x")


def test_pruning_forgets_old_deliveries_with_their_attempts(store: Store) -> None:
    day = 86400.0
    store.journal.record(
        [
            delivery("old", updated=10 * day, attempts=(attempt(True),)),
            delivery("new", updated=40 * day, attempts=(attempt(True),)),
        ]
    )
    assert store.journal.prune(30, now=45 * day) == 1
    assert [d.id for d in store.journal.deliveries()] == ["new"]
    assert rows(store, "SELECT delivery_id FROM attempt") == [("new",)]


def test_a_nul_in_free_text_is_kept_as_u_fffd_on_every_backend(store: Store) -> None:
    """PostgreSQL's text cannot hold a NUL: a batch carrying one (a receiver's reply) once
    failed there whole. Both backends keep U+FFFD instead, in the journal and rule health."""
    nul = delivery(
        "n1", status="failed", error="550 no\x00user", attempts=(attempt(False, "550 no\x00user"),)
    )
    assert store.journal.record([nul, delivery("ok", rule_id="r2")], disable_after=3) == []
    kept = store.journal.delivery("n1")
    assert (kept.error, kept.attempts[0].message) == ("550 no\ufffduser", "550 no\ufffduser")
    assert store.health.of(["r1"])["r1"].last_error == "550 no\ufffduser"
    assert store.journal.delivery("ok").status == "succeeded"  # the rest of the batch too


# -- rule health, counted as the journal records ---------------------------------------------------


def test_the_breaker_counts_consecutive_failures_in_the_recorded_order(store: Store) -> None:
    failed = [delivery(f"f{i}", status="failed", error=f"boom {i}") for i in range(2)]
    assert store.journal.record(failed, disable_after=3) == []
    assert store.health.of()["r1"].failures == 2
    # Skipped and interrupted deliveries do not count: the receiver did not fail.
    neutral = [delivery("s", status="skipped"), delivery("i", status=INTERRUPTED)]
    assert store.journal.record(neutral, disable_after=3) == []
    assert store.journal.record(
        [delivery("f2", status="failed", error="last")], disable_after=3
    ) == ["r1"]
    health = store.health.of(["r1"])["r1"]
    assert (health.failures, health.disabled, health.last_error) == (3, True, "last")
    # Disabled once: a fourth failure does not report it again.
    assert store.journal.record([delivery("f3", status="failed")], disable_after=3) == []


def test_a_success_resets_the_breaker_and_reset_forgets_the_rule(store: Store) -> None:
    batch = [
        delivery("a", rule_id="r1", status="failed"),
        delivery("b", rule_id="r1"),
        delivery("c", rule_id="r2", status="failed"),
    ]
    store.journal.record(batch, disable_after=1)
    health = store.health.of()
    assert (health["r1"].failures, health["r1"].disabled) == (0, False)
    assert (health["r2"].failures, health["r2"].disabled) == (1, True)
    store.health.reset("r2")
    assert list(store.health.of()) == ["r1"]
    assert store.health.of(["r3"]) == {}


def test_recording_without_disable_after_leaves_health_alone(store: Store) -> None:
    store.journal.record([delivery("a", status="failed")])
    assert store.health.of() == {}


# -- the notification area's records ------------------------------------------------------------


def record(target_kind: str, target: str, kind: str = "repo_push") -> NewRecord:
    return NewRecord(kind, target_kind, target, "acme/web", "d1", {"repository": "acme/web"})


def test_inbox_records_are_seen_by_their_targets_and_dismissed_once(store: Store) -> None:
    alice, org = store.inbox.add([record("user", "alice"), record("org", "acme")])
    store.inbox.add([record("user", "bob")])
    assert [r.id for r in store.inbox.visible("alice", ["acme"])] == [org, alice]  # newest first
    assert [r.id for r in store.inbox.visible("alice")] == [alice]
    shown = store.inbox.get(org[:8])
    assert (shown.organization, shown.kind, dict(shown.metadata)) == (
        "acme",
        "repo_push",
        {"repository": "acme/web"},
    )
    with pytest.raises(NotFoundError):
        store.inbox.dismiss([alice, "no-such-id"])
    assert not store.inbox.get(alice).dismissed  # one unknown id: none dismissed
    store.inbox.dismiss([org, org])
    assert [r.id for r in store.inbox.visible("carol", ["acme"])] == []
    assert [r.id for r in store.inbox.visible("carol", ["acme"], include_dismissed=True)] == [org]


def test_inbox_add_is_safe_from_many_threads(store: Store) -> None:
    store.health.reset("any")  # the database exists, and this thread holds a connection to it
    ids: list[str] = []
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            ids.extend(store.inbox.add([record("user", f"user{n}")] * 5))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 40
    assert len(store.inbox.visible("user3")) == 5


# -- e-mail authorizations ----------------------------------------------------------------------


def test_an_authorization_keeps_its_code_until_confirmed(store: Store) -> None:
    codes = iter(["TAKEN0000000000A", "TAKEN0000000000A", "FRESH0000000000B"])
    first = store.authorizations.request("acme/web", "a@example.com", lambda: next(codes))
    assert (first.code, first.new, first.authorization.confirmed) == (
        "TAKEN0000000000A",
        True,
        False,
    )
    # Asked again: the same record and code. Another address cannot draw a code in use.
    again = store.authorizations.request("acme/web", "a@example.com", lambda: next(codes))
    assert (again.code, again.new) == ("TAKEN0000000000A", False)
    other = store.authorizations.request("acme/web", "b@example.com", lambda: next(codes))
    assert other.code == "FRESH0000000000B"

    assert not store.authorizations.is_confirmed("acme/web", "a@example.com")
    confirmed = store.authorizations.confirm("TAKEN0000000000A")
    assert confirmed is not None and not confirmed.already
    assert confirmed.authorization.confirmed and confirmed.authorization.confirmed_at is not None
    repeated = store.authorizations.confirm("TAKEN0000000000A")
    assert repeated is not None and repeated.already
    assert store.authorizations.confirm("NOSUCHCODE000000") is None
    assert store.authorizations.is_confirmed("acme/web", "a@example.com")
    assert not store.authorizations.is_confirmed("acme/api", "a@example.com")
    assert [(a.email, a.confirmed) for a in store.authorizations.of("acme/web")] == [
        ("a@example.com", True),
        ("b@example.com", False),
    ]
    assert store.authorizations.of("acme/api") == []


# -- the SQLite file ----------------------------------------------------------------------------
# These are about state.db itself (its schema versions, as a file): SQLite only, on purpose (a
# PostgreSQL schema from a newer quaynotify is one of the shared state's fault tests).

# The schema as quaynotify wrote it before the store was split into record kinds (version 1).
VERSION_1 = """
CREATE TABLE IF NOT EXISTS delivery (
    id          TEXT PRIMARY KEY,
    created     REAL NOT NULL,
    updated     REAL NOT NULL,
    event       TEXT NOT NULL,
    repository  TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    method      TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    performer   TEXT,
    data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_updated ON delivery (updated);
CREATE INDEX IF NOT EXISTS delivery_rule ON delivery (rule_id, created);
CREATE TABLE IF NOT EXISTS attempt (
    delivery_id TEXT NOT NULL REFERENCES delivery (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    started     REAL NOT NULL,
    duration    REAL NOT NULL,
    ok          INTEGER NOT NULL,
    status      INTEGER,
    message     TEXT NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
CREATE TABLE IF NOT EXISTS inbox (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target      TEXT NOT NULL,
    repository  TEXT,
    delivery_id TEXT,
    metadata    TEXT NOT NULL,
    created     REAL NOT NULL,
    dismissed   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_target ON inbox (target_kind, target, created);
CREATE TABLE IF NOT EXISTS authorized_email (
    repository   TEXT NOT NULL,
    email        TEXT NOT NULL,
    code         TEXT NOT NULL UNIQUE,
    confirmed    INTEGER NOT NULL DEFAULT 0,
    created      REAL NOT NULL,
    confirmed_at REAL,
    PRIMARY KEY (repository, email)
);
CREATE TABLE IF NOT EXISTS rule_health (
    rule_id     TEXT PRIMARY KEY,
    failures    INTEGER NOT NULL DEFAULT 0,
    disabled    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated     REAL NOT NULL
);
"""


def schema(path: Path) -> tuple[int, list[tuple[str, str, str]]]:
    with closing(sqlite3.connect(path)) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    return version, rows


def test_a_new_database_has_version_1s_tables_exactly_as_before(
    tmp_path: Path, state_dir: Path
) -> None:
    old = tmp_path / "old.db"
    with closing(sqlite3.connect(old)) as conn:
        conn.executescript(VERSION_1)
        conn.execute("PRAGMA user_version = 1")
    store = open_store(state_dir)
    store.health.reset("any")  # creates the database
    store.close()
    version, rows = schema(state_dir / "state.db")
    assert version == SCHEMA_VERSION == 2
    # Version 2 adds the spool of a shared state and the batches already uploaded.
    added = {"spool", "upload", "upload_created", "sqlite_autoindex_spool_1",
             "sqlite_autoindex_upload_1"}  # fmt: skip
    assert [r for r in rows if r[1] not in added] == schema(old)[1]
    assert {r[1] for r in rows} >= added


def test_a_version_1_database_written_before_the_split_still_works(state_dir: Path) -> None:
    state_dir.mkdir()
    with closing(sqlite3.connect(state_dir / "state.db")) as conn:
        conn.executescript(VERSION_1)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO delivery VALUES ('d0', 1.0, 1.0, 'repo_push', 'acme/web', 'r1',"
            " 'webhook', 'failed', 'boom', NULL, '{}')"
        )
        conn.execute("INSERT INTO attempt VALUES ('d0', 1, 1.0, 0.1, 0, 500, 'HTTP 500')")
        conn.execute("INSERT INTO rule_health VALUES ('r1', 2, 0, 'boom', 1.0)")
        conn.commit()
    store = open_store(state_dir)
    assert [a.message for a in store.journal.delivery("d0").attempts] == ["HTTP 500"]
    assert store.journal.record([delivery("d0", status="failed")], disable_after=3) == ["r1"]
    store.close()
    assert schema(state_dir / "state.db")[0] == SCHEMA_VERSION  # migrated, the rows kept


def test_a_database_of_a_newer_schema_is_refused(state_dir: Path) -> None:
    state_dir.mkdir()
    with closing(sqlite3.connect(state_dir / "state.db")) as conn:
        conn.execute("PRAGMA user_version = 7")
    store = open_store(state_dir)
    with pytest.raises(StateError, match="written by a newer quaynotify"):
        store.health.of()
    assert schema(state_dir / "state.db")[0] == 7
