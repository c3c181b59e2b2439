"""A write transaction on PostgreSQL: its statements go out in pipeline mode, so the client
waits for the server only where it reads a result, and still all of it or none of it is
kept. Round trips are counted by a proxy (helpers/roundtrips.py), not timed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.roundtrips import counting

from quaynotify.errors import StateError, StateUnreachable
from quaynotify.store import open_store
from quaynotify.store.journal import Attempt, DeliveryRecord
from quaynotify.store.postgres import PostgresBackend

pytest.importorskip("psycopg")

MARK = "INSERT INTO upload (batch, created) VALUES (?, ?) ON CONFLICT (batch) DO NOTHING"


def batches(pg: PostgresBackend) -> list[str]:
    return [row[0] for row in pg.read("SELECT batch FROM upload ORDER BY batch")]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresBackend]:
    made = PostgresBackend(postgres_url)
    made.exists()  # connected, schema created
    with made.write() as tx:
        tx.execute(MARK, ("kept", 1.0))
    yield made
    made.close()


def test_an_error_raised_in_the_block_keeps_none_of_it(pg: PostgresBackend) -> None:
    with pytest.raises(RuntimeError), pg.write() as tx:
        tx.execute(MARK, ("lost-1", 1.0))
        tx.execute(MARK, ("lost-2", 1.0))
        raise RuntimeError("the caller failed half-way")
    assert batches(pg) == ["kept"]
    with pg.write() as tx:  # the connection is usable, out of any transaction
        tx.execute(MARK, ("after", 1.0))
    assert batches(pg) == ["after", "kept"]


def test_a_failing_statement_keeps_none_of_it_and_is_not_an_outage(
    pg: PostgresBackend,
) -> None:
    with pytest.raises(StateError) as raised, pg.write() as tx:
        tx.execute(MARK, ("lost", 1.0))
        tx.execute("INSERT INTO upload (batch, created) VALUES (?, ?)", ("kept", 1.0))
        tx.execute(MARK, ("also-lost", 1.0))
    assert not isinstance(raised.value, StateUnreachable)
    assert "duplicate key" in str(raised.value)
    assert pg.down is None
    assert batches(pg) == ["kept"]
    with pg.write() as tx:
        tx.execute(MARK, ("after", 1.0))
    assert batches(pg) == ["after", "kept"]


def test_row_counts_in_a_pipelined_transaction_are_the_statements_own(
    pg: PostgresBackend,
) -> None:
    with pg.write() as tx:
        assert tx.execute(MARK, ("new", 1.0)).rowcount == 1
        assert tx.execute(MARK, ("new", 1.0)).rowcount == 0
        assert tx.execute(MARK, ("kept", 1.0)).rowcount == 0
        assert tx.execute("DELETE FROM upload WHERE created < ?", (2.0,)).rowcount == 2
    assert batches(pg) == []


def test_a_journal_batch_waits_for_the_server_twice(postgres_url: str, tmp_path: Path) -> None:
    """Marking the batch (its row count is read), then the deliveries, their attempts, the
    breaker's counts and the commit, sent together: 2 round trips, where one per statement
    was 6."""
    with counting(postgres_url) as (proxy, url):
        store = open_store(tmp_path / "state", url)
        try:
            store.health.reset("none")  # connected, and the schema made
            records = [
                DeliveryRecord(
                    id=f"d{i}", event="repo_push", repository="acme/web", rule_id=f"r{i}",
                    method="webhook", status="succeeded", data={}, created=1.0, updated=1.0,
                    attempts=(Attempt(1, 1.0, 0.1, True, 200, "200 OK"),),
                )
                for i in range(3)
            ]  # fmt: skip
            proxy.reset()
            store.journal.record(records, disable_after=3)
            assert proxy.total() == 2
        finally:
            store.close()
    check = open_store(tmp_path / "state", postgres_url)
    try:
        assert sorted(d.id for d in check.journal.deliveries()) == ["d0", "d1", "d2"]
        assert all(len(d.attempts) == 1 for d in check.journal.deliveries())
    finally:
        check.close()
