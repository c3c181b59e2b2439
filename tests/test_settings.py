"""Typed settings (config/settings.py, methods/tables.py): every table of the config parsed
once, when the config is loaded, into a typed value that is handed to the methods."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from pytest_httpserver import HTTPServer

from quaynotify.config.load import load
from quaynotify.config.settings import DeliverySettings, JournalSettings, Server, Settings
from quaynotify.errors import ConfigError, ExitCode, ValidationError
from quaynotify.methods import TABLE_KEYS, method_tables, smtp, webhook
from quaynotify.methods.blocklist import BLOCKLIST
from quaynotify.methods.flowdock import SENDER
from quaynotify.methods.http import TlsSettings
from quaynotify.methods.quay_notification import DIRECTORY, Directory
from quaynotify.methods.smtp import SMTP, SmtpSettings
from quaynotify.methods.tables import MethodSettings, Table
from quaynotify.methods.webhook import WEBHOOK, WebhookSettings

SETTINGS = """\
[server]
hostname = "quay.example.com"
scheme = "http"

[delivery]
timeout = 2
max_attempts = 5
retry_on = "transient"

[journal]
keep_days = 7

[smtp]
host = "smtp.example.com"
security = "ssl"
sender = "quay@acme.test"

[webhook]
ca_bundle = "/nowhere/ca.pem"
hostname_blocklist = ["10.0.0.0/8"]

[teams.acme]
owners = ["alice", "bob"]

