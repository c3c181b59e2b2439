"""The journal: every delivery and every attempt, `log` (newest first, filters) and `log show`,
on both backends (the `setup` fixture takes `backend`); then the SQLite file itself."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import CONSOLE, Cli
from helpers.configs import add_webhook
from helpers.postgres import Backend
from helpers.state import created, execute, rows
from pytest_httpserver import HTTPServer

from quaynotify.store import Store, open_store
from quaynotify.store.sqlite import SCHEMA_VERSION

CONFIG = '[server]\nhostname = "quay.example.com"\n\n[delivery]\nbackoff = 0\nmax_attempts = 2\n'
BUILD_ID = "0d6b5a8e-3f1c-4e2a-9b7d-5c4e3f2a1b0c"
LOG_COLUMNS = 8  # delivery, when, event, repository, method, status, attempts, detail


@pytest.fixture
def setup(
    cli: Cli, config_file: Path, httpserver: HTTPServer, backend: Backend
) -> Callable[..., str]:
    """`setup(event, path)` adds a webhook rule; /ok answers 200, /fail 500. Each test that
    uses it runs on each backend."""
    config_file.write_text(CONFIG)
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/fail").respond_with_data("nope", status=500)

    def add(event: str = "repo_push", path: str = "/ok") -> str:
        return add_webhook(cli, httpserver.url_for(path), event=event)

    return add


def push(cli: Cli, tag: str = "v1", *extra: str) -> list[dict[str, Any]]:
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", f'updated_tags=["{tag}"]',
                 "--json", *extra)  # fmt: skip
    deliveries: list[dict[str, Any]] = json.loads(result.out)["deliveries"]
    return deliveries


def build(cli: Cli) -> list[dict[str, Any]]:
    result = cli("emit", "build_start", "--repo", "acme/web", "--set", f"build_id={BUILD_ID}",
                 "--json")  # fmt: skip
    deliveries: list[dict[str, Any]] = json.loads(result.out)["deliveries"]
    return deliveries


def log(cli: Cli, *options: str) -> list[dict[str, Any]]:
    result = cli("log", "--json", *options)
    assert result.code == 0, result.err
    entries: list[dict[str, Any]] = json.loads(result.out)
    return entries


def test_an_empty_journal(cli: Cli, store: Store) -> None:
    assert log(cli) == []
    result = cli("log")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert not created(store), "looking must not create the database"


def test_every_delivery_and_attempt_is_journaled(
    cli: Cli, setup: Callable[..., str], httpserver: HTTPServer
) -> None:
    good, bad = setup(path="/ok"), setup(path="/fail")
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]',
                 "--performer", "alice")  # fmt: skip
    assert result.code == 1
    entries = log(cli)
    assert {e["rule_id"]: e["status"] for e in entries} == {good: "succeeded", bad: "failed"}
    for entry in entries:
        shown = cli("log", "show", entry["id"], "--json")
        assert shown.code == 0, shown.err
        record = json.loads(shown.out)
        assert (record["event"], record["repository"], record["method"]) == (
            "repo_push",
            "acme/web",
            "webhook",
        )
        assert record["performer"] == "alice"
        assert record["data"] == {
            "repository": "acme/web",
            "namespace": "acme",
            "name": "web",
            "docker_url": "quay.example.com/acme/web",
            "homepage": "https://quay.example.com/repository/acme/web",
            "updated_tags": ["v1"],
        }
        attempts = record["attempts"]
        assert [a["number"] for a in attempts] == list(range(1, len(attempts) + 1))
        assert record["attempt_count"] == len(attempts) == entry["attempt_count"]
        if entry["rule_id"] == good:
            assert [(a["ok"], a["status"]) for a in attempts] == [(True, 200)]
            assert record["error"] is None
        else:
            assert [(a["ok"], a["status"]) for a in attempts] == [(False, 500), (False, 500)]
            assert "500 response for webhook" in record["error"]
            assert all("500 response for webhook" in a["message"] for a in attempts)
        for attempt in attempts:
            assert attempt["started"] >= record["created"] - 1
            assert attempt["duration"] >= 0


def test_log_lists_newest_first(cli: Cli, setup: Callable[..., str]) -> None:
    setup()
    emitted = [push(cli, f"v{n}")[0]["id"] for n in range(4)]
    assert [e["id"] for e in log(cli)] == emitted[::-1]
    assert [line.split("\t")[0] for line in cli("log").lines] == emitted[::-1]


def test_log_limit(cli: Cli, setup: Callable[..., str]) -> None:
    setup()
    emitted = [push(cli, f"v{n}")[0]["id"] for n in range(4)]
    assert [e["id"] for e in log(cli, "--limit", "2")] == emitted[:1:-1]
    assert len(cli("log", "--limit", "1").lines) == 1
    assert cli("log", "--limit", "0").code == 2


def test_log_failed(cli: Cli, setup: Callable[..., str]) -> None:
    setup(path="/ok")
    bad = setup(path="/fail")
    push(cli, "v1")
    push(cli, "v2")
    failed = log(cli, "--failed")
    assert [(e["rule_id"], e["status"]) for e in failed] == [(bad, "failed"), (bad, "failed")]
    assert len(log(cli)) == 4


def test_log_rule_takes_a_prefix(cli: Cli, setup: Callable[..., str]) -> None:
    first, second = setup(), setup()
    push(cli)
    push(cli)
    for rule_id in (first, second):
        entries = log(cli, "--rule", rule_id[:8])
        assert len(entries) == 2 and {e["rule_id"] for e in entries} == {rule_id}


def test_log_event(cli: Cli, setup: Callable[..., str]) -> None:
    setup("repo_push")
    setup("build_start")
    push(cli)
    build(cli)
    push(cli)
    assert [e["event"] for e in log(cli, "--event", "build_start")] == ["build_start"]
    assert [e["event"] for e in log(cli, "--event", "repo_push")] == ["repo_push", "repo_push"]
    assert log(cli, "--event", "repo_mirror_sync_failed") == []


def test_log_filters_combine(cli: Cli, setup: Callable[..., str]) -> None:
    good = setup(path="/ok")
    bad = setup(path="/fail")
    setup("build_start", path="/fail")
    push(cli)
    build(cli)
    entries = log(cli, "--failed", "--event", "repo_push")
    assert [e["rule_id"] for e in entries] == [bad]
    assert log(cli, "--failed", "--rule", good) == []


def push_to(cli: Cli, repo: str) -> None:
    result = cli("emit", "repo_push", "--repo", repo, "--set", 'updated_tags=["v1"]')
    assert result.code in (0, 1), result.err


def test_log_repo_keeps_one_repository(
    cli: Cli, setup: Callable[..., str], httpserver: HTTPServer
) -> None:
    """--repo lists that repository's deliveries alone, and combines with --failed and --rule."""
    web = setup(path="/fail")
    api = add_webhook(cli, httpserver.url_for("/ok"), repo="acme/api")
    push_to(cli, "acme/web")
    push_to(cli, "acme/api")
    push_to(cli, "acme/web")
    assert [e["repository"] for e in log(cli)] == ["acme/web", "acme/api", "acme/web"]
    assert [e["rule_id"] for e in log(cli, "--repo", "acme/api")] == [api]
    assert [e["rule_id"] for e in log(cli, "--repo", "acme/web")] == [web, web]
    assert log(cli, "--repo", "acme/api", "--failed") == []
    assert len(log(cli, "--repo", "acme/web", "--failed", "--rule", web[:8])) == 2
    assert log(cli, "--repo", "acme/other") == []
    (line,) = cli("log", "--repo", "acme/api").lines  # the table too
    assert "acme/api" in line and "acme/web" not in line


