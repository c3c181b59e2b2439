"""The suite's PostgreSQL server (helpers/postgres.py) itself, driven with psycopg directly:
what the state tests rely on must hold, or they would pass for the wrong reasons."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import postgres as postgres_helper
from helpers.postgres import DROP_BATCH, ROLE, UNPRIVILEGED, Backend, PostgresServer
from helpers.tools import REQUIRE

psycopg = pytest.importorskip("psycopg")


def scalar(url: str, query: str) -> object:
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return row[0]


def test_a_url_logs_in_as_quaynotify_with_a_password_over_tcp(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    assert (parts.scheme, parts.hostname, parts.username) == ("postgresql", "127.0.0.1", ROLE)
    assert parts.password
    assert scalar(postgres_url, "SELECT current_user") == ROLE
    assert scalar(postgres_url, "SELECT inet_server_addr()::text") == "127.0.0.1/32"


def test_the_role_owns_its_database_and_is_no_superuser(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT rolsuper, pg_get_userbyid(d.datdba) FROM pg_roles, pg_database d"
            " WHERE rolname = current_user AND d.datname = current_database()"
        ).fetchone()
        assert row == (False, ROLE)
        # the owner may make the tables and schemas quaynotify needs
        conn.execute("CREATE SCHEMA quaynotify")
        conn.execute("CREATE TABLE quaynotify.t (id int)")


def test_two_fresh_databases_do_not_see_each_others_tables(postgres: PostgresServer) -> None:
    first, second = postgres.database(), postgres.database()
    try:
        assert first != second
        with psycopg.connect(first) as conn:
            conn.execute("CREATE TABLE journal (id int)")
            conn.execute("INSERT INTO journal VALUES (1)")
        assert scalar(first, "SELECT count(*) FROM journal") == 1
        assert scalar(second, "SELECT to_regclass('journal')") is None
        assert scalar(second, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        postgres.discard(first)
        postgres.discard(second)


def test_a_wrong_password_is_refused(postgres: PostgresServer, postgres_url: str) -> None:
    dbname = urlsplit(postgres_url).path.lstrip("/")
    assert scalar(postgres.url(dbname), "SELECT 1") == 1
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres.url(dbname, password="not-the-password"), connect_timeout=10)


def test_stop_makes_connections_fail_and_start_brings_the_same_data_back(
    postgres: PostgresServer, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE journal (id text)")
        conn.execute("INSERT INTO journal VALUES ('kept')")
    port = postgres.port
    held = psycopg.connect(postgres_url)
    postgres.stop()
    try:
        assert not postgres.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres_url, connect_timeout=5)
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")  # a connection open across the stop is broken too
    finally:
        held.close()
        postgres.start()
    assert postgres.port == port
    assert scalar(postgres_url, "SELECT id FROM journal") == "kept"


def test_an_immediate_stop_is_recovered_from_with_committed_data(
    postgres: PostgresServer, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE journal (id int)")
        conn.execute("INSERT INTO journal VALUES (1)")
    postgres.stop(immediate=True)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres_url, connect_timeout=5)
    postgres.start()
    assert scalar(postgres_url, "SELECT count(*) FROM journal") == 1


def test_the_server_runs_as_an_unprivileged_user_when_the_suite_is_root(
    postgres: PostgresServer, postgres_url: str
) -> None:
    expected = pwd.getpwnam(UNPRIVILEGED).pw_uid if os.geteuid() == 0 else os.geteuid()
    assert expected != 0
    # the postmaster, and the backend process serving this very connection: looked at while
    # the connection is open (closed, its backend exits, and /proc/PID may be gone already)
    with psycopg.connect(postgres_url, connect_timeout=10) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        for pid in (postgres.pid, row[0]):
            assert Path(f"/proc/{pid}").stat().st_uid == expected, pid
    assert postgres.data.stat().st_uid == expected


def test_max_connections_allow_many_parallel_emits(postgres_url: str) -> None:
    assert int(str(scalar(postgres_url, "SHOW max_connections"))) >= 300
    assert scalar(postgres_url, "SHOW fsync") == "off"


def test_backend_fixture_points_the_state_at_the_backend(backend: Backend) -> None:
    url = os.environ.get("QUAYNOTIFY_STATE_URL")
    assert url == backend.url
    if backend.name == "sqlite":
        assert url is None
    else:
        assert backend.name == "postgres"
        assert url is not None
        assert scalar(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0


def test_discarded_databases_are_dropped_in_batches(postgres: PostgresServer) -> None:
    urls = [postgres.database() for _ in range(DROP_BATCH)]
    for url in urls:
        postgres.discard(url)
    names = [urlsplit(url).path.lstrip("/") for url in urls]
    with psycopg.connect(postgres.url("postgres")) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)
        ).fetchall()
    left = {name for (name,) in rows}
    # a batch was dropped on the way; what is left is waiting for the next one
    assert len(left) < DROP_BATCH
    assert left == set(names) & set(postgres._discarded)


@pytest.fixture
def no_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without PostgreSQL: no Debian directory, nothing on PATH."""
    monkeypatch.setattr(postgres_helper, "DEBIAN", tmp_path / "no-postgresql")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


@pytest.mark.usefixtures("no_postgres")
def test_without_postgresql_the_test_skips_naming_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE, raising=False)
    assert postgres_helper.find_bindir() is None
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        postgres_helper.need_postgres()


@pytest.mark.usefixtures("no_postgres")
def test_without_postgresql_the_test_fails_when_tools_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install postgresql"):
        postgres_helper.need_postgres()


def test_the_newest_debian_version_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version in ("9", "15", "13"):
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        for tool in ("initdb", "postgres"):
            (bindir / tool).write_text("#!/bin/sh\n")
            (bindir / tool).chmod(0o755)
    monkeypatch.setattr(postgres_helper, "DEBIAN", tmp_path)
    assert postgres_helper.find_bindir() == tmp_path / "15" / "bin"
