"""The SQLite backend: `state.db` in the state directory, created 0600, in WAL mode so that
concurrent processes read while one writes; its schema migrated in order, one process at a
time; opened read-only where the directory cannot be written."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quaynotify.errors import StateError
from quaynotify.store.db import Rows, check_version, statements

if TYPE_CHECKING:
    import sqlite3

BUSY_TIMEOUT_MS = 60_000

# The tables, by the record kind whose module queries them.
_JOURNAL_1 = """
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
);"""
_INBOX_1 = """
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
CREATE INDEX IF NOT EXISTS inbox_target ON inbox (target_kind, target, created);"""
_AUTHORIZATIONS_1 = """
CREATE TABLE IF NOT EXISTS authorized_email (
    repository   TEXT NOT NULL,
    email        TEXT NOT NULL,
    code         TEXT NOT NULL UNIQUE,
    confirmed    INTEGER NOT NULL DEFAULT 0,
    created      REAL NOT NULL,
    confirmed_at REAL,
    PRIMARY KEY (repository, email)
);"""
_HEALTH_1 = """
CREATE TABLE IF NOT EXISTS rule_health (
    rule_id     TEXT PRIMARY KEY,
    failures    INTEGER NOT NULL DEFAULT 0,
    disabled    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated     REAL NOT NULL
);
"""
# Batches already recorded (an upload of one kept while a shared database was unreachable
# is recorded once), and the batches kept here until it can be reached (spool.py).
_SPOOL_2 = """
CREATE TABLE IF NOT EXISTS upload (
    batch       TEXT PRIMARY KEY,
    created     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS upload_created ON upload (created);
CREATE TABLE IF NOT EXISTS spool (
    batch       TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    created     REAL NOT NULL,
    payload     TEXT NOT NULL
);
"""
# The migrations, in order: MIGRATIONS[n] takes a database from schema version n (PRAGMA
# user_version; 0 is a new, empty file) to n + 1. Each is applied once; a database from a newer
# quaynotify (a higher version) is refused, never taken back to this one's.
MIGRATIONS: tuple[str, ...] = (_JOURNAL_1 + _INBOX_1 + _AUTHORIZATIONS_1 + _HEALTH_1, _SPOOL_2)
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteBackend:
    """`state.db` in `directory`, connected on first use; safe across processes."""

    kind = "sqlite"
    insertion_order = "rowid"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "state.db"
        self.where = str(self.path)
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

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    @contextmanager
    def write(self) -> Iterator[_Transaction]:
        """A write transaction (BEGIN IMMEDIATE: writers queue on the busy timeout)."""
        import sqlite3

        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the state database {self.path}: {exc}") from exc

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        import sqlite3

        try:
            return self._connect().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StateError(f"cannot read the state database {self.path}: {exc}") from exc

    @contextmanager
    def separate(self) -> Iterator[SqliteBackend]:
        # An sqlite3 connection belongs to the thread that opened it; writers on separate
        # connections queue on the busy timeout.
        other = SqliteBackend(self.directory)
        try:
            yield other
        finally:
            other.close()

    def version(self) -> int:
        if not self.exists():
            return 0
        return int(self.read("PRAGMA user_version")[0][0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Transaction:
    """The statements of one write transaction on a connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def try_lock(self, name: str) -> bool:
        return True  # BEGIN IMMEDIATE: this transaction is the only writer already


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the state database at `path`, created 0600 and migrated to this
    version's schema first if need be; a StateError when it cannot be, or is newer. In a
    directory that cannot be written (a read-only mount of a CI cache, say), an existing
    database is opened read-only: reading commands work, writing ones fail with one line."""
    import sqlite3

    if path.is_file() and not os.access(path.parent, os.W_OK):
        return _read_only(path)

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # It holds event data and pending e-mail codes: created 0600 whatever the umask
        # (SQLite would make it 0644), and SQLite gives -wal and -shm the file's mode.
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            if _version(path, conn) < SCHEMA_VERSION:
                _create(path, conn)
        except StateError:
            conn.close()
            raise
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except (sqlite3.Error, OSError) as exc:
        raise StateError(
            f"cannot open the state database {path}: {exc}: "
            "check the path, or point --state-dir at a writable directory"
        ) from exc
    return conn


def _read_only(path: Path) -> sqlite3.Connection:
    import sqlite3

    # Reading a WAL database needs its -wal and -shm files, which cannot be created here: with
    # no -wal the last writer checkpointed and left, and the file alone is the whole database.
    wal = path.with_name(f"{path.name}-wal").exists()
    uri = f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        if _version(path, conn) < SCHEMA_VERSION:
            conn.close()
            raise StateError(
                f"the state database {path} is in a read-only directory and needs upgrading to "
                "this quaynotify's schema: run any command once where it can be written"
            )
    except sqlite3.Error as exc:
        raise StateError(f"cannot open the state database {path} read-only: {exc}") from exc
    return conn


def _version(path: Path, conn: sqlite3.Connection) -> int:
    """The database's schema version; a StateError when a newer quaynotify wrote it."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return check_version(str(path), version, SCHEMA_VERSION)


def _create(path: Path, conn: sqlite3.Connection) -> None:
    """Create or migrate the schema, one process at a time: switching a new database to
    WAL does not wait on SQLite's busy timeout, so twenty processes starting at once would
    see "database is locked". An exclusive lock file beside the database orders them."""
    import fcntl

    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _version(path, conn) < SCHEMA_VERSION:
            _migrate(path, conn)
    finally:
        os.close(fd)  # closing releases the lock


def _migrate(path: Path, conn: sqlite3.Connection) -> None:
    # WAL lets many processes read while one writes; the mode is stored in the file.
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again inside the transaction: another process may have migrated it.
        for version in range(_version(path, conn), SCHEMA_VERSION):
            for statement in statements(MIGRATIONS[version]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