[orgs.acme]
admins = ["carol"]
"""


def rule(n: int, method: str, config: str) -> str:
    return (
        f'\n[[rule]]\nid = "rule-{n}"\nrepository = "acme/web"\nevent = "repo_push"\n'
        f'method = "{method}"\nconfig = {config}\n'
    )


# -- the typed objects ----------------------------------------------------------------------------


def assert_defaults(settings: Settings) -> None:
    assert settings.server == Server(hostname="quay.io", scheme="https")
    assert settings.delivery == DeliverySettings(
        timeout=10.0,
        max_attempts=3,
        backoff=1.0,
        max_backoff=30.0,
        concurrency=8,
        retry_on="any",
        disable_after=3,
    )
    assert settings.journal == JournalSettings(keep_days=30.0)
    methods = settings.methods
    assert methods[SMTP] == SmtpSettings(
        host="",
        port=587,
        security="starttls",
        username="",
        password="",
        sender="",
        timeout=10.0,
        ca_bundle="",
    )
    assert methods[WEBHOOK] == WebhookSettings(tls=TlsSettings(), blocklist=None)
    assert TlsSettings() == TlsSettings(None, None, None, None)
    assert methods[BLOCKLIST] is None
    assert methods[DIRECTORY] == Directory(teams={}, orgs={})
    assert methods[SENDER] == "admin@example.com"  # Quay's default sender


def test_defaults_without_a_config_file(config_file: Path) -> None:
    config_file.unlink()  # the suite's config starts as an empty file
    conf = load(config_file)
    assert not conf.exists
    assert_defaults(conf.settings)


def test_defaults_of_an_empty_config_file(config_file: Path) -> None:
    config_file.write_text("# nothing yet\n")
    assert load(config_file).exists
    assert_defaults(load(config_file).settings)
    assert_defaults(Settings())


def test_every_table_is_typed(config_file: Path) -> None:
    config_file.write_text(SETTINGS)
    settings = load(config_file).settings
    assert settings.server == Server("quay.example.com", "http")
    assert settings.delivery == DeliverySettings(timeout=2.0, max_attempts=5, retry_on="transient")
    assert isinstance(settings.delivery.timeout, float)
    assert settings.journal.keep_days == 7.0
    methods = settings.methods
    assert methods[SMTP] == SmtpSettings(
        host="smtp.example.com", port=465, security="ssl", sender="quay@acme.test"
    )
    assert methods[SENDER] == "quay@acme.test"
    # Parsing checks the table, not the files it names: that is `config check`'s (below).
    assert methods[WEBHOOK].tls == TlsSettings(ca_bundle="/nowhere/ca.pem")
    blocklist = methods[WEBHOOK].blocklist
    assert blocklist is not None and blocklist.entries == ("10.0.0.0/8",)
    assert methods[BLOCKLIST] is blocklist  # one object: its names are looked up once a run
    assert methods[DIRECTORY].members("acme", "owners") == ("alice", "bob")
    assert methods[DIRECTORY].administered_by("carol") == ("acme",)


def test_a_rules_certificate_brings_its_own_key() -> None:
    table = {"ca_bundle": "ca.pem", "client_cert": "table.pem", "client_key": "table.key"}
    settings = webhook.parse_webhook(table)
    assert settings.tls_for({}) == TlsSettings("ca.pem", "table.pem", "table.key")
    assert settings.tls_for({"client_cert": "rule.pem"}) == TlsSettings("ca.pem", "rule.pem")


def test_every_method_table_is_known_to_the_loader(config_file: Path) -> None:
    keys = {key for table in method_tables() for key in table.keys}
    assert keys == {"smtp", "webhook", "teams", "orgs"} == set(TABLE_KEYS)
    config_file.write_text("[smtps]\n")
    with pytest.raises(ConfigError) as raised:
        load(config_file)
    for key in ("server", "delivery", "journal", *keys, "rule"):
        assert key in raised.value.message.partition("expected one of ")[2].split(", ")


# -- a table that does not parse ------------------------------------------------------------------


def test_a_table_that_does_not_parse_fails_where_it_is_used(cli: Cli, config_file: Path) -> None:
    config_file.write_text(
        '[smtp]\nsecurity = "startls"\n\n[webhook]\nclient_key = "k.pem"\n'
        + rule(1, "slack", '{ url = "https://hooks.example/x" }')
    )
    methods = load(config_file).settings.methods  # loading does not fail...
    with pytest.raises(ConfigError) as first:
        methods[SMTP]
    with pytest.raises(ConfigError) as second:
        methods[SMTP]
    message = '[smtp] security must be "starttls", "ssl" or "none", got \'startls\''
    assert first.value.message == second.value.message == message
    assert first.value is not second.value  # a fresh error each time: many rules raise it
    with pytest.raises(ValidationError, match=r"^\[webhook\] client_key is set without"):
        methods[WEBHOOK]
    assert methods[SENDER] == "admin@example.com"  # read leniently, as it always was
    assert methods[BLOCKLIST] is None
    # ...nor does a command that uses neither table; `config check` reports both
    assert cli("rule", "list").code == 0
    result = cli("config", "check")
    assert result.code == ExitCode.CONFIG
    assert message in result.err
    assert "[webhook] client_key is set without [webhook] client_cert" in result.err


def test_an_unexpected_parse_failure_is_kept_as_well() -> None:
    def broken(doc: Any) -> None:
        raise RuntimeError("a defect")

    table = Table(("broken",), broken)
    settings = MethodSettings({})
    with pytest.raises(RuntimeError, match="a defect"):
        settings[table]
    with pytest.raises(RuntimeError, match="a defect"):
        settings[table]


def test_a_table_is_parsed_when_first_read_and_once_whichever_thread_reads_it() -> None:
    calls: list[str] = []
    started = threading.Barrier(8)

    def slow(doc: Any) -> str:
        calls.append("parse")
        time.sleep(0.05)  # widens the window in which a second parse could start
        return str(doc["pager"]["key"])

    table = Table(("pager",), slow)
    settings = MethodSettings({"pager": {"key": "k1"}})
    assert calls == []  # nothing is parsed until read

    def read() -> str:
        started.wait()
        return settings[table]

    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: read(), range(8)))
    assert values == ["k1"] * 8
    assert calls == ["parse"]


# -- parsed once ----------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each table parser runs."""
    calls: Counter[str] = Counter()

    def counting(name: str, parse: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            calls[name] += 1
            return parse(*args)

        return wrapper

    monkeypatch.setattr(smtp, "parse_smtp", counting("smtp", smtp.parse_smtp))
    monkeypatch.setattr(webhook, "parse_webhook", counting("webhook", webhook.parse_webhook))
    return calls


def test_tables_are_parsed_once_per_command_however_many_attempts(
    cli: Cli, config_file: Path, httpserver: HTTPServer, parses: Counter[str]
) -> None:
    httpserver.expect_request(re.compile("/hook.*")).respond_with_data("down", status=500)
    url = httpserver.url_for("/hook")
    config_file.write_text(
        "[delivery]\nmax_attempts = 3\nbackoff = 0\nmax_backoff = 0\n\n"
        f'[smtp]\nhost = "127.0.0.1"\nport = {closed_port()}\nsecurity = "none"\n'
        'sender = "quay@example.com"\n\n[webhook]\nhostname_blocklist = ["10.0.0.0/8"]\n'
        + "".join(rule(n, "webhook", f'{{ url = "{url}" }}') for n in range(3))
        + "".join(rule(n, "email", '{ email = "dev@example.com" }') for n in range(3, 5))
        + rule(5, "flowdock", f'{{ flow_api_token = "t", api_url = "{url}" }}')
    )
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    assert result.code == ExitCode.FAILED, result.err
    assert parses == {"smtp": 1, "webhook": 1}
    logged = json.loads(cli("log", "--json").out)
    assert sorted(d["method"] for d in logged) == ["email"] * 2 + ["flowdock"] + ["webhook"] * 3
    assert {d["attempt_count"] for d in logged} == {3}  # 18 attempts, every one retried
    assert len(httpserver.log) == 12
