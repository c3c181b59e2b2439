"""One state shared by many machines on the suite's real PostgreSQL server (issue 11): what
one machine journals, counts, delivers to the notification area or authorizes, another sees;
many machines emitting at once; and the faults: the database stopping mid-run, unreachable,
refusing the password, newer than this quaynotify, and an emit killed while it journals.

Each machine (helpers/machines.py) is a HOME, config file and state directory of its own,
and every command a real process."""

from __future__ import annotations

import collections
import json
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from helpers.cli import ERROR
from helpers.machines import FAST, PUSH, Fleet, Machine, finish, query, tables
from helpers.postgres import PostgresServer
from helpers.receivers import Received, Receiver

from quaynotify.masking import MASK

ADDRESS = "dev@example.com"
PEOPLE = '[orgs.acme]\nadmins = ["alice", "carol"]\n'


class Switch:
    """What a receiver answers: `status`, which the test changes between runs."""

    def __init__(self, status: int = 200) -> None:
        self.status = status

    def __call__(self, request: Received, seen: int) -> int:
        return self.status


@pytest.fixture
def fleet(tmp_path: Path, postgres_url: str) -> Fleet:
    """Machines sharing a fresh database of the test's own."""
    return Fleet(tmp_path / "machines", postgres_url)


@pytest.fixture
def switch() -> Switch:
    return Switch()


@pytest.fixture
def receiver(switch: Switch) -> Iterator[Receiver]:
    """A webhook receiver answering what `switch` says (200 until told otherwise)."""
    with Receiver(switch) as r:
        yield r


def webhook_everywhere(receiver: Receiver, first: Machine, *others: Machine) -> str:
    """A webhook rule added on `first` through the CLI, its config then shared with the
    others (rules in git); the rule's id."""
    first.write_config(FAST)
    rule_id = first.add_rule("webhook", "--url", receiver.url("/hook"))
    first.share_config(*others)
    return rule_id


def emitted(result_out: str) -> list[dict[str, Any]]:
    deliveries: list[dict[str, Any]] = json.loads(result_out)["deliveries"]
    return deliveries


def rule_view(machine: Machine) -> dict[str, Any]:
    (view,) = machine.json("rule", "list")
    return dict(view)


# -- across machines ----------------------------------------------------------------------------


def test_a_failure_on_one_machine_is_replayed_from_another_with_its_delivery_id(
    fleet: Fleet, receiver: Receiver, switch: Switch
) -> None:
    a, b = fleet("a", "b")
    rule_id = webhook_everywhere(receiver, a, b)
    switch.status = 500
    failed = a.run(*PUSH, "--json")
    assert failed.code == 1, failed.err
    (delivery,) = emitted(failed.out)
    assert (delivery["rule_id"], delivery["status"]) == (rule_id, "failed")

    # B lists A's failure, although B never ran anything.
    assert [d["id"] for d in b.journal()] == [delivery["id"]]
    (listed,) = b.json("log", "--failed")
    assert (listed["id"], listed["rule_id"]) == (delivery["id"], rule_id)
    assert listed["status"] == "failed"

    switch.status = 200
    replayed = b.run("replay", "--failed", "--json")
    assert replayed.code == 0, replayed.err
    # The receiver saw one delivery id, A's, from A's attempt and from B's replay.
    assert [r.webhook_id for r in receiver.requests] == [delivery["id"], delivery["id"]]
    assert receiver.requests[0].body == receiver.requests[1].body
    # And A sees the delivery as B left it: one delivery, A's attempt then B's.
    shown = a.delivery(delivery["id"])
    assert shown["status"] == "succeeded"
    assert [(at["ok"], at["status"]) for at in shown["attempts"]] == [(False, 500), (True, 200)]
    assert a.json("log", "--failed") == []
    assert len(a.journal()) == 1