def test_log_since_keeps_what_was_updated_since(
    cli: Cli, setup: Callable[..., str], store: Store
) -> None:
    """--since takes replay's forms (a duration, an ISO date-time): a delivery made 3 hours
    old in the database, as time would have, is left out by 2h and kept by 4h and by an ISO
    time just before it; --failed still applies."""
    setup(path="/fail")
    push(cli, "old")
    push(cli, "new")
    old, new = log(cli)[1]["id"], log(cli)[0]["id"]
    aged = time.time() - 3 * 3600
    sql = "UPDATE delivery SET created = ?, updated = ? WHERE id = ?"
    assert execute(store, sql, (aged, aged, old)) == 1
    assert [e["id"] for e in log(cli, "--since", "2h")] == [new]
    assert [e["id"] for e in log(cli, "--since", "4h", "--failed")] == [new, old]
    before_old = dt.datetime.fromtimestamp(aged - 60, dt.UTC).isoformat(timespec="seconds")
    assert [e["id"] for e in log(cli, "--since", before_old)] == [new, old]
    after_old = dt.datetime.fromtimestamp(aged + 60, dt.UTC).isoformat(timespec="seconds")
    assert [e["id"] for e in log(cli, "--since", after_old)] == [new]
    assert [e["id"] for e in log(cli, "--since", "2h", "--event", "build_start")] == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--rule", "ffffffff"), "no rule with id 'ffffffff'"),
        (("--event", "repo_pushed"), "unknown event 'repo_pushed'"),
        (("--since", "yesterday"), "--since 'yesterday': expected a duration"),
        (("--repo", "acme"), "must be NAMESPACE/NAME"),
    ],
)
def test_log_filters_refuse_unknown_names(
    cli: Cli, setup: Callable[..., str], options: tuple[str, ...], message: str
) -> None:
    setup()
    result = cli("log", *options)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("quaynotify: error: ") and message in result.err


