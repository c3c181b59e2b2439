"""The `state` commands and where the state lives (issue 11's interface), against the suite's
real PostgreSQL server (helpers/postgres.py) and the SQLite default: `state info` and its
--json on both backends, `state copy --to` (run twice, it copies nothing twice), the order of
--state-url, QUAYNOTIFY_STATE_URL and [state] url with env:/file: references in each, what a
URL that is not PostgreSQL's gets, [state] schema, a missing psycopg, TLS to the database, and
the man page and completion of all of it. Passwords are never shown: every test that puts
one into a URL checks that no output holds it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pytest
from helpers.cli import CONSOLE, Cli, Result, console, one_error
from helpers.configs import REPO, add_rule, add_webhook, rule_add, webhook_toml, write_config
from helpers.postgres import Backend, PostgresServer
from pytest_httpserver import HTTPServer

from quaynotify.masking import MASK
from quaynotify.store import open_store
from quaynotify.store import postgres as postgres_store
from quaynotify.store import sqlite as sqlite_store

if TYPE_CHECKING:
    import trustme

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "[delivery]\nbackoff = 0\nmax_attempts = 2\n"
EXTRA = "pip install 'quaynotify[postgres]'"
# What one emit of repo_push to the three rules of `journal` adds: a delivery each, one attempt
# for each success and two for the failure (max_attempts = 2), and alice's inbox record.
PER_EMIT = {"deliveries": 3, "attempts": 4, "notifications": 1}
# `state info --json`'s keys, in order; a shared state adds "spooled".
INFO_KEYS = ["backend", "location", "schema", "schema_version",
             "deliveries", "attempts", "notifications", "authorizations"]  # fmt: skip
# A command that writes the config, and must ask the state first (is the address confirmed?).
EMAIL_RULE = rule_add("email", "--email", "ops@example.com")


@pytest.fixture
def journal(cli: Cli, config_file: Path, httpserver: HTTPServer) -> Callable[..., Result]:
    """Three rules on acme/web's repo_push: a webhook that succeeds, one that fails (500) and
    alice's notification area. `journal(*global_options)` emits once and returns the result."""
    config_file.write_text(CONFIG)
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/fail").respond_with_data("nope", status=500)
    add_webhook(cli, httpserver.url_for("/ok"))
    add_webhook(cli, httpserver.url_for("/fail"))
    add_rule(cli, "quay_notification", "--target", "user:alice")

    def emit(*options: str) -> Result:
        result = cli(*options, "emit", "repo_push", "--repo", REPO, "--set",
                     'updated_tags=["v1"]', "--json")  # fmt: skip
        assert result.code == 1, result.err  # the failing webhook
        return result

    return emit


@pytest.fixture
def databases(postgres: PostgresServer) -> Iterator[Callable[[], str]]:
    """More fresh databases for one test: `databases()` makes one and returns its URL."""
    made: list[str] = []

    def make() -> str:
        made.append(postgres.database())
        return made[-1]

    yield make
    postgres.start()
    for url in made:
        postgres.discard(url)


def info(cli: Cli, *options: str) -> dict[str, Any]:
    """`state info --json` with these global options: its document."""
    result = cli(*options, "state", "info", "--json")
    assert result.code == 0, result.err
    view: dict[str, Any] = json.loads(result.out)
    return view


def counts(view: dict[str, Any]) -> dict[str, int]:
    return {k: view[k] for k in ("deliveries", "attempts", "notifications", "authorizations")}


def times(n: int, authorizations: int = 0) -> dict[str, int]:
    """The counts after `n` emits of `journal` and `authorizations` authorizations."""
    return {**{k: v * n for k, v in PER_EMIT.items()}, "authorizations": authorizations}


def masked(url: str) -> str:
    """The URL as quaynotify shows it: its password replaced by the mask, the rest kept."""
    password = urlsplit(url).password
    assert password
    return url.replace(f":{quote(password, safe='')}@", f":{MASK}@", 1)


def unreachable(result: Result) -> str:
    """`state info` on a database it cannot reach or log in to (README, "When the database is
    down"): exit 3, what it knows on stdout (the backend and its location, masked), and one
    warning line on stderr saying why; that line's message."""
    assert result.code == 3, result.err
    shown = (
        json.loads(result.out)
        if result.out.startswith("{")
        else dict(line.split("\t", 1) for line in result.out.splitlines())
    )
    assert shown["backend"] == "postgresql" and MASK in shown["location"], result.out
    warning = "quaynotify: warning: "
    assert result.err.startswith(warning) and result.err.count("\n") == 1, result.err
    return result.err[len(warning) : -1]