def test_three_failures_on_three_machines_disable_the_rule_everywhere(
    fleet: Fleet, receiver: Receiver, switch: Switch
) -> None:
    a, b, c = fleet("a", "b", "c")
    rule_id = webhook_everywhere(receiver, a, b, c)
    switch.status = 500
    for machine in (a, b, c):
        result = machine.run(*PUSH)
        assert result.code == 1, result.err
    # The third failure, on C, was the one that disabled it; C said so.
    assert f"rule {rule_id} is now disabled" in result.err
    assert len(receiver.requests) == 3

    switch.status = 200
    for machine in (a, b, c):
        skipped = machine.run(*PUSH)
        assert skipped.code == 1, "a skip counts as a failure"
        assert f"rule {rule_id} is disabled after 3 failed deliveries" in skipped.err
        assert f"run `quaynotify rule reset {rule_id}`" in skipped.err
        view = rule_view(machine)
        assert (view["enabled"], view["number_of_failures"]) == (False, 3)
    assert len(receiver.requests) == 3, "a disabled rule is sent nothing, from any machine"

    assert c.run("rule", "reset", rule_id).code == 0
    assert (rule_view(a)["enabled"], rule_view(b)["enabled"]) == (True, True)
    delivered = a.run(*PUSH, "--json")
    assert delivered.code == 0, delivered.err
    (delivery,) = emitted(delivered.out)
    assert receiver.requests[-1].webhook_id == delivery["id"]
    assert len(receiver.requests) == 4


def test_a_success_on_any_machine_resets_the_shared_count(
    fleet: Fleet, receiver: Receiver, switch: Switch
) -> None:
    a, b, c = fleet("a", "b", "c")
    webhook_everywhere(receiver, a, b, c)
    # fail on A, fail on B, succeed on C, fail on A, fail on B: never 3 in a row
    for machine, status in ((a, 500), (b, 500), (c, 200), (a, 500), (b, 500)):
        switch.status = status
        assert machine.run(*PUSH).code == (0 if status == 200 else 1)
    for machine in (a, b, c):
        view = rule_view(machine)
        assert (view["enabled"], view["number_of_failures"]) == (True, 2)
    switch.status = 200
    assert c.run(*PUSH).code == 0
    assert len(receiver.requests) == 6, "still enabled: every emit was delivered"
    assert rule_view(a)["number_of_failures"] == 0


def test_an_inbox_record_made_on_one_machine_is_dismissed_from_another(fleet: Fleet) -> None:
    a, b = fleet("a", "b")
    a.write_config(PEOPLE)
    a.add_rule("quay_notification", "--target", "user:alice")
    a.share_config(b)
    created = a.run(*PUSH, "--json")
    assert created.code == 0, created.err
    (delivery,) = emitted(created.out)

    (record,) = b.json("inbox", "--user", "alice")
    assert record["kind"] == "repo_push"
    assert record["metadata"]["repository"] == "acme/web"
    assert b.json("inbox", "--user", "carol") == []
    dismissed = b.run("inbox", "dismiss", record["id"])
    assert dismissed.code == 0, dismissed.err

    assert a.json("inbox", "--user", "alice") == [], "dismissed on B is dismissed on A"
    (kept,) = a.json("inbox", "--user", "alice", "--all")
    assert (kept["id"], kept["dismissed"]) == (record["id"], True)
    assert a.info()["notifications"] == 1
    assert delivery["status"] == "succeeded"


def test_an_org_record_stays_one_shared_record_across_machines(fleet: Fleet) -> None:
    a, b, c = fleet("a", "b", "c")
    a.write_config(PEOPLE)
    a.add_rule("quay_notification", "--target", "org:acme")
    a.share_config(b, c)
    assert a.run(*PUSH).code == 0

    # Both admins, on two other machines, see the one record.
    (for_alice,) = b.json("inbox", "--user", "alice")
    (for_carol,) = c.json("inbox", "--user", "carol")
    assert for_alice == for_carol
    assert for_alice["organization"] == "acme"
    assert c.run("inbox", "dismiss", for_carol["id"]).code == 0
    # Dismissed once by carol on C: gone for alice on B and A too.
    assert b.json("inbox", "--user", "alice") == []
    assert a.json("inbox", "--user", "alice") == []
    assert [r["id"] for r in a.json("inbox", "--user", "alice", "--all")] == [for_alice["id"]]
    assert b.info()["notifications"] == 1


