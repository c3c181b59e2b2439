"""The PostgreSQL backend looks at its schema's version once per run, in one statement: an
emit asks whether the state exists before each record kind it reads, and each look at a
database across a network is a round trip."""

from __future__ import annotations

import pytest

from quaynotify.store.postgres import SCHEMA_VERSION, PostgresBackend

psycopg = pytest.importorskip("psycopg")


def test_a_new_database_or_schema_is_version_0_and_nothing_is_created(postgres_url: str) -> None:
    for schema in (None, "absent"):
        backend = PostgresBackend(postgres_url, schema)
        try:
            assert backend.version() == 0
            assert not backend.exists()
        finally:
            backend.close()
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert row == (0,)


def test_a_current_schema_is_looked_at_once_per_run(postgres_url: str) -> None:
    earlier = PostgresBackend(postgres_url)
    try:
        with earlier.write() as tx:  # creates the schema
            tx.execute("INSERT INTO upload (batch, created) VALUES (?, ?)", ("b1", 1.0))
    finally:
        earlier.close()
    backend = PostgresBackend(postgres_url)
    try:
        assert backend.version() == SCHEMA_VERSION
        # The version table gone behind its back: a backend that looked again would find the
        # state absent, or fail; this one knows the schema is current and reads on.
        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute("DROP TABLE quaynotify_schema")
        assert backend.exists()
        assert backend.read("SELECT batch FROM upload") == [("b1",)]
    finally:
        backend.close()
    fresh = PostgresBackend(postgres_url)
    try:
        assert fresh.version() == 0  # the next run looks again
    finally:
        fresh.close()