def password_of(url: str) -> str:
    password = urlsplit(url).password
    assert password
    return password


def authorize(state_dir: Path, url: str | None, email: str = "ops@example.com") -> None:
    """A pending e-mail authorization for acme/web, made by the store's own domain function
    (what `email authorize` does before it mails the code)."""
    store = open_store(state_dir, url)
    try:
        store.authorizations.request(REPO, email, lambda: email.split("@")[0].ljust(16, "x"))
    finally:
        store.close()


def log_ids(cli: Cli, *options: str) -> list[str]:
    result = cli(*options, "log", "--json")
    assert result.code == 0, result.err
    return [entry["id"] for entry in json.loads(result.out)]


def dump(state_dir: Path) -> list[str]:
    """Every record of the local SQLite state, as SQL."""
    with closing(sqlite3.connect(state_dir / "state.db")) as conn:
        return list(conn.iterdump())


def user_tables(url: str) -> list[tuple[str, str]]:
    """(schema, table) of every table outside PostgreSQL's own schemas."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
    return [(str(schema), str(table)) for schema, table in rows]


# -- state info ---------------------------------------------------------------------------------


def test_state_info_shows_backend_location_schema_version_and_counts(
    cli: Cli, backend: Backend, journal: Callable[..., Result], state_dir: Path
) -> None:
    """On either backend: what it is, where (the password masked), which schema version it
    holds, and how many records of each kind, counted as they are added."""
    if backend.name == "sqlite":
        kind, where, version = "sqlite", str(state_dir / "state.db"), sqlite_store.SCHEMA_VERSION
    else:
        assert backend.url is not None
        kind, where, version = "postgresql", masked(backend.url), postgres_store.SCHEMA_VERSION
    before = info(cli)
    assert (before["backend"], before["location"], before["schema"]) == (kind, where, None)
    assert (before["schema_version"], counts(before)) == (0, times(0))

    journal()
    journal()
    authorize(state_dir, backend.url)
    view = info(cli)
    assert (view["backend"], view["location"], view["schema"]) == (kind, where, None)
    assert (view["schema_version"], counts(view)) == (version, times(2, authorizations=1))
    assert list(view) == [*INFO_KEYS, *(["spooled"] if backend.name == "postgres" else [])]
    if backend.name == "postgres":
        assert view["spooled"] == 0  # nothing is waiting for `state sync`

    text = cli("state", "info")
    assert text.code == 0, text.err
    fields = dict(line.split("\t", 1) for line in text.lines)
    assert fields == {
        "backend": kind,
        "location": where,
        "schema": "-",
        "schema version": str(version),
        **{name: str(n) for name, n in times(2, authorizations=1).items()},
        **({"spooled": "0"} if backend.name == "postgres" else {}),
    }
    if backend.url is not None:
        for result in (text, cli("state", "info", "--json")):
            assert password_of(backend.url) not in result.out + result.err


def test_state_info_on_a_new_database_creates_nothing(cli: Cli, postgres_url: str) -> None:
    """Looking is not writing: a database quaynotify never used stays empty."""
    view = info(cli, "--state-url", postgres_url)
    assert (view["schema_version"], counts(view)) == (0, times(0))
    assert user_tables(postgres_url) == []


def test_state_info_names_the_schema_of_the_config(
    cli: Cli, postgres_url: str, config_file: Path, journal: Callable[..., Result]
) -> None:
    """[state] schema shows as the schema, and in the location, once it holds records."""
    state = f'[state]\nurl = "{postgres_url}"\nschema = "team_a"\n'
    config_file.write_text(state + config_file.read_text())
    journal()
    view = info(cli)
    assert view["schema"] == "team_a"
    assert view["location"] == f"{masked(postgres_url)} (schema team_a)"
    assert (view["schema_version"], counts(view)) == (postgres_store.SCHEMA_VERSION, times(1))


def test_a_password_given_as_a_url_parameter_is_masked_too(
    cli: Cli, postgres: PostgresServer, postgres_url: str
) -> None:
    """libpq takes `?password=`: the login works with it, and no output shows it."""
    parts = urlsplit(postgres_url)
    url = (
        f"postgresql://{parts.username}@{parts.hostname}:{parts.port}{parts.path}"
        f"?password={quote(postgres.password, safe='')}&application_name=ci"
    )
    result = cli("--state-url", url, "state", "info", "--json")
    assert result.code == 0, result.err
    view = json.loads(result.out)
    assert view["location"] == (
        f"postgresql://{parts.username}@{parts.hostname}:{parts.port}{parts.path}"
        f"?password={MASK}&application_name=ci"
    )
    assert postgres.password not in result.out + result.err


def test_a_password_with_url_delimiters_logs_in_and_is_masked(
    cli: Cli, postgres: PostgresServer, postgres_url: str
) -> None:
    """A password holding @ : / ? # % & and a space, percent-encoded in the URL as it must
    be, reaches the server decoded (the login works) and shows in no form, raw or encoded."""
    password = "p@ss:w/rd?#%40& x"
    dbname = urlsplit(postgres_url).path.lstrip("/")
    role = f"special_{dbname}"  # a role for this test alone (database names are never reused)
    postgres.role(role, password)
    url = postgres.url_as(role, password, dbname)
    for result in (cli("--state-url", url, "state", "info", "--json"),
                   cli("--state-url", url, "state", "info")):  # fmt: skip
        assert result.code == 0, result.err
        for form in (password, quote(password, safe=""), "p@ss", "w/rd"):
            assert form not in result.out + result.err, form
    view = info(cli, "--state-url", url)
    assert view["location"] == f"postgresql://{role}:{MASK}@127.0.0.1:{postgres.port}/{dbname}"
    wrong = url.replace(quote(password, safe=""), quote(password + "!", safe=""))
    message = unreachable(cli("--state-url", wrong, "state", "info"))
    assert "password authentication failed" in message, message
    for form in (password, quote(password, safe=""), "p@ss", "w/rd"):
        assert form not in message, form


# -- state sync ---------------------------------------------------------------------------------


def test_state_sync_on_the_local_state_says_how_to_share_it(cli: Cli) -> None:
    """There is nothing to upload to without a shared state: a usage error that names the
    three ways to set one."""
    message = one_error(cli("state", "sync"), 2)
    assert "--state-url, QUAYNOTIFY_STATE_URL or [state] url" in message, message


def test_state_sync_with_nothing_kept_uploads_nothing(cli: Cli, postgres_url: str) -> None:
    """A run that reached the database every time left nothing to upload: sync says so,
    the location masked."""
    done = cli("--state-url", postgres_url, "state", "sync", "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out) == {"batches": 0, "skipped": 0, "deliveries": 0, "notifications": 0}
    said = cli("--state-url", postgres_url, "state", "sync")
    assert (said.code, said.out) == (0, "")
    assert said.err == f"quaynotify: nothing to upload: {masked(postgres_url)} has everything\n"


# -- state copy ---------------------------------------------------------------------------------


def test_state_copy_moves_the_local_journal_and_copies_nothing_twice(
    cli: Cli, journal: Callable[..., Result], postgres_url: str, state_dir: Path
) -> None:
    """A journal made with no URL set is copied whole; copying again copies nothing; what
    was added locally since is copied alone; the PostgreSQL state then shows it all."""
    journal()
    journal()
    authorize(state_dir, None)
    local = info(cli)
    assert (local["backend"], counts(local)) == ("sqlite", times(2, authorizations=1))
    (health,) = sqlite_store.SqliteBackend(state_dir).read("SELECT COUNT(*) FROM rule_health")

    result = cli("state", "copy", "--to", postgres_url, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "to": masked(postgres_url),
        "copied": {**times(2, authorizations=1), "rule health records": health[0]},
    }
    shared = ("--state-url", postgres_url)
    assert counts(info(cli, *shared)) == times(2, authorizations=1)

    again = cli("state", "copy", "--to", postgres_url, "--json")
    assert again.code == 0, again.err
    assert set(json.loads(again.out)["copied"].values()) == {0}
    assert counts(info(cli, *shared)) == times(2, authorizations=1)

    journal()  # one more emit on this machine, then the copy brings only that
    third = cli("state", "copy", "--to", postgres_url)
    assert third.code == 0, third.err
    assert third.err == (
        f"quaynotify: copied {PER_EMIT['deliveries']} deliveries, {PER_EMIT['attempts']} "
        f"attempts, {PER_EMIT['notifications']} notifications, 0 authorizations, 0 rule health "
        f"records from {state_dir / 'state.db'} to {masked(postgres_url)}\n"
    )
    assert counts(info(cli, *shared)) == times(3, authorizations=1)
    for output in (result, again, third):
        assert password_of(postgres_url) not in output.out + output.err


def test_log_inbox_and_rule_health_on_the_copy_are_the_local_ones(
    cli: Cli, journal: Callable[..., Result], postgres_url: str
) -> None:
    """What `log`, `log show`, `inbox` and `rule list` say of the copied state is what they
    said of the local one: the same deliveries with the same ids, attempts and statuses."""
    journal()
    journal()
    shared = ("--state-url", postgres_url)
    views = [("log",), ("inbox", "--user", "alice"), ("rule", "list")]
    before = {view: cli(*view, "--json") for view in views}
    assert all(result.code == 0 for result in before.values())
    assert cli("state", "copy", "--to", postgres_url).code == 0

    deliveries = json.loads(before[("log",)].out)
    assert len(deliveries) == 2 * PER_EMIT["deliveries"]
    assert log_ids(cli, *shared) == [d["id"] for d in deliveries]
    for view in views:
        copied = cli(*shared, *view, "--json")
        assert copied.code == 0, copied.err
        assert json.loads(copied.out) == json.loads(before[view].out), view
    failed = next(d for d in deliveries if d["status"] == "failed")
    shown = cli(*shared, "log", "show", failed["id"], "--json")
    assert json.loads(shown.out) == json.loads(cli("log", "show", failed["id"], "--json").out)
    assert len(json.loads(shown.out)["attempts"]) == 2
    # the failure count came along: the failing rule's breaker goes on from it
    rules = json.loads(cli(*shared, "rule", "list", "--json").out)
    assert sorted(r["number_of_failures"] for r in rules) == [0, 0, 2]


def test_state_copy_goes_into_the_schema_of_the_config(
    cli: Cli, journal: Callable[..., Result], postgres_url: str, config_file: Path
) -> None:
    """With [state] schema set (and no URL: the state here is still SQLite), the copy lands
    in that schema of the database, and nowhere else in it."""
    config_file.write_text('[state]\nschema = "team_a"\n' + config_file.read_text())
    journal()
    assert info(cli)["backend"] == "sqlite"
    done = cli("state", "copy", "--to", postgres_url, "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["to"] == f"{masked(postgres_url)} (schema team_a)"
    view = info(cli, "--state-url", postgres_url)
    assert (view["schema"], counts(view)) == ("team_a", times(1))
    assert {schema for schema, _ in user_tables(postgres_url)} == {"team_a"}


@pytest.mark.parametrize(
    ("target", "detail"),
    [
        ("mysql://ops:hunter2@db.example.com/quay", "must be a PostgreSQL URL"),
        ("env:NO_SUCH_STATE_URL", "refers to environment variable NO_SUCH_STATE_URL"),
    ],
)
def test_state_copy_to_what_is_not_postgresql_is_one_line_naming_to(
    cli: Cli, journal: Callable[..., Result], target: str, detail: str
) -> None:
    """The error names the option the user gave, --to, and copies nothing anywhere."""
    journal()
    message = one_error(cli("state", "copy", "--to", target), 3)
    assert message.startswith("--to ") and detail in message, message
    assert "hunter2" not in message
    assert counts(info(cli)) == times(1)  # the local state is as it was


@pytest.mark.parametrize("local", ["empty", "a journal"])
def test_state_copy_to_an_unreachable_database_fails_in_one_line(
    cli: Cli, journal: Callable[..., Result], state_dir: Path, local: str
) -> None:
    """Copying into a database nothing answers for is an error (exit 3, password masked),
    even with nothing to copy: never "copied 0" into a database that a typo named."""
    if local == "a journal":
        journal()
    url = "postgresql://quaynotify:hunter2@127.0.0.1:9/quaynotify"  # the discard port
    message = one_error(cli("state", "copy", "--to", url), 3)
    assert message.startswith("cannot reach the state database postgresql://quaynotify:"), message
    assert "hunter2" not in message
    assert counts(info(cli)) == times(1 if local == "a journal" else 0)


# -- where the state lives ----------------------------------------------------------------------


def test_the_option_wins_over_the_environment_which_wins_over_the_config(
    cli: Cli,
    journal: Callable[..., Result],
    databases: Callable[[], str],
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--state-url, then QUAYNOTIFY_STATE_URL, then [state] url, then SQLite: each emit's
    records land in the first one set, and in no other."""
    option, environment, configured = databases(), databases(), databases()
    config_file.write_text(f'[state]\nurl = "{configured}"\n' + config_file.read_text())
    monkeypatch.setenv("QUAYNOTIFY_STATE_URL", environment)

    def deliveries() -> list[int]:
        urls = (option, environment, configured)
        return [info(cli, "--state-url", url)["deliveries"] for url in urls]

    assert info(cli, "--state-url", option)["location"] == masked(option)
    journal("--state-url", option)
    assert deliveries() == [3, 0, 0]
    assert info(cli)["location"] == masked(environment)
    journal()
    assert deliveries() == [3, 3, 0]
    monkeypatch.delenv("QUAYNOTIFY_STATE_URL")
    assert info(cli)["location"] == masked(configured)
    journal()
    assert deliveries() == [3, 3, 3]
    config_file.write_text(config_file.read_text().split("\n", 2)[2])  # [state] removed
    assert info(cli)["backend"] == "sqlite"
    journal()
    assert deliveries() == [3, 3, 3]
    assert counts(info(cli)) == times(1)