class Mailbox:
    """What an SMTP server (aiosmtpd) received: the raw messages."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's
        raw = bytes(envelope.original_content).decode("utf-8", "replace")
        self.messages.append((list(envelope.rcpt_tos), raw))
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server on 127.0.0.1 (no TLS, no AUTH): what it received, and its port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def smtp_config(port: int) -> str:
    return FAST + (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'sender = "quay@example.com"\ntimeout = 5\n'
    )


def test_an_address_authorized_on_one_machine_works_for_an_email_rule_on_another(
    fleet: Fleet, mailbox: tuple[Mailbox, int]
) -> None:
    import re

    box, port = mailbox
    a, b = fleet("a", "b")
    lone = fleet.machine("lone", url=None)  # a machine with its own SQLite state
    for machine in (a, b, lone):
        machine.write_config(smtp_config(port))
    assert a.run("email", "authorize", "acme/web", ADDRESS).code == 0
    (rcpt, mail), *_ = box.messages
    assert rcpt == [ADDRESS]
    match = re.search(r"quaynotify email confirm ([A-Z0-9]{16})\b", mail)
    assert match, mail
    assert a.run("email", "confirm", match.group(1)).code == 0

    # B never saw the code, yet its rule is accepted and its emit mails the address...
    rule_id = b.add_rule("email", "--email", ADDRESS)
    sent = b.run(*PUSH, "--json")
    assert sent.code == 0, sent.err
    (delivery,) = emitted(sent.out)
    assert (delivery["rule_id"], delivery["status"]) == (rule_id, "succeeded")
    assert len(box.messages) == 2 and box.messages[-1][0] == [ADDRESS]
    (listed,) = b.json("email", "list")
    assert (listed["email"], listed["confirmed"]) == (ADDRESS, True)
    # ...while a machine that does not share the state refuses the same address (as Quay,
    # quaynotify checks the authorization when a rule is added, not again at send time).
    refused = lone.run("rule", "add", "--repo", "acme/web", "--event", "repo_push",
                       "--method", "email", "--email", ADDRESS)  # fmt: skip
    assert refused.code == 2 and refused.err.startswith(ERROR), refused.err
    assert "is not authorized to receive notifications for this repository" in refused.err
    assert len(box.messages) == 2


# -- concurrency --------------------------------------------------------------------------------

MACHINES = 4
EMITS = 20  # at once, on each machine


def test_many_machines_emitting_at_once_journal_every_delivery_exactly_once(
    fleet: Fleet,
) -> None:
    """4 machines x 20 emits, all started before any ends, on a database nobody has used:
    they race the schema's creation (one migrates, under the advisory lock, the others wait)
    and then each other on the same two rules' breaker rows. Each rule's first attempt at
    /flaky fails, so that deliveries have one or two attempts."""

    def respond(request: Received, seen: int) -> int:
        return 500 if request.path == "/flaky" and seen == 1 else 200

    machines = fleet(*(f"m{n}" for n in range(MACHINES)))
    with Receiver(respond) as receiver:
        first = machines[0]
        first.write_config(FAST.replace("max_attempts = 1", "max_attempts = 2"))
        rules = {
            first.add_rule("webhook", "--url", receiver.url("/steady")): 1,
            first.add_rule("webhook", "--url", receiver.url("/flaky")): 2,
        }
        first.share_config(*machines[1:])
        assert tables(fleet.url) == set(), "the emits find no schema: they race to create it"
        procs = [m.spawn(*PUSH) for m in machines for _ in range(EMITS)]
        results = [finish(proc) for proc in procs]
        received = receiver.requests
    for result in results:
        assert "deadlock" not in result.err and "could not serialize" not in result.err
        assert result.code == 0, result.err
        # nothing on stderr but the flaky rule's retries, told as they happen
        flaky = next(rule for rule, n in rules.items() if n == 2)
        retry = f"quaynotify: rule {flaky}: attempt 1/"
        assert all(line.startswith(retry) for line in result.err.splitlines()), result.err
    printed = [line.split("\t") for r in results for line in r.out.splitlines()]
    assert len(printed) == MACHINES * EMITS * len(rules)
    assert {row[3] for row in printed} == {"succeeded"}

    journal = first.journal()
    ids = [d["id"] for d in journal]
    assert len(set(ids)) == len(ids) == MACHINES * EMITS * len(rules), "ids unique, each once"
    assert sorted(ids) == sorted(row[0] for row in printed)
    assert collections.Counter(d["rule_id"] for d in journal) == dict.fromkeys(
        rules, MACHINES * EMITS
    )
    assert {d["status"] for d in journal} == {"succeeded"}
    assert {d["id"]: d["attempt_count"] for d in journal} == {
        d["id"]: rules[d["rule_id"]] for d in journal
    }
    # Each attempt reached the receiver exactly once, under its delivery's id.
    assert collections.Counter(r.webhook_id for r in received) == {
        d["id"]: d["attempt_count"] for d in journal
    }
    info = machines[-1].info()
    assert (info["deliveries"], info["attempts"]) == (len(ids), len(received))
    assert info["spooled"] == 0
    assert query(fleet.url, "SELECT version FROM quaynotify_schema") == [(info["schema_version"],)]
    # The breaker rows took every success without losing one: both rules healthy.
    views = first.json("rule", "list")
    assert {v["uuid"]: (v["enabled"], v["number_of_failures"]) for v in views} == dict.fromkeys(
        rules, (True, 0)
    )


# -- faults -------------------------------------------------------------------------------------


def database_lines(err: str) -> list[str]:
    """The lines of stderr about the state database."""
    return [line for line in err.splitlines() if "state database" in line]


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
@pytest.mark.parametrize("upload", ["next-run", "state-sync"])
def test_the_database_stopping_mid_run_loses_no_delivery_and_no_record(
    fleet: Fleet, postgres: PostgresServer, outcome: str, upload: str
) -> None:
    """The run reaches the database first (it prunes the journal there), then the first
    request the receiver gets stops the server before it is answered: the deliveries are
    journaled into a database that has gone. They are kept in the machine's local state,
    and the next run that reaches the database uploads them, once."""
    status = 200 if outcome == "succeeded" else 500

    def respond(request: Received, seen: int) -> int:
        if request.path == "/stop":
            postgres.stop()
        return status if request.path == "/stop" else 200

    a, b = fleet("a", "b")
    with Receiver(respond) as receiver:
        a.write_config(FAST)
        rules = [a.add_rule("webhook", "--url", receiver.url(p)) for p in ("/stop", "/other")]
        a.share_config(b)
        result = a.run(*PUSH, "--json")
        assert not postgres.running
        received = receiver.requests
        assert sorted(r.path for r in received) == ["/other", "/stop"], "delivered anyway"
        deliveries = emitted(result.out)
        assert result.code == (0 if outcome == "succeeded" else 1), result.err
        assert [d["rule_id"] for d in deliveries] == rules
        assert [d["status"] for d in deliveries] == [outcome, "succeeded"]
        (warning,) = database_lines(result.err)
        assert "cannot reach the state database" in warning and "state sync" in warning
        assert postgres.password not in result.err
        if outcome == "succeeded":
            assert result.err == warning + "\n", "the one line, and nothing else"
        # The records wait in A's local state (its spool) while the server is down.
        kept = spooled(a)
        assert sorted(kept) == sorted(d["id"] for d in deliveries)
        # `state info` says so: the database is down (exit 3, one line), and what waits.
        down = a.run("state", "info", "--json")
        assert down.code == 3, down.err
        assert database_lines(down.err) == down.err.splitlines(), down.err
        assert len(down.err.splitlines()) == 1
        view = json.loads(down.out)
        assert view["spooled"] >= 1 and view["deliveries"] is None
        assert postgres.password not in down.out + down.err

        postgres.start()
        if upload == "next-run":
            after = a.run("log", "--json")  # any run that reaches the database uploads
            assert after.code == 0, after.err
        else:
            synced = a.json("state", "sync")
            assert (synced["deliveries"], synced["skipped"]) == (2, 0)
            assert synced["batches"] in (1, 2)  # journaled as they ended: together or not
        again = a.json("state", "sync")
        assert again == {"batches": 0, "skipped": 0, "deliveries": 0, "notifications": 0}
        info = b.info()
    assert (info["deliveries"], info["attempts"], a.info()["spooled"]) == (2, 2, 0)
    journal = {d["id"]: d for d in b.journal()}
    assert sorted(journal) == sorted(r.webhook_id for r in received)
    assert {d["rule_id"]: d["status"] for d in journal.values()} == dict(
        zip(rules, [outcome, "succeeded"], strict=True)
    )
    assert spooled(a) == []


def spooled(machine: Machine) -> list[str]:
    """The ids of the deliveries the machine's local state keeps for the shared one, read
    from its spool table: each batch a JSON document of its deliveries."""
    import sqlite3

    with sqlite3.connect(machine.state_dir / "state.db") as db:
        rows = db.execute("SELECT payload FROM spool WHERE kind = 'journal'").fetchall()
    return [d["id"] for (payload,) in rows for d in json.loads(payload)["deliveries"]]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("status", [200, 500])
def test_an_unreachable_database_from_the_start_still_delivers(
    fleet: Fleet, switch: Switch, receiver: Receiver, status: int
) -> None:
    secret = "never-Sh0wn-pa55word"
    nowhere = f"postgresql://quaynotify:{secret}@127.0.0.1:{closed_port()}/shared"
    a = fleet.machine("a", url=nowhere)
    webhook_everywhere(receiver, a)
    switch.status = status
    result = a.run(*PUSH, "--json")  # ends: a refused connection, not a hang
    (delivery,) = emitted(result.out)
    assert [r.webhook_id for r in receiver.requests] == [delivery["id"]]
    assert result.code == (0 if status == 200 else 1), result.err
    (warning,) = database_lines(result.err)
    assert warning.startswith("quaynotify: warning: cannot reach the state database "), warning
    if status == 200:
        assert result.err == warning + "\n"
    assert secret not in result.err + result.out
    assert spooled(a) == [delivery["id"]]
    info = a.run("state", "info", "--json")
    assert info.code == 3 and len(database_lines(info.err)) == 1, info.err
    assert json.loads(info.out)["spooled"] == 1
    assert secret not in info.out + info.err


def test_a_wrong_password_is_one_line_exit_3_and_never_shown(
    fleet: Fleet, postgres: PostgresServer, postgres_url: str, receiver: Receiver
) -> None:
    """A refused login is one line wherever it shows, the password masked: `log` cannot
    read the journal (exit 3); `emit` delivers anyway, as for a database that is down
    (README: "or refuses the password"), and keeps its journal locally; `state info` says
    so (exit 3)."""
    wrong = "Wr0ng-pa55word-xyzzy"
    a = fleet.machine("a", url=postgres.url(postgres_url.rsplit("/", 1)[1], password=wrong))
    webhook_everywhere(receiver, a)
    masked = f"postgresql://quaynotify:{MASK}@127.0.0.1:{postgres.port}/"

    logged = a.run("log")
    assert logged.code == 3, logged.err
    assert logged.out == "" and logged.err.startswith(ERROR)
    sent = a.run(*PUSH, "--json")
    assert sent.code == 0, sent.err
    (delivery,) = emitted(sent.out)
    assert [r.webhook_id for r in receiver.requests] == [delivery["id"]]
    assert spooled(a) == [delivery["id"]]
    info = a.run("state", "info", "--json")
    assert info.code == 3, info.err
    assert json.loads(info.out)["spooled"] == 1
    for result in (logged, sent, info):
        assert result.err.count("\n") == 1, result.err
        assert "password authentication failed" in result.err
        assert masked in result.err
        assert wrong not in result.err + result.out
    for path in a.state_dir.iterdir():
        assert wrong.encode() not in path.read_bytes(), path.name


def test_a_database_with_a_newer_schema_is_refused_and_left_alone(
    fleet: Fleet, receiver: Receiver
) -> None:
    a, b = fleet("a", "b")
    webhook_everywhere(receiver, a, b)
    assert a.run(*PUSH).code == 0  # creates the schema, this quaynotify's version
    version = a.info()["schema_version"]
    query(fleet.url, "UPDATE quaynotify_schema SET version = version + 1")
    for machine, args in ((a, PUSH), (b, PUSH), (b, ("state", "info")), (a, ("log",))):
        result = machine.run(*args)
        assert result.code == 3, (args, result.code, result.err)
        assert result.err.startswith(ERROR) and result.err.count("\n") == 1, result.err
        assert str(version + 1) in result.err
    assert query(fleet.url, "SELECT version FROM quaynotify_schema") == [(version + 1,)]
    assert len(receiver.requests) == 1, "a refused state: nothing sent"


# -- kill -9 while journaling -------------------------------------------------------------------


class TableLock:
    """The rule_health table locked against writes by a client of the test's own, as by a
    machine in the middle of a long transaction: a journal batch (which counts towards the
    breaker in its own transaction) waits for it, its deliveries and attempts written but
    not committed. Reads go on."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._conn = psycopg.connect(url, connect_timeout=10)
        self._conn.execute("LOCK TABLE rule_health IN EXCLUSIVE MODE")

    def waiting(self) -> int:
        """How many of quaynotify's connections wait for a lock now."""
        rows = query(
            self.url,
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'quaynotify' AND wait_event_type = 'Lock'",
        )
        return int(rows[0][0])

    def wait_for(self, count: int) -> None:
        """Until `count` of quaynotify's connections wait for the lock (a failsafe limit)."""
        wait_until(lambda: self.waiting() >= count)

    def release(self) -> None:
        self._conn.rollback()
        self._conn.close()


