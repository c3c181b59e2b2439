"""[webhook] hostname_blocklist matches addresses, not spellings: literal addresses in any form
are refused when a rule is added, and every HTTP method (webhook, Slack, HipChat, Flowdock)
is checked at send time on the address it actually connects to."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import Cli
from helpers.configs import rule_add, rule_toml, webhook_toml, write_config
from helpers.receivers import Receiver

RULE_ID = "11111111-1111-4111-8111-111111111111"
LOCAL = '[webhook]\nhostname_blocklist = ["localhost"]\n'
DELIVERY = "[delivery]\nmax_attempts = 3\nbackoff = 0\ntimeout = 5\n"
EMIT = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]')


def add(cli: Cli, url: str) -> tuple[int, str]:
    """Try to add a webhook rule to `url`: the exit code and the error."""
    result = cli(*rule_add("webhook", "--url", url))
    return result.code, result.err


# Each of these reaches this machine; Quay's exact-match list lets every one through.
THIS_MACHINE = [
    "http://127.1:8080/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://017700000001/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::1]/hook",
    "http://0.0.0.0:8080/hook",
    "http://127.0.0.2/hook",
    "http://localhost./hook",
    "http://LOCALHOST/hook",
    "http://api.localhost/hook",
]


@pytest.mark.parametrize("url", THIS_MACHINE)
@pytest.mark.parametrize("entry", ["localhost", "127.0.0.1"])
def test_rule_add_refuses_this_machine_however_it_is_written(
    cli: Cli, config_file: Path, url: str, entry: str
) -> None:
    config_file.write_text(f'[webhook]\nhostname_blocklist = ["{entry}"]\n')
    before = config_file.read_bytes()
    code, err = add(cli, url)
    assert code == 2, err
    assert err.startswith("quaynotify: error: Invalid webhook URL: refused by [webhook]")
    assert err.count("\n") == 1
    assert config_file.read_bytes() == before


def test_config_check_refuses_a_literal_address_too(cli: Cli, config_file: Path) -> None:
    write_config(config_file, LOCAL, webhook_toml("http://127.1:9/hook", id=RULE_ID))
    result = cli("config", "check")
    assert result.code == 3
    assert "rule #1" in result.err and "Invalid webhook URL" in result.err


@pytest.mark.parametrize(
    ("entries", "url"),
    [
        (["169.254.169.254"], "http://169.254.43518/latest"),  # the metadata service
        (["10.0.0.0/8"], "http://10.1.2.3/hook"),
        (["10.0.0.0/8"], "http://[::ffff:10.9.9.9]/hook"),
        (["fd00::/8"], "http://[fd12::1]/hook"),
        (["Metadata.Internal."], "http://metadata.internal/hook"),
    ],
)
def test_addresses_and_networks(cli: Cli, config_file: Path, entries: list[str], url: str) -> None:
    config_file.write_text(f"[webhook]\nhostname_blocklist = {json.dumps(entries)}\n")
    code, err = add(cli, url)
    assert code == 2, err
    assert "Invalid webhook URL" in err


def test_other_hosts_pass(cli: Cli, config_file: Path) -> None:
    config_file.write_text('[webhook]\nhostname_blocklist = ["localhost", "10.0.0.0/8"]\n')
    for url in ("https://hooks.example.com/x", "http://11.0.0.1/x", "http://192.168.1.1/x"):
        code, err = add(cli, url)
        assert code == 0, err


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host", ""])
def test_a_malformed_entry_is_a_config_problem(cli: Cli, config_file: Path, entry: str) -> None:
    config_file.write_text(f'[webhook]\nhostname_blocklist = ["{entry}"]\n')
    result = cli("config", "check")
    assert result.code == 3
    assert "[webhook] hostname_blocklist:" in result.err
    from quaynotify.methods.blocklist import Blocklist, BlocklistError

    with pytest.raises(BlocklistError):
        Blocklist([entry])


def test_the_rules_for_addresses() -> None:
    from quaynotify.methods.blocklist import Blocklist

    listed = Blocklist(["localhost", "10.0.0.0/8", "192.0.2.7"])
    for address in ("127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::", "::ffff:127.0.0.1"):
        assert listed.refuses_address("x.example", address, 1) is not None, address
    for address in ("10.200.0.1", "::ffff:10.0.0.1", "192.0.2.7"):
        assert listed.refuses_address("x.example", address, 1) is not None, address
    for address in ("192.0.2.8", "11.0.0.1", "2001:db8::1"):
        assert listed.refuses_address("x.example", address, 1) is None, address
    # Without an entry for this machine, this machine is not special.
    assert Blocklist(["10.0.0.0/8"]).refuses_address("x", "127.0.0.1", 1) is None


# -- at send time, on the address connected to -------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def journaled(cli: Cli) -> dict[str, object]:
    (delivery,) = json.loads(cli("log", "--json").out)
    document: dict[str, object] = json.loads(cli("log", "show", str(delivery["id"]), "--json").out)
    return document


def this_hosts_address() -> tuple[str, str]:
    """This machine's host name and its first IPv4 address (skip when it has none)."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        pytest.skip(f"the host name {name} does not resolve")
    return name, str(infos[0][4][0])


def test_a_name_is_checked_on_the_address_it_resolves_to(cli: Cli, config_file: Path) -> None:
    name, address = this_hosts_address()
    with Receiver(host=address) as receiver:
        write_config(
            config_file,
            DELIVERY + f'[webhook]\nhostname_blocklist = ["{address}"]\n',
            webhook_toml(f"http://{name}:{receiver.port}/hook", id=RULE_ID),
        )
        assert cli("config", "check").code == 0  # a name: only its addresses can tell
        result = cli(*EMIT)
        assert result.code == 1
        assert receiver.requests == []
    delivery = journaled(cli)
    assert delivery["status"] == "failed"
    error = str(delivery["error"])
    assert f"refused by [webhook] hostname_blocklist ({name} is {address}" in error
    attempts = delivery["attempts"]
    assert isinstance(attempts, list) and len(attempts) == 1  # a refusal is not retried


@pytest.mark.parametrize(
    ("method", "config"),
    [
        ("slack", {"url": "http://127.1:{port}/services/T/B/x"}),
        ("hipchat",
         {"room_id": "1", "notification_token": "tok3n-val", "api_url": "http://127.1:{port}"}),
        ("flowdock", {"flow_api_token": "tok3n-value", "api_url": "http://0x7f000001:{port}"}),
    ],
)  # fmt: skip
def test_every_http_method_keeps_to_the_blocklist(
    cli: Cli, config_file: Path, receiver: Receiver, method: str, config: dict[str, str]
) -> None:
    port = {key: value.format(port=receiver.port) for key, value in config.items()}
    write_config(config_file, DELIVERY + LOCAL, rule_toml(method, id=RULE_ID, **port))
    result = cli(*EMIT)
    assert result.code == 1, result.err
    assert receiver.requests == []
    delivery = journaled(cli)
    assert "refused by [webhook] hostname_blocklist" in str(delivery["error"])
    assert "this machine" in str(delivery["error"])
    attempts = delivery["attempts"]
    assert isinstance(attempts, list) and len(attempts) == 1


def test_without_a_blocklist_local_receivers_are_reached(
    cli: Cli, config_file: Path, receiver: Receiver
) -> None:
    write_config(
        config_file, DELIVERY, webhook_toml(f"http://127.1:{receiver.port}/hook", id=RULE_ID)
    )
    assert cli(*EMIT).code == 0
    assert len(receiver.requests) == 1