def test_the_postgres_scheme_is_accepted(
    cli: Cli, journal: Callable[..., Result], postgres_url: str
) -> None:
    """`postgres://` names the same database as `postgresql://`."""
    short = "postgres://" + postgres_url.removeprefix("postgresql://")
    assert short != postgres_url
    journal("--state-url", short)
    view = info(cli, "--state-url", short)
    assert (view["backend"], view["location"]) == ("postgresql", masked(short))
    assert log_ids(cli, "--state-url", postgres_url) == log_ids(cli, "--state-url", short)
    assert counts(info(cli, "--state-url", postgres_url)) == times(1)


def _place(
    place: str, value: str, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, ...]:
    """Set the state URL to `value` in `place`; the global options that leaves to give."""
    if place == "option":
        return ("--state-url", value)
    if place == "environment":
        monkeypatch.setenv("QUAYNOTIFY_STATE_URL", value)
    else:
        config_file.write_text(f"[state]\nurl = {json.dumps(value)}\n" + config_file.read_text())
    return ()


PLACES = ["option", "environment", "config"]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("reference", ["env", "file"])
def test_an_env_or_file_reference_to_the_url_works_in_each_place(
    cli: Cli,
    journal: Callable[..., Result],
    postgres_url: str,
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    place: str,
    reference: str,
) -> None:
    """`env:NAME` and `file:PATH` (a trailing newline, as `echo` writes, is no part of it)
    name the URL wherever a URL is accepted; the records land in that database."""
    if reference == "env":
        monkeypatch.setenv("TEAM_STATE_URL", postgres_url)
        value = "env:TEAM_STATE_URL"
    else:
        secret = tmp_path / "state-url"
        secret.write_text(postgres_url + "\n")
        secret.chmod(0o600)
        value = f"file:{secret}"
    options = _place(place, value, config_file, monkeypatch)
    emitted = journal(*options)
    view = info(cli, *options)
    assert (view["backend"], view["location"]) == ("postgresql", masked(postgres_url))
    assert counts(info(cli, "--state-url", postgres_url)) == times(1)
    for result in (emitted, cli(*options, "state", "info"), cli(*options, "log")):
        assert password_of(postgres_url) not in result.out + result.err