HOLD = 60.0  # seconds a writer gets to come and wait for the lock: a failsafe


def wait_until(condition: Callable[[], bool]) -> None:
    """Until `condition()` holds (a failsafe limit)."""
    deadline = time.monotonic() + HOLD
    while not condition():
        assert time.monotonic() < deadline, "never came to pass"
        time.sleep(0.02)


def assert_journal_whole(url: str) -> None:
    """No half-written record: every delivery has its attempts, numbered 1..n without a
    gap, no attempt is without its delivery, and no delivery id is there twice."""
    assert query(url, "SELECT id FROM delivery GROUP BY id HAVING COUNT(*) > 1") == []
    assert query(
        url, "SELECT d.id FROM delivery d WHERE NOT EXISTS"
        " (SELECT 1 FROM attempt a WHERE a.delivery_id = d.id)"
    ) == []  # fmt: skip
    assert query(
        url, "SELECT a.delivery_id FROM attempt a WHERE NOT EXISTS"
        " (SELECT 1 FROM delivery d WHERE d.id = a.delivery_id)"
    ) == []  # fmt: skip
    assert query(
        url, "SELECT delivery_id FROM attempt GROUP BY delivery_id"
        " HAVING MIN(number) != 1 OR MAX(number) != COUNT(*)"
    ) == []  # fmt: skip