def test_log_is_tab_separated(cli: Cli, setup: Callable[..., str]) -> None:
    setup()
    (delivery,) = push(cli)
    (line,) = cli("log").lines
    cells = line.split("\t")
    assert len(cells) == LOG_COLUMNS
    assert cells[0] == delivery["id"]
    assert cells[2:7] == ["repo_push", "acme/web", "webhook", "succeeded", "1"]


def test_log_show_by_prefix_shows_every_attempt(cli: Cli, setup: Callable[..., str]) -> None:
    setup(path="/fail")
    (delivery,) = push(cli)
    result = cli("log", "show", delivery["id"][:8])
    assert result.code == 0, result.err
    fields, _, attempts = result.out.partition("\n\n")
    pairs = dict(line.split("\t", 1) for line in fields.splitlines())
    assert (pairs["delivery"], pairs["status"], pairs["event"]) == (
        delivery["id"],
        "failed",
        "repo_push",
    )
    rows = [line.split("\t") for line in attempts.splitlines()]
    assert [(row[0], row[3], row[4]) for row in rows] == [("1", "no", "500"), ("2", "no", "500")]
    shown = json.loads(cli("log", "show", delivery["id"][:8].upper(), "--json").out)
    assert shown["id"] == delivery["id"]


@pytest.mark.parametrize("given", ["ffffffff-0000", "zzz", ""])
def test_log_show_of_an_unknown_id_is_exit_2(
    cli: Cli, setup: Callable[..., str], given: str
) -> None:
    setup()
    push(cli)
    result = cli("log", "show", given)
    assert (result.code, result.out) == (2, "")
    assert result.err.count("\n") == 1 and result.err.startswith("quaynotify: error: ")


def test_log_show_of_an_ambiguous_prefix_is_exit_2(cli: Cli, setup: Callable[..., str]) -> None:
    # 17 deliveries: two of them must share the first hex digit of their id
    for _ in range(17):
        setup()
    ids = [d["id"] for d in push(cli)]
    assert len(ids) == 17
    shared = next(c for c, n in Counter(i[0] for i in ids).items() if n > 1)
    result = cli("log", "show", shared)
    assert (result.code, result.out) == (2, "")
    assert "ambiguous" in result.err


def test_dry_run_journals_nothing(cli: Cli, setup: Callable[..., str]) -> None:
    setup()
    assert cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]',
               "--dry-run").code == 0  # fmt: skip
    assert log(cli) == []


def test_the_journal_is_in_the_state_database(
    cli: Cli, setup: Callable[..., str], store: Store, backend: Backend, state_dir: Path
) -> None:
    """The delivery is a row of the backend's own database: state.db in the state dir, or
    with a reachable PostgreSQL state its database, nothing kept in a local spool."""
    rule_id = setup()
    (delivery,) = push(cli)
    found = rows(
        store,
        "SELECT count(*) FROM delivery WHERE id = ? AND rule_id = ?",
        (delivery["id"], rule_id),
    )
    assert found == [(1,)]
    assert (state_dir / "state.db").exists() == (backend.name == "sqlite")


# -- the database's schema version ---------------------------------------------------------------
# From here on, the SQLite file itself (its schema version, its modes, a read-only directory):
# SQLite only, on purpose.


