"""The PostgreSQL backend: one state shared by every machine that points at the database
(`--state-url`), in a schema of its own when `[state] schema` names one; its tables created
and migrated in order, one process at a time (an advisory lock). psycopg is imported here
alone, and only when the database is first used."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from quaynotify.errors import StateError, StateUnreachable
from quaynotify.masking import mask_url, remember
from quaynotify.store.db import Rows, check_version, statements

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT = 5  # seconds, unless the URL says otherwise: what an unreachable host costs
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
EXTRA = "pip install 'quaynotify[postgres]'"

# The tables, as sqlite.py has them, in PostgreSQL's types. Ids compare byte-wise (COLLATE
# "C") so that a prefix is a range; `seq` orders rows as they were inserted.
_TABLES_1 = """
CREATE TABLE delivery (
    id          TEXT COLLATE "C" PRIMARY KEY,
    created     DOUBLE PRECISION NOT NULL,
    updated     DOUBLE PRECISION NOT NULL,
    event       TEXT NOT NULL,
    repository  TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    method      TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    performer   TEXT,
    data        TEXT NOT NULL,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX delivery_updated ON delivery (updated);
CREATE INDEX delivery_rule ON delivery (rule_id, created);
CREATE TABLE attempt (
    delivery_id TEXT COLLATE "C" NOT NULL REFERENCES delivery (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    started     DOUBLE PRECISION NOT NULL,
    duration    DOUBLE PRECISION NOT NULL,
    ok          INTEGER NOT NULL,
    status      INTEGER,
    message     TEXT NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
CREATE TABLE inbox (
    id          TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target      TEXT NOT NULL,
    repository  TEXT,
    delivery_id TEXT,
    metadata    TEXT NOT NULL,
    created     DOUBLE PRECISION NOT NULL,
    dismissed   INTEGER NOT NULL DEFAULT 0,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX inbox_target ON inbox (target_kind, target, created);
CREATE TABLE authorized_email (
    repository   TEXT NOT NULL,
    email        TEXT NOT NULL,
    code         TEXT NOT NULL UNIQUE,
    confirmed    INTEGER NOT NULL DEFAULT 0,
    created      DOUBLE PRECISION NOT NULL,
    confirmed_at DOUBLE PRECISION,
    PRIMARY KEY (repository, email)
);
CREATE TABLE rule_health (
    rule_id     TEXT PRIMARY KEY,
    failures    INTEGER NOT NULL DEFAULT 0,
    disabled    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated     DOUBLE PRECISION NOT NULL
);
CREATE TABLE upload (
    batch       TEXT PRIMARY KEY,
    created     DOUBLE PRECISION NOT NULL
);
CREATE INDEX upload_created ON upload (created);"""
# The migrations, in order: MIGRATIONS[n] takes a schema from version n (the one row of
# quaynotify_schema; 0 is a new, empty schema) to n + 1. A schema from a newer quaynotify is
# refused, never taken back to this one's.
MIGRATIONS: tuple[str, ...] = (_TABLES_1,)
SCHEMA_VERSION = len(MIGRATIONS)


class _Shared:
    """What a backend and the connections it lends to other threads share: once the
    database has been found unreachable, every later use fails at once, without waiting for
    another connect timeout."""

    def __init__(self) -> None:
        self.down: str | None = None
        self.ready = False  # the schema is known to be this version's


class PostgresBackend:
    """The state in a PostgreSQL database, connected on first use."""

    kind = "postgresql"
    insertion_order = "seq"

    def __init__(
        self, url: str, schema: str | None = None, *, _shared: _Shared | None = None
    ) -> None:
        self.url = url
        self.schema = schema
        self.where = mask_state_url(url) + (f" (schema {schema})" if schema else "")
        self._shared = _shared or _Shared()
        self._conn: psycopg.Connection[Any] | None = None
        self._on_ready: Callable[[], object] | None = None
        password = urlsplit(url).password or dict(parse_qsl(urlsplit(url).query)).get("password")
        if password:
            remember(password)

    @property
    def down(self) -> str | None:
        """Why the database cannot be reached, once it has been found so."""
        return self._shared.down

    def exists(self) -> bool:
        return self._shared.ready or self.version() > 0

    def version(self) -> int:
        conn = self._connect()
        version = self._guard("read", lambda: _schema_version(conn))
        check_version(self.where, version, SCHEMA_VERSION, _ELSEWHERE)
        # Found current, it need not be looked at again in this run (each look is a round
        # trip, and an emit asks whether the state exists before each record kind it reads).
        self._shared.ready = self._shared.ready or version == SCHEMA_VERSION
        return version

    @contextmanager
    def write(self) -> Iterator[_Transaction]:
        import psycopg
        from psycopg.pq import TransactionStatus

        conn = self._ready()
        try:
            # In pipeline mode the statements of a transaction go out together, and the
            # client waits for the server only where it reads a result: a journal batch is
            # two round trips (the batch's mark, then the rest with the commit), not six.
            # BEGIN and COMMIT are sent as statements: psycopg's transaction() would wait
            # for the server at both.
            try:
                with _pipeline(conn) as pipeline:
                    conn.execute("BEGIN")
                    yield _Transaction(conn, pipeline)
                    conn.execute("COMMIT")
            finally:
                if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")  # the block raised, or a statement failed
        except psycopg.Error as exc:
            raise self._failure("write", exc) from exc

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        conn = self._ready()
        return self._guard("read", lambda: conn.execute(_sql(sql), params).fetchall())

    @contextmanager
    def separate(self) -> Iterator[PostgresBackend]:
        other = PostgresBackend(self.url, self.schema, _shared=self._shared)
        try:
            yield other
        finally:
            other.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- connecting ----------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        if self._shared.down is not None:
            raise StateUnreachable(self._shared.down)
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            import logging

            import psycopg
            from psycopg import sql
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            raise StateError(
                f"the state is a PostgreSQL database ({self.where}), and psycopg, its driver, "
                f"is not installed: {EXTRA}"
            ) from None
        # What psycopg logs (an error it ignores while closing a lost connection) is not for
        # the user: the failure itself is reported, once, by the command.
        logging.getLogger("psycopg").handlers[:] = [logging.NullHandler()]
        conninfo = conninfo_to_dict(self.url)
        conninfo.setdefault("connect_timeout", CONNECT_TIMEOUT)
        conninfo.setdefault("application_name", "quaynotify")
        try:
            conn = psycopg.connect(**conninfo, autocommit=True)  # type: ignore[arg-type]
            if self.schema:
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        except psycopg.Error as exc:
            raise self._failure("reach", exc) from exc
        self._conn = conn
        return conn

    def _ready(self) -> psycopg.Connection[Any]:
        """The connection, its schema created or migrated to this version's first."""
        conn = self._connect()
        if not self._shared.ready:
            if self._guard("read", lambda: _schema_version(conn)) != SCHEMA_VERSION:
                self._guard("migrate", lambda: self._migrate(conn))
            self._shared.ready = True
        hook, self._on_ready = self._on_ready, None
        if hook is not None:
            hook()
        return conn

    def when_ready(self, hook: Callable[[], object]) -> None:
        """Call `hook` once, when this backend (not one it lends to another thread) first
        reaches the database and finds it ready."""
        self._on_ready = hook

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        from psycopg import sql

        with conn.transaction():
            # One process at a time; the others wait here, then find the work done.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"quaynotify:{self.schema}",)
            )
            if self.schema:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
            conn.execute("CREATE TABLE IF NOT EXISTS quaynotify_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM quaynotify_schema").fetchone()
            if row is None:
                conn.execute("INSERT INTO quaynotify_schema (version) VALUES (0)")
            version = check_version(self.where, row[0] if row else 0, SCHEMA_VERSION, _ELSEWHERE)
            for migration in MIGRATIONS[version:]:
                for statement in statements(migration):
                    conn.execute(statement)
            conn.execute("UPDATE quaynotify_schema SET version = %s", (SCHEMA_VERSION,))

    # -- errors --------------------------------------------------------------------------------

    def _guard(self, doing: str, call: Callable[[], T]) -> T:
        import psycopg

        try:
            return call()
        except psycopg.Error as exc:
            raise self._failure(doing, exc) from exc

    def _failure(self, doing: str, exc: Exception) -> StateError:
        """A connection that failed or was lost marks the database unreachable for the rest
        of the run; anything else is an error of the statement."""
        import psycopg

        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        conn = self._conn
        lost = conn is None or conn.closed or conn.broken
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) or lost:
            message = f"cannot reach the state database {self.where}: {detail}"
            self._shared.down = message
            self.close()
            return StateUnreachable(message)
        return StateError(f"cannot {doing} the state database {self.where}: {detail}")


_ELSEWHERE = "point --state-url at another database, or [state] schema at another schema"


def _schema_version(conn: psycopg.Connection[Any]) -> int:
    """The schema version the search path's quaynotify_schema holds; 0 when there is none.
    One round trip: a missing table is the statement's error (the connection is in autocommit,
    so no transaction is aborted by it)."""
    from psycopg import errors

    try:
        found = conn.execute("SELECT version FROM quaynotify_schema").fetchone()
    except errors.UndefinedTable:
        return 0
    return int(found[0]) if found else 0


class _Transaction:
    """The statements of one write transaction on a connection, sent in pipeline mode when
    libpq has it (14 and newer)."""

    def __init__(self, conn: psycopg.Connection[Any], pipeline: psycopg.Pipeline | None) -> None:
        self._conn = conn
        self._pipeline = pipeline

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return _Result(self._conn.execute(_sql(sql), params), self._pipeline)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(_sql(sql), rows)

    def try_lock(self, name: str) -> bool:
        row = self._conn.execute(
            "SELECT pg_try_advisory_xact_lock(hashtext(%s))", (f"quaynotify:{name}",)
        ).fetchone()
        return bool(row and row[0])


class _Result:
    """One statement's result. Fetching rows waits for them (psycopg syncs the pipeline);
    so does its row count, which a pipeline leaves unknown until then."""

    def __init__(self, cursor: psycopg.Cursor[Any], pipeline: psycopg.Pipeline | None) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    @property
    def rowcount(self) -> int:
        if self._pipeline is not None:
            self._pipeline.sync()
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


@contextmanager
def _pipeline(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Pipeline | None]:
    """The connection in pipeline mode for the block, or as it is without libpq's support."""
    import psycopg

    if not psycopg.Pipeline.is_supported():
        yield None
        return
    with conn.pipeline() as pipeline:
        yield pipeline


_TRANSLATED: dict[str, Any] = {}


def _sql(statement: str) -> Any:
    """The record kinds' `?` placeholders as psycopg's `%s` (and a literal % doubled)."""
    translated = _TRANSLATED.get(statement)
    if translated is None:
        translated = _TRANSLATED[statement] = statement.replace("%", "%%").replace("?", "%s")
    return translated


# -- URLs ---------------------------------------------------------------------------------------


def is_state_url(value: str) -> bool:
    """Whether `value` is a PostgreSQL URL (postgresql:// or postgres://)."""
    return value.split("://", 1)[0].lower() in SCHEMES and "://" in value


def mask_state_url(url: str) -> str:
    """The URL with its password (in the userinfo or a `password` parameter) masked; the
    user, host, database and the other parameters (sslmode, ...) kept."""
    return mask_url(url, secret_param=lambda name: name == "password", bare_user_is_secret=False)