def test_an_emit_killed_while_journaling_leaves_no_half_written_record(
    fleet: Fleet, receiver: Receiver
) -> None:
    """Emits on A and B deliver, then wait to journal behind the lock; A's is killed there.
    A's deliveries are in the journal whole or not at all, B's whole, and the next
    `state sync` on A finds nothing to upload twice."""
    a, b = fleet("a", "b")
    a.write_config(FAST)
    rules = [a.add_rule("webhook", "--url", receiver.url(p)) for p in ("/one", "/two")]
    a.share_config(b)
    assert a.run(*PUSH).code == 0  # the schema and the rules' health rows exist
    before = {d["id"] for d in a.journal()}

    lock = TableLock(fleet.url)
    try:
        killed, survivor = a.spawn(*PUSH), b.spawn(*PUSH)
        lock.wait_for(2)  # both are writing their first batch
        wait_until(lambda: len(receiver.requests) == 3 * len(rules))  # and all was sent
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=60) == -signal.SIGKILL
    finally:
        lock.release()
    done = finish(survivor)
    assert done.code == 0, done.err
    finish(killed)

    synced = a.json("state", "sync")
    assert (synced["batches"], synced["skipped"]) == (0, 0), "the kill left nothing to upload"
    assert_journal_whole(fleet.url)
    journal = {d["id"]: d for d in b.journal()}
    sent = collections.Counter(r.webhook_id for r in receiver.requests)
    new = set(journal) - before
    survivors = {row.split("\t")[0] for row in done.out.splitlines()}
    assert survivors <= new and len(survivors) == len(rules)
    # What A's killed emit journaled, if anything, is whole: each delivery once, with its
    # one attempt (the loop below), and it uploads nothing more later (the sync above).
    assert len(sent) == 3 * len(rules), "every emit delivered, the killed one too"
    for delivery_id in new:
        assert journal[delivery_id]["attempt_count"] == sent[delivery_id] == 1
    assert a.info()["deliveries"] == len(journal)