def newer_database(state_dir: Path) -> Path:
    """A state database as a later quaynotify (schema version 99) would leave it."""
    state_dir.mkdir(exist_ok=True)
    path = state_dir / "state.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE from_the_future (x)")
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("log",),
        ("log", "show", "abc"),
        ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]'),
        ("rule", "list"),
        ("rule", "reset", "a"),
        ("inbox", "--user", "alice"),
        ("email", "list"),
    ],
    ids=lambda args: "-".join(a for a in args if a.isalpha()),
)
def test_a_database_from_a_newer_quaynotify_is_refused_never_downgraded(
    cli: Cli, config_file: Path, state_dir: Path, args: tuple[str, ...]
) -> None:
    config_file.write_text(
        '[[rule]]\nid = "a"\nrepository = "acme/web"\nevent = "repo_push"\n'
        'method = "webhook"\nconfig = { url = "http://127.0.0.1:9/hook" }\n'
    )
    path = newer_database(state_dir)
    result = cli(*args)
    assert (result.code, result.out) == (3, ""), result.err
    assert result.err == (
        f"quaynotify: error: the state database {path} was written by a newer quaynotify "
        f"(schema version 99; this one knows up to {SCHEMA_VERSION}): upgrade quaynotify, "
        "or point "
        "--state-dir at another directory\n"
    )
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (99,)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"from_the_future"}, "the database was changed"


# -- who may read it -----------------------------------------------------------------------------


def test_the_state_files_are_created_private_in_a_directory_that_already_existed(
    state_dir: Path,
) -> None:
    # It holds event data and pending e-mail confirmation codes: 0600 whatever the umask,
    # and SQLite gives its -wal and -shm files the database file's mode.
    old = os.umask(0o022)
    try:
        state_dir.mkdir(mode=0o755)
        state = open_store(state_dir)
        state.health.reset("any-rule")  # creates the database and keeps it open: -wal, -shm exist
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in state_dir.iterdir()}
        state.close()
    finally:
        os.umask(old)
    assert modes == {
        "state.db": 0o600,
        "state.db-wal": 0o600,
        "state.db-shm": 0o600,
        ".state.db.lock": 0o600,
    }


# -- a state directory that cannot be written ---------------------------------------------------


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Any:
    """`mount(src, writable)`: a read-only bind mount of directory `src` (nothing can be created
    in it, not even by root), with the files named in `writable` bound writable on top: a
    directory its user cannot write, holding a database file they can. Skipped where bind
    mounts are not allowed."""
    mounted: list[Path] = []

    def run(*args: str) -> None:
        done = subprocess.run(["mount", *args], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"no bind mounts here: {done.stderr.strip()}")
        mounted.append(Path(args[-1]))

    def mount(src: Path, writable: tuple[str, ...] = ()) -> Path:
        target = tmp_path / "read-only"
        target.mkdir()
        run("--bind", str(src), str(target))
        run("-o", "remount,bind,ro", str(src), str(target))
        for name in writable:
            run("--bind", str(src / name), str(target / name))
        return target

    yield mount
    for target in reversed(mounted):  # lazily: the in-process commands may hold the database
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def test_reading_commands_work_in_a_read_only_state_dir(
    cli: Cli, config_file: Path, state_dir: Path, read_only_mount: Any
) -> None:
    config_file.write_text(
        '[[rule]]\nid = "q1"\nrepository = "acme/web"\nevent = "repo_push"\n'
        'method = "quay_notification"\nconfig = { target = "user:alice" }\n'
    )
    # In a process of its own: a writer that has ended leaves no -wal or -shm file, and a
    # reader must then do without creating them.
    emitted = subprocess.run(
        [CONSOLE, "emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert emitted.returncode == 0, emitted.stderr
    assert sorted(p.name for p in state_dir.iterdir()) == [".state.db.lock", "state.db"]
    ro = read_only_mount(state_dir, ("state.db",))
    with pytest.raises(OSError, match="Read-only file system"):
        (ro / "new").touch()
    at = ("--state-dir", str(ro))
    (delivery,) = json.loads(cli(*at, "log", "--json").out)
    (record,) = json.loads(cli(*at, "inbox", "--user", "alice", "--json").out)
    for args in (
        ("log",), ("log", "show", delivery["id"]), ("inbox", "--user", "alice"),
        ("inbox", "show", record["id"]), ("email", "list"), ("rule", "list"),
        ("rule", "show", "q1"),
    ):  # fmt: skip
        result = cli(*at, *args)
        assert result.code == 0, (args, result.err)
        assert "readonly" not in result.err
    assert delivery["id"] in cli(*at, "log").out
    # Writing there is one line, exit 3, and the journal is as it was.
    reset = cli(*at, "rule", "reset", "q1")
    assert reset.code == 3 and reset.err.count("\n") == 1, reset.err
    assert reset.err.startswith("quaynotify: error: cannot write the state database")
    assert json.loads(cli(*at, "log", "--json").out) == [delivery]