NOT_POSTGRES = {
    "mysql": "mysql://ops:hunter2@db.example.com/quay",
    "sqlite": "sqlite:///var/lib/quaynotify/state.db",
    "bare host": "db.example.com:5432/quay",
    "env: of a mysql URL": "env:MYSQL_URL",
    "env: unset": "env:NO_SUCH_STATE_URL",
    "file: missing": "file:/nonexistent/state-url",
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("value", list(NOT_POSTGRES.values()), ids=list(NOT_POSTGRES))
def test_a_state_url_that_is_not_postgresql_is_one_line_exit_3_and_the_config_is_unchanged(
    cli: Cli,
    journal: Callable[..., Result],
    config_file: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    place: str,
    value: str,
) -> None:
    """Config or state unusable (exit 3), one line naming where the URL came from, its
    password masked; every command that needs the state fails so, and none of them, even
    one that writes the config when it succeeds, changes a byte of it."""
    journal()  # a local journal, which none of them may touch either
    rule = json.loads(cli("rule", "list", "--json").out)[0]["uuid"]
    journal_before = dump(state_dir)
    monkeypatch.setenv("MYSQL_URL", NOT_POSTGRES["mysql"])
    options = _place(place, value, config_file, monkeypatch)
    config = config_file.read_bytes()
    source = {"option": "--state-url", "environment": "QUAYNOTIFY_STATE_URL"}.get(
        place, "[state] url"
    )
    commands = [
        ("state", "info"),
        ("log",),
        ("emit", "repo_push", "--repo", REPO, "--sample"),
        ("rule", "reset", rule),
        EMAIL_RULE,
        ("inbox", "--user", "alice"),
    ]
    for command in commands:
        message = one_error(cli(*options, *command), 3)
        assert source in message, (command, message)
        assert "hunter2" not in message
        assert config_file.read_bytes() == config, command
    assert dump(state_dir) == journal_before


def test_an_unreachable_database_fails_rule_add_without_touching_the_config(
    cli: Cli, journal: Callable[..., Result], config_file: Path
) -> None:
    """`rule add --method email` must ask the state whether the address is confirmed: with
    the database out of reach it fails in one line (password masked), the config as it was."""
    config = config_file.read_bytes()
    url = "postgresql://quaynotify:hunter2@127.0.0.1:9/quaynotify"  # the discard port
    message = one_error(cli("--state-url", url, *EMAIL_RULE), 3)
    assert "cannot reach the state database" in message and "hunter2" not in message
    assert config_file.read_bytes() == config


# -- [state] schema -----------------------------------------------------------------------------


@pytest.mark.parametrize("schema", ["Team-A", "1team", "a" * 64, "public; DROP TABLE x"])
def test_a_schema_that_is_no_postgresql_name_is_one_line_exit_3(
    cli: Cli, postgres_url: str, config_file: Path, schema: str
) -> None:
    """[state] schema is checked when the config is read, before any database is used."""
    write_config(config_file, f"[state]\nurl = {json.dumps(postgres_url)}\n",
                 f"schema = {json.dumps(schema)}\n")  # fmt: skip
    message = one_error(cli("state", "info"), 3)
    assert "[state] schema must be a PostgreSQL schema name" in message, message
    assert password_of(postgres_url) not in message
    assert user_tables(postgres_url) == []


def test_two_schemas_on_one_database_keep_independent_journals(
    cli: Cli, postgres_url: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Two configs naming one database with different [state] schema: each `log` and
    `state info` sees its own deliveries alone; a third config without a schema sees none."""
    httpserver.expect_request("/ok").respond_with_data("ok")
    configs: dict[str, Path] = {}
    for team in ("team_a", "team_b", "public"):
        schema = f'schema = "{team}"\n' if team != "public" else ""
        configs[team] = write_config(
            tmp_path / f"{team}.toml", f'[state]\nurl = "{postgres_url}"\n{schema}\n', CONFIG
        )
    rules = {}
    for team in ("team_a", "team_b"):
        hook = rule_add("webhook", "--url", httpserver.url_for("/ok"))
        added = cli("--config", str(configs[team]), *hook)
        assert added.code == 0, added.err
        rules[team] = added.out.strip()
    emitted: dict[str, list[str]] = {"team_a": [], "team_b": []}
    for team in ("team_a", "team_a", "team_b"):
        result = cli("--config", str(configs[team]), "emit", "repo_push", "--repo", REPO,
                     "--sample", "--json")  # fmt: skip
        assert result.code == 0, result.err
        emitted[team] += [d["id"] for d in json.loads(result.out)["deliveries"]]

    for team, ids in emitted.items():
        entries = json.loads(cli("--config", str(configs[team]), "log", "--json").out)
        assert sorted(e["id"] for e in entries) == sorted(ids)
        assert {e["rule_id"] for e in entries} == {rules[team]}
        view = info(cli, "--config", str(configs[team]))
        assert (view["schema"], view["deliveries"]) == (team, len(ids))
    assert len(emitted["team_a"]) == 2 and len(emitted["team_b"]) == 1
    assert info(cli, "--config", str(configs["public"]))["deliveries"] == 0
    tables = user_tables(postgres_url)
    assert {schema for schema, _ in tables} == {"team_a", "team_b"}
    assert ("team_a", "delivery") in tables and ("team_b", "delivery") in tables


# -- psycopg missing ----------------------------------------------------------------------------


@pytest.fixture
def no_psycopg(tmp_path: Path) -> dict[str, str]:
    """The environment of a Python where `import psycopg` fails, as it does without the
    extra: a sitecustomize on PYTHONPATH blocks the module before anything runs."""
    site = tmp_path / "no-psycopg"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nsys.modules['psycopg'] = None  # the postgres extra is not installed\n"
    )
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    probe = subprocess.run(
        [sys.executable, "-c", "import psycopg"], env=env, capture_output=True, text=True
    )
    assert probe.returncode == 1 and "ModuleNotFoundError" in probe.stderr, probe
    return env


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert (proc.returncode, proc.stdout) == (3, ""), proc
    assert proc.stderr.startswith("quaynotify: error: ") and proc.stderr.count("\n") == 1, proc
    return proc.stderr


@pytest.mark.parametrize("place", PLACES)
def test_a_postgresql_url_without_psycopg_names_the_extra(
    no_psycopg: dict[str, str], postgres_url: str, config_file: Path, place: str
) -> None:
    """The database is there and reachable; without its driver the command says which
    extra to install, in one line with exit 3, wherever the URL was set."""
    env = dict(no_psycopg)
    options: tuple[str, ...] = ()
    state = ""
    if place == "option":
        options = ("--state-url", postgres_url)
    elif place == "environment":
        env["QUAYNOTIFY_STATE_URL"] = postgres_url
    else:
        state = f'[state]\nurl = "{postgres_url}"\n\n'
    write_config(config_file, state, webhook_toml())
    emit = ("emit", "repo_push", "--repo", REPO, "--sample")
    copy = ("state", "copy", "--to", postgres_url)
    for command in (("state", "info"), ("log",), ("state", "sync"), emit, ("rule", "list"), copy):
        stderr = _one_line(console(*options, *command, env=env))
        assert EXTRA in stderr and masked(postgres_url) in stderr, stderr
        assert password_of(postgres_url) not in stderr
    assert user_tables(postgres_url) == []


def test_without_psycopg_sqlite_state_works(
    no_psycopg: dict[str, str], config_file: Path, httpserver: HTTPServer
) -> None:
    """SQLite users need no driver: rules, emit, the journal, the inbox and state info all
    work in a Python that cannot import psycopg (any import of it would be a traceback)."""
    httpserver.expect_request("/ok").respond_with_data("ok")
    config_file.write_text(CONFIG)
    env = no_psycopg
    for rule in (
        ("--method", "webhook", "--url", httpserver.url_for("/ok")),
        ("--method", "quay_notification", "--target", "user:alice"),
    ):
        added = console("rule", "add", "--repo", REPO, "--event", "repo_push", *rule, env=env)
        assert added.returncode == 0, added.stderr
    emitted = console("emit", "repo_push", "--repo", REPO, "--sample", "--json", env=env)
    assert emitted.returncode == 0, emitted.stderr
    assert len(httpserver.log) == 1
    for command in (("log",), ("inbox", "--user", "alice"), ("rule", "list"), ("email", "list")):
        proc = console(*command, "--json", env=env)
        assert (proc.returncode, proc.stderr) == (0, ""), (command, proc.stderr)
    shown = console("state", "info", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert (view["backend"], view["deliveries"], view["notifications"]) == ("sqlite", 2, 1)


# -- TLS to the database ------------------------------------------------------------------------


@pytest.fixture
def tls_database(postgres_tls: PostgresServer) -> Iterator[str]:
    """A fresh database on the server that takes TCP logins over TLS alone."""
    url = postgres_tls.database()
    yield url
    postgres_tls.discard(url)


def test_verify_full_with_the_servers_ca_reaches_the_database(
    cli: Cli,
    journal: Callable[..., Result],
    tls_database: str,
    ca: trustme.CA,
    tmp_path: Path,
) -> None:
    """sslmode=verify-full and sslrootcert reach libpq: the certificate (issued for
    127.0.0.1 by the suite's CA) is verified, and the state is used over TLS, the only way
    that server lets anyone in."""
    root = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(root))
    url = f"{tls_database}?sslmode=verify-full&sslrootcert={root}"
    journal("--state-url", url)
    view = info(cli, "--state-url", url)
    assert view["location"] == masked(url)  # libpq's parameters are shown, the password not
    assert counts(view) == times(1)
    assert len(log_ids(cli, "--state-url", url)) == PER_EMIT["deliveries"]


def test_verify_full_with_another_ca_is_refused_in_one_line(
    cli: Cli, tls_database: str, tmp_path: Path
) -> None:
    """A certificate that the given sslrootcert did not sign is not trusted: one line, exit
    3, the password masked; nothing is created in the database."""
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    url = f"{tls_database}?sslmode=verify-full&sslrootcert={other}"
    message = unreachable(cli("--state-url", url, "state", "info"))
    assert message.startswith(f"cannot reach the state database {masked(url)}: "), message
    assert "certificate verify failed" in message, message
    assert password_of(url) not in message
    assert user_tables(tls_database) == []  # (libpq's default sslmode, prefer, gets in)


@pytest.mark.parametrize(("sslmode", "reached"), [("verify-ca", True), ("verify-full", False)])
def test_verify_full_checks_the_host_name_and_verify_ca_does_not(
    cli: Cli, tls_database: str, ca: trustme.CA, tmp_path: Path, sslmode: str, reached: bool
) -> None:
    """The certificate names 127.0.0.1; the URL names localhost (libpq's hostaddr makes it
    connect to 127.0.0.1 all the same): verify-full refuses the name, verify-ca does not
    look at it."""
    root = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(root))
    parts = urlsplit(tls_database)
    netloc = parts.netloc.replace("@127.0.0.1:", "@localhost:")
    url = (
        f"postgresql://{netloc}{parts.path}?hostaddr=127.0.0.1&sslmode={sslmode}&sslrootcert={root}"
    )
    result = cli("--state-url", url, "state", "info", "--json")
    if reached:
        assert result.code == 0, result.err
        assert json.loads(result.out)["location"] == masked(url)
    else:
        message = unreachable(result)
        assert 'does not match host name "localhost"' in message, message
    assert password_of(url) not in result.out + result.err


def test_sslmode_disable_reaches_libpq_too(cli: Cli, tls_database: str) -> None:
    """sslmode=disable is obeyed: without TLS, that server turns the login away."""
    url = f"{tls_database}?sslmode=disable"
    message = unreachable(cli("--state-url", url, "state", "info"))
    assert "no encryption" in message, message
    assert password_of(url) not in message


# -- the man page and completion ----------------------------------------------------------------


def test_the_man_page_covers_the_state_commands_and_the_state_url() -> None:
    """Each state command has its subsection with its options; --state-url is a global
    option and QUAYNOTIFY_STATE_URL an environment variable of the page."""
    roff = (ROOT / "man" / "quaynotify.1").read_text(encoding="utf-8")

    def section(heading: str) -> str:
        start = roff.index(heading + "\n")
        end = roff.find("\n.S", start + len(heading))
        return roff[start : end if end != -1 else len(roff)]

    for command, options in (("info", ["--json"]), ("sync", ["--json"]), ("copy", ["--to"])):
        text = section(f'.SS "state {command}"')
        assert f"\\fBquaynotify state {command}\\fR" in text
        for option in options:
            escaped = option.replace("-", "\\-")
            assert f"\\fB{escaped}\\fR" in text, (command, option)
    globals_ = section(".SH OPTIONS")
    assert "\\fB\\-\\-state\\-url\\fR \\fIURL\\fR" in globals_
    assert "QUAYNOTIFY_STATE_URL" in globals_
    assert "\\fBQUAYNOTIFY_STATE_URL\\fR" in section(".SH ENVIRONMENT")


def complete(env: dict[str, str], line: str) -> list[str]:
    """What the installed command offers for `line` (the cursor at its end), through the
    protocol every checked-in completion script speaks (see test_completions.py)."""
    words = line.split(" ")
    proc = subprocess.run(
        [CONSOLE],
        env={
            **env,
            "_QUAYNOTIFY_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    return proc.stdout.split()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("quaynotify state ", ["copy", "info", "sync"]),
        ("quaynotify state c", ["copy"]),
        ("quaynotify --state-", ["--state-dir", "--state-url"]),
        ("quaynotify state copy --t", ["--to"]),
        ("quaynotify state info --j", ["--json"]),
    ],
)
def test_completion_offers_the_state_commands_and_options(line: str, expected: list[str]) -> None:
    assert sorted(complete(dict(os.environ), line)) == expected