def test_a_sync_killed_while_uploading_uploads_everything_once_later(
    fleet: Fleet, postgres: PostgresServer, receiver: Receiver
) -> None:
    """A's journal waits in its spool (the database was down); its `state sync` is killed
    while the upload waits behind the lock, uncommitted. The spool still has the batches,
    and the next sync uploads each exactly once."""
    a, b = fleet("a", "b")
    rules = [webhook_everywhere(receiver, a, b)]
    assert a.run("rule", "reset", rules[0]).code == 0  # a write: the schema is made
    postgres.stop()
    emits = [a.run(*PUSH, "--json") for _ in range(3)]
    assert all(e.code == 0 for e in emits), [e.err for e in emits]
    ids = sorted(d["id"] for e in emits for d in emitted(e.out))
    assert sorted(spooled(a)) == ids
    postgres.start()

    lock = TableLock(fleet.url)
    try:
        killed = a.spawn("state", "sync")
        lock.wait_for(1)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=60) == -signal.SIGKILL
    finally:
        lock.release()
    finish(killed)
    assert sorted(spooled(a)) == ids, "nothing uploaded is forgotten, nothing forgotten lost"
    # The killed upload's batch, its COMMIT already sent with the rest of its transaction
    # (pipeline mode), may have been committed by the server once the lock was released:
    # all of it or none of it, and the batch's mark says which.
    assert_journal_whole(fleet.url)
    landed = b.info()["deliveries"]
    assert landed in (0, 1)

    synced = a.json("state", "sync")
    assert (synced["batches"], synced["skipped"]) == (3 - landed, landed)
    assert synced["deliveries"] == 3 - landed
    again = a.json("state", "sync")
    assert again == {"batches": 0, "skipped": 0, "deliveries": 0, "notifications": 0}
    assert_journal_whole(fleet.url)
    journal = b.journal()
    assert (
        sorted(d["id"] for d in journal) == ids == sorted(r.webhook_id for r in receiver.requests)
    )
    assert {d["rule_id"] for d in journal} == set(rules)
    info = b.info()
    assert (info["deliveries"], info["attempts"], a.info()["spooled"]) == (3, 3, 0)
