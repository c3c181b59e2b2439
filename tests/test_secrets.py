"""Secrets masked by value: whatever message a library builds around a token, URL or password
that it was handed, no known secret reaches stdout, stderr, `log`, `log show` or the journal
(on both backends).
And the rule for `env:`/`file:` values: surrounding whitespace is not part of the secret."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from helpers.configs import rule_add, rule_toml, write_config
from helpers.state import everything_stored, stored_bytes
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from quaynotify import masking
from quaynotify.masking import MASK, scrub
from quaynotify.store import Store

TOKEN = "hT0k3n-6f1d2c9a8b7e5f40"
EMIT = ("emit", "build_failure", "--repo", "acme/web", "--set", "build_id=b1")


def hipchat_config(config_file: Path, server: HTTPServer, token_ref: str) -> None:
    write_config(
        config_file,
        "[delivery]\nmax_attempts = 1\nbackoff = 0\n\n",
        rule_toml(
            "hipchat",
            id="r1",
            event="build_failure",
            room_id="7",
            notification_token=token_ref,
            api_url=server.url_for("").rstrip("/"),
        ),
    )


def everything_shown(cli: Cli, emitted: Any, store: Store) -> str:
    """All a user or a file could see of the run: emit's output, the journal through every
    command, and every row of the state database (of the backend under test)."""
    texts = [emitted.out, emitted.err]
    for args in (("log",), ("log", "--json"), ("log", "--failed")):
        result = cli(*args)
        texts += [result.out, result.err]
    for d in json.loads(cli("log", "--json").out):
        for args in (("log", "show", d["id"]), ("log", "show", d["id"], "--json")):
            result = cli(*args)
            texts += [result.out, result.err]
    texts.append(everything_stored(store))
    return "\n".join(texts)


def test_a_trailing_newline_in_an_env_secret_is_not_part_of_it(
    cli: Cli, config_file: Path, store: Store, httpserver: HTTPServer, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HTOK", TOKEN + "\n")  # echo $TOKEN, or a pasted secret
    hipchat_config(config_file, httpserver, "env:HTOK")
    httpserver.expect_request("/v2/room/7/notification").respond_with_data("")
    result = cli(*EMIT)
    assert result.code == 0, result.err
    (request, _), *_ = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in everything_shown(cli, result, store)


def test_a_two_line_file_secret_fails_without_showing_either_line(
    cli: Cli, config_file: Path, store: Store, httpserver: HTTPServer, tmp_path: Path
) -> None:
    first, second = TOKEN[:12], TOKEN[12:] + "-second-line"
    secret = tmp_path / "token"
    secret.write_text(f"{first}\n{second}\n")
    hipchat_config(config_file, httpserver, f"file:{secret}")
    result = cli(*EMIT)
    assert result.code == 1
    assert f"notification_token from file {secret} holds a control character" in result.err
    assert httpserver.log == []  # refused before anything was sent
    shown = everything_shown(cli, result, store)
    assert first not in shown and second not in shown


def echo_token(request: Request) -> Response:
    """A receiver that repeats the credentials it got in its reason phrase: a message no code
    of ours builds, so only masking by value can catch it."""
    return Response("", status=f"200 OK {request.headers.get('Authorization')}")


def test_a_receiver_echoing_the_token_is_masked_everywhere(
    cli: Cli, config_file: Path, store: Store, httpserver: HTTPServer, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HTOK", TOKEN)
    hipchat_config(config_file, httpserver, "env:HTOK")
    httpserver.expect_request("/v2/room/7/notification").respond_with_handler(echo_token)
    result = cli(*EMIT, "--json")
    assert result.code == 0, result.err
    (delivery,) = json.loads(result.out)["deliveries"]
    assert delivery["attempts"][0]["message"] == f"200 OK Bearer {MASK}"
    assert TOKEN not in everything_shown(cli, result, store)


def test_a_literal_token_is_masked_by_value_too(
    cli: Cli, config_file: Path, store: Store, httpserver: HTTPServer
) -> None:
    hipchat_config(config_file, httpserver, TOKEN)
    httpserver.expect_request("/v2/room/7/notification").respond_with_handler(echo_token)
    result = cli(*EMIT)
    assert result.code == 0, result.err
    assert TOKEN not in everything_shown(cli, result, store)


@pytest.mark.parametrize(
    "form",
    [
        TOKEN,
        repr(TOKEN + "\n"),  # Illegal header value b'Bearer <token>\n'
        repr((TOKEN + "é").encode()),
        json.dumps(TOKEN + "é"),
        "https://h/v1/messages/team_inbox/"
        + (TOKEN + "/é").replace("/", "%2F").replace("é", "%C3%A9"),
    ],
    ids=["plain", "repr", "bytes-repr", "json", "percent-encoded"],
)
def test_scrub_masks_the_forms_libraries_write_a_secret_in(form: str) -> None:
    masking.remember(TOKEN + "\n")
    masking.remember(TOKEN + "é")
    masking.remember(TOKEN + "/é")
    text = f"Illegal header value: {form} (while sending)"
    assert TOKEN not in scrub(text)
    assert MASK in scrub(text)


def test_each_line_of_a_multi_line_secret_is_masked_on_its_own() -> None:
    masking.remember("first-line-secret\nsecond-line-secret\n")
    assert scrub("got second-line-secret, expected x") == f"got {MASK}, expected x"


def test_short_fragments_are_not_masked_on_their_own() -> None:
    masking.remember("ab\nlong-enough-secret")
    assert scrub("a tab is ab") == "a tab is ab"


@pytest.mark.parametrize("kind", ["device", "fifo", "huge", "empty-env"])
def test_a_secret_that_cannot_be_a_secret_fails_that_delivery_at_once(
    cli: Cli, config_file: Path, httpserver: HTTPServer, tmp_path: Path, monkeypatch: Any,
    kind: str,
) -> None:  # fmt: skip
    if kind == "device":
        ref, expected = "file:/dev/zero", "refers to file /dev/zero: not a regular file"
    elif kind == "fifo":
        os.mkfifo(tmp_path / "fifo")  # no writer: reading it would block for ever
        ref, expected = f"file:{tmp_path}/fifo", "fifo: not a regular file"
    elif kind == "huge":
        (tmp_path / "huge").write_bytes(b"x" * (65 * 1024))
        ref, expected = f"file:{tmp_path}/huge", "larger than 64 KiB, which no secret is"
    else:
        monkeypatch.setenv("HTOK", "  \n")
        ref, expected = "env:HTOK", "refers to environment variable HTOK, which is empty"
    hipchat_config(config_file, httpserver, ref)
    result = cli(*EMIT)
    assert result.code == 1, result.err
    assert expected in result.err
    assert httpserver.log == []


# -- secrets in URLs, wherever a rule or a delivery is shown ----------------------------------

CONFIG = '[server]\nhostname = "quay.example.com"\n\n[delivery]\nbackoff = 0\nmax_attempts = 1\n'
PUSH = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')


def test_secrets_in_a_webhook_url_are_masked_everywhere(
    cli: Cli, config_file: Path, store: Store, state_dir: Path, httpserver: HTTPServer
) -> None:
    config_file.write_text(CONFIG)
    httpserver.expect_request("/hook").respond_with_data("", status=500)
    url = httpserver.url_for("/hook?token=t0ken-value").replace("://", "://bob:pa55word@")
    added = cli(*rule_add("webhook", "--url", url))
    assert added.code == 0, added.err
    rule_id = added.out.strip()
    emitted = cli(*PUSH)
    assert emitted.code == 1
    assert len(httpserver.log) == 1  # really sent, with the secrets
    (delivery,) = json.loads(cli("log", "--json").out)
    outputs = [
        added,
        emitted,
        cli(*PUSH, "--dry-run"),
        cli(*PUSH, "--dry-run", "--json"),
        cli("rule", "list"),
        cli("rule", "list", "--json"),
        cli("rule", "show", rule_id),
        cli("log"),
        cli("log", "show", delivery["id"]),
        cli("log", "show", delivery["id"], "--json"),
    ]
    for result in outputs:
        for secret in ("t0ken-value", "pa55word"):
            assert secret not in result.out and secret not in result.err
    assert "bob:********@" in emitted.err
    journal = stored_bytes(store, state_dir)
    assert b"t0ken-value" not in journal and b"pa55word" not in journal
    shown = json.loads(cli("--show-secrets", "rule", "show", rule_id, "--json").out)
    assert shown["config"]["url"] == url


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("hipchat", ("--room-id", "7", "--notification-token", "env:HIPCHAT_TOKEN")),
        ("flowdock", ("--flow-api-token", "env:FLOWDOCK_TOKEN")),
    ],
)
def test_a_password_in_an_api_url_is_masked_wherever_the_rule_is_shown(
    cli: Cli, config_file: Path, method: str, options: tuple[str, ...]
) -> None:
    config_file.write_text(CONFIG)
    url = "https://svc:pa55word@chat.example.com:8443/base"
    added = cli(*rule_add(method, *options, "--api-url", url, "--json"))
    assert added.code == 0, added.err
    rule_id = json.loads(added.out)["uuid"]
    outputs = [
        added,
        cli("rule", "list", "--json"),
        cli("rule", "show", rule_id),
        cli("rule", "show", rule_id, "--json"),
    ]
    for result in outputs:
        assert result.code == 0, result.err
        assert "pa55word" not in result.out + result.err
        assert "https://svc:********@chat.example.com:8443/base" in result.out
    shown = json.loads(cli("--show-secrets", "rule", "list", "--json").out)
    assert [r["config"]["api_url"] for r in shown] == [url]


def test_a_url_that_cannot_be_parsed_is_masked_whole_and_a_template_is_left_alone(
    cli: Cli, config_file: Path
) -> None:
    # Written by hand: `rule add` refuses the first URL, but `rule show` must not leak it.
    config_file.write_text(
        CONFIG
        + rule_toml(
            "hipchat",
            room_id="1",
            notification_token="env:T",
            api_url="http://svc:pa55word@[bad/x",
        )
        + rule_toml(id="b", url="http://h.example/", template='{"l": "https://x.example/?a=b"}')
    )
    (bad, templated) = json.loads(cli("rule", "list", "--json").out)
    assert bad["config"]["api_url"] == "********"
    assert templated["config"]["template"] == '{"l": "https://x.example/?a=b"}'
