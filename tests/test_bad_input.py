"""Bad input to every command: one `quaynotify: error: ...` line naming what is wrong, the
documented exit code (2 bad input, 3 config or state unusable), no traceback, nothing on stdout,
nothing sent, and the config file left exactly as it was."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import CONSOLE, Cli
from helpers.configs import NOWHERE, rule_add, rule_toml
from helpers.receivers import Receiver

from quaynotify.inputs import MAX_DATA_BYTES
from quaynotify.store import open_store

PREFIX = "quaynotify: error: "
USAGE, CONFIG = 2, 3
R1 = "11111111-1111-4111-8111-111111111111"
R2 = "22222222-2222-4222-8222-222222222222"
BASE = f"""\
# A comment and a layout that no failed command may touch.
[server]
hostname = "quay.example.com"

[delivery]
backoff = 0
max_attempts = 1
timeout = 1

[smtp]
host = "127.0.0.1"
port = 9
security = "none"
sender = "quay@example.com"

[[rule]]
id = "{R1}"
repository = "acme/web"
event = "repo_push"
method = "webhook"
config = {{ url = "http://127.0.0.1:9/hook" }}

[[rule]]
id = "{R2}"
repository = "acme/web"
event = "build_failure"
method = "webhook"
config = {{ url = "http://127.0.0.1:9/hook" }}
event_config = {{ "ref-regex" = "refs/heads/main" }}
""".encode()
DELIVERY = "[delivery]\n"
HOOK = ("--url", NOWHERE)


ADD = rule_add()
BUILD = rule_add(event="build_failure")
EMIT = ("emit", "repo_push", "--repo", "acme/web")
TAGS = ("--set", 'updated_tags=["latest"]')
DEEP = ("[" * 100_000 + "]" * 100_000).encode()
# Deep enough to exhaust a recursive walk, shallow enough for json.loads to parse.
DEEPISH = "[" * 900 + "]" * 900
TOO_BIG = MAX_DATA_BYTES + 1
LINE = b'{"event": "repo_push", "repository": "acme/web", "data": {"updated_tags": ["a"]}}\n'
FIFO = "fifo"  # in Case.files: a named pipe
HARD_LINK = "hard link"  # in Case.files: another name of the config file


def newer_state() -> bytes:
    """A state database as a later quaynotify (schema version 99) would leave it."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.execute("PRAGMA user_version = 99")
    data = conn.serialize()
    conn.close()
    return data


NEWER_STATE = newer_state()


def _client_pems() -> tuple[bytes, bytes]:
    """A client certificate and its key encrypted with a pass phrase, as PEM."""
    import trustme
    from cryptography.hazmat.primitives import serialization

    issued = trustme.CA().issue_cert("client@example.com")
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    return issued.cert_chain_pems[0].bytes(), encrypted


CLIENT_CERT, ENCRYPTED_KEY = _client_pems()
CLIENT_FILES = ("--client-cert", "{tmp}/client.pem", "--client-key", "{tmp}/client.key")

# Bugs found by these tests, one reason per cause.


@dataclass(frozen=True)
class Case:
    """One bad input: the command line (`{tmp}` is the test's temp dir), what the config and
    files hold, and the exact exit code and a fragment of the one error line."""

    args: tuple[str, ...]
    code: int
    fragment: str
    config: bytes = BASE
    files: Mapping[str, bytes | int | str | None] = field(default_factory=dict)  # None: a dir
    stdin: bytes | None = None
    process: bool = False  # run the installed command (bytes in argv need a real process)
    database: bool = False  # create the state database first
    bug: str | None = None


def bad_config(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


def rule_config(event: str = "repo_push", method: str = "webhook") -> bytes:
    return rule_toml(method, event=event, url=NOWHERE).encode()


CASES: dict[str, Case] = {
    # -- config syntax and semantics (exit 3) ---------------------------------------------------
    "toml-malformed/rule-list": Case(
        ("rule", "list"), CONFIG, "is not valid TOML", bad_config("[delivery\n")
    ),
    "toml-malformed/rule-add": Case(
        (*ADD, *HOOK), CONFIG, "is not valid TOML", bad_config("a = [1,\n")
    ),
    "toml-not-utf8/rule-remove": Case(
        ("rule", "remove", "a"), CONFIG, "is not UTF-8", bad_config(b'a = "\xff"\n' + rule_config())
    ),
    "toml-not-utf8/emit": Case((*EMIT, *TAGS), CONFIG, "is not UTF-8", b"# \xe9t\xe9\n"),
    "unknown-table/rule-show": Case(
        ("rule", "show", "a"), CONFIG, "unknown table or key 'deliverys'", b"[deliverys]\n"
    ),
    "delivery-timeout-string/emit": Case(
        (*EMIT, *TAGS), CONFIG, "[delivery] timeout must be a number", b'[delivery]\ntimeout="1"\n'
    ),
    "delivery-timeout-inf/config-check": Case(
        ("config", "check"),
        CONFIG,
        "[delivery] timeout is out of range: inf: it must be a number of seconds > 0 and at most",
        b"[delivery]\ntimeout = inf\n",
    ),
    "delivery-timeout-nan/emit": Case(
        (*EMIT, *TAGS),
        CONFIG,
        "[delivery] timeout is out of range: nan",
        b"[delivery]\ntimeout = nan\n",
    ),
    "delivery-timeout-over-a-day/rule-list": Case(
        ("rule", "list"),
        CONFIG,
        "[delivery] timeout is out of range: 86401.0",
        b"[delivery]\ntimeout = 86401\n",
    ),
    "delivery-backoff-huge/emit": Case(
        (*EMIT, *TAGS),
        CONFIG,
        "[delivery] backoff is out of range: 1e+308",
        b"[delivery]\nbackoff = 1e308\n",
    ),
    "delivery-max-backoff-inf/replay": Case(
        ("replay", "--failed"),
        CONFIG,
        "[delivery] max_backoff is out of range: inf",
        b"[delivery]\nmax_backoff = inf\n",
    ),
    "journal-keep-days-nan/emit": Case(
        (*EMIT, *TAGS), CONFIG, "[journal] takes one key", b"[journal]\nkeep_days = nan\n"
    ),
    "smtp-timeout-inf/email-authorize": Case(
        ("email", "authorize", "acme/web", "dev@example.com"),
        CONFIG,
        "[smtp] timeout must be at most 86400 seconds (a day), got inf",
        b'[smtp]\nhost = "h"\nsender = "q@example.com"\ntimeout = inf\n',
    ),
    "smtp-timeout-nan/config-check": Case(
        ("config", "check"), CONFIG, "[smtp] timeout", b"[smtp]\ntimeout = nan\n"
    ),
    "delivery-concurrency-zero/replay": Case(
        ("replay", "--failed"),
        CONFIG,
        "[delivery] concurrency is out of range",
        b"[delivery]\nconcurrency = 0\n",
    ),
    "delivery-attempts-float/rule-test": Case(
        ("rule", "test", "a"),
        CONFIG,
        "[delivery] max_attempts must be a whole number",
        b"[delivery]\nmax_attempts = 1.5\n" + rule_config(),
    ),
    "delivery-retry-on/emit": Case(
        (*EMIT, *TAGS),
        CONFIG,
        '[delivery] retry_on must be "any" or "transient"',
        b'[delivery]\nretry_on = "sometimes"\n',
    ),
    "toml-nested-deeply/rule-list": Case(
        ("rule", "list"),
        CONFIG,
        "nests tables or arrays more than 100 levels deep",
        b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    ),
    "toml-dotted-keys-deeply/rule-list-json": Case(
        ("rule", "list", "--json"),
        CONFIG,
        "more than 100 levels deep",
        rule_config() + b"event_config." + b".".join([b"x"] * 5000) + b" = 1\n",
    ),
    "toml-dotted-keys-deeply/rule-disable": Case(
        ("rule", "disable", "a"),
        CONFIG,
        "more than 100 levels deep",
        b"teams.acme." + b".".join([b"x"] * 5000) + b" = 1\n" + rule_config(),
    ),
    "server-hostname-number/events-sample": Case(
        ("events", "repo_push", "--sample"),
        CONFIG,
        "[server] hostname must be a string",
        b"[server]\nhostname = 5\n",
    ),
    "server-scheme/rule-add": Case(
        (*ADD, *HOOK),
        CONFIG,
        '[server] scheme must be "http" or "https"',
        b'[server]\nscheme = "ftp"\n',
    ),
    "journal-keep-days/emit": Case(
        (*EMIT, *TAGS),
        CONFIG,
        "[journal] takes one key, keep_days",
        b"[journal]\nkeep_days = -1\n",
    ),
    "smtp-port-string/email-authorize": Case(
        ("email", "authorize", "acme/web", "dev@example.com"),
        CONFIG,
        "[smtp] port",
        b'[smtp]\nhost = "h"\nsender = "q@example.com"\nport = "x"\n',
    ),
    "smtp-security/rule-add-email": Case(
        rule_add("email", "--email", "dev@example.com"),
        CONFIG,
        "[smtp] security",
        b'[smtp]\nsecurity = "tls"\n',
    ),
    "smtp-port-string/config-check": Case(
        ("config", "check"), CONFIG, "[smtp] port", b'[smtp]\nport = "x"\n'
    ),
    "webhook-unknown-key/config-check": Case(
        ("config", "check"), CONFIG, "[webhook]", b"[webhook]\nfoo = 1\n"
    ),
    "webhook-client-key-without-cert/config-check": Case(
        ("config", "check"),
        CONFIG,
        "[webhook] client_key is set without [webhook] client_cert",
        b'[webhook]\nclient_key = "/etc/quaynotify/client.key"\n',
    ),
    "webhook-client-cert-number/config-check": Case(
        ("config", "check"),
        CONFIG,
        "[webhook] client_cert must be a string, got 5",
        b"[webhook]\nclient_cert = 5\n",
    ),
    "webhook-blocklist-bad-network/config-check": Case(
        ("config", "check"),
        CONFIG,
        "[webhook] hostname_blocklist: '10.0.0.0/33' is not a network",
        b'[webhook]\nhostname_blocklist = ["10.0.0.0/33"]\n',
    ),
    "rule-table-not-array/rule-enable": Case(
        ("rule", "enable", "a"), CONFIG, "'rule' must be an array of tables", b"rule = 5\n"
    ),
    "duplicate-rule-ids/rule-list": Case(
        ("rule", "list"), CONFIG, "two rules have the id a", rule_config() + rule_config()
    ),
    "rule-unknown-event/inbox": Case(
        ("inbox", "--user", "alice"),
        CONFIG,
        "unknown event 'repo_pushed'",
        rule_config(event="repo_pushed"),
    ),
    "rule-unknown-method/log-rule": Case(
        ("log", "--rule", "a"), CONFIG, "unknown method 'webhooks'", rule_config(method="webhooks")
    ),
    "rule-unknown-method/rule-disable": Case(
        ("rule", "disable", "a"),
        CONFIG,
        "unknown method 'webhooks'",
        rule_config(method="webhooks"),
    ),
    "config-is-a-directory/rule-list": Case(
        ("--config", "{tmp}/adir", "rule", "list"), CONFIG, "is a directory", files={"adir": None}
    ),
    "config-is-a-directory/rule-add": Case(
        ("--config", "{tmp}/adir", *ADD, *HOOK), CONFIG, "is a directory", files={"adir": None}
    ),
    "config-is-a-directory/emit": Case(
        ("--config", "{tmp}/adir", *EMIT, *TAGS), CONFIG, "is a directory", files={"adir": None}
    ),
    "config-missing/config-check": Case(
        ("--config", "{tmp}/nope.toml", "config", "check"),
        CONFIG,
        "nope.toml does not exist: create it with `quaynotify rule add ...`, "
        "or fix the path given with --config",
    ),
    "config-is-a-directory/config-check": Case(
        ("--config", "{tmp}/adir", "config", "check"),
        CONFIG,
        "is a directory",
        files={"adir": None},
    ),
    "config-is-a-fifo/rule-list": Case(
        ("--config", "{tmp}/pipe", "rule", "list"),
        CONFIG,
        "is a named pipe (FIFO), not a regular file",
        files={"pipe": FIFO},
    ),
    "config-is-a-fifo/rule-add": Case(
        ("--config", "{tmp}/pipe", *ADD, *HOOK), CONFIG, "is a named pipe", files={"pipe": FIFO}
    ),
    "config-is-a-fifo/config-check": Case(
        ("--config", "{tmp}/pipe", "config", "check"),
        CONFIG,
        "is a named pipe",
        files={"pipe": FIFO},
    ),
    "config-hard-linked/rule-add": Case(
        (*ADD, *HOOK), CONFIG, "has 2 hard links", files={"dotfiles.toml": HARD_LINK}
    ),
    "config-hard-linked/rule-disable": Case(
        ("rule", "disable", R1), CONFIG, "has 2 hard links", files={"dotfiles.toml": HARD_LINK}
    ),
    "config-is-dev-zero/emit": Case(
        ("--config", "/dev/zero", *EMIT, *TAGS), CONFIG, "/dev/zero is a character device"
    ),
    "config-is-dev-zero/rule-remove": Case(
        ("--config", "/dev/zero", "rule", "remove", "a"), CONFIG, "is a character device"
    ),
    "config-too-big/rule-list": Case(
        ("--config", "{tmp}/huge.toml", "rule", "list"),
        CONFIG,
        "is larger than 32 MiB",
        files={"huge.toml": 32 * 1024 * 1024 + 1},
    ),
    "state-not-a-database/log": Case(
        ("--state-dir", "{tmp}/junk", "log"),
        CONFIG,
        "file is not a database",
        files={"junk/state.db": b"not a database"},
    ),
    "state-from-a-newer-quaynotify/log": Case(
        ("log",), CONFIG, "was written by a newer quaynotify", files={"state/state.db": NEWER_STATE}
    ),
    "state-from-a-newer-quaynotify/emit": Case(
        (*EMIT, *TAGS),
        CONFIG,
        "was written by a newer quaynotify (schema version 99; this one knows up to 2)",
        files={"state/state.db": NEWER_STATE},
    ),
    "state-from-a-newer-quaynotify/email-confirm": Case(
        ("email", "confirm", "AAAAAAAAAAAAAAAA"),
        CONFIG,
        "was written by a newer quaynotify",
        files={"state/state.db": NEWER_STATE},
    ),
    "state-dir-is-a-file/emit": Case(
        ("--state-dir", "{tmp}/afile", *EMIT, *TAGS),
        CONFIG,
        "is not a directory",
        files={"afile": b"x"},
    ),
    "state-dir-is-a-file/log": Case(
        ("--state-dir", "{tmp}/afile", "log"),
        CONFIG,
        "state",
        files={"afile": b"x"},
    ),
    # -- unknown names (exit 2) -----------------------------------------------------------------
    "unknown-event/rule-add": Case(
        rule_add("webhook", *HOOK, event="repo_pushed"),
        USAGE,
        "unknown event 'repo_pushed' (did you mean 'repo_push'?)",
    ),
    "unknown-method/rule-add": Case(
        rule_add("webhooks", *HOOK),
        USAGE,
        "unknown method 'webhooks'",
    ),
    "unknown-event/emit": Case(("emit", "nope", "--repo", "acme/web"), USAGE, "unknown event"),
    "unknown-event/log": Case(("log", "--event", "nope"), USAGE, "unknown event 'nope'"),
    "unknown-event/events": Case(("events", "nope"), USAGE, "unknown event 'nope'"),
    "unknown-method/methods": Case(("methods", "nope"), USAGE, "unknown method 'nope'"),
    "unknown-event/rule-list": Case(
        ("rule", "list", "--event", "nope"), USAGE, "unknown event 'nope'"
    ),
    "unknown-method/rule-list": Case(
        ("rule", "list", "--method", "nope"), USAGE, "unknown method 'nope'"
    ),
    "unknown-rule/show": Case(("rule", "show", "nope"), USAGE, "no rule with id 'nope'"),
    "unknown-rule/remove-all-or-nothing": Case(
        ("rule", "remove", R1, "nope"), USAGE, "no rule with id 'nope'"
    ),
    "unknown-rule/enable": Case(("rule", "enable", "nope"), USAGE, "no rule with id 'nope'"),
    "unknown-rule/disable": Case(("rule", "disable", "nope"), USAGE, "no rule with id 'nope'"),
    "unknown-rule/reset": Case(("rule", "reset", "nope"), USAGE, "no rule with id 'nope'"),
    "unknown-rule/test": Case(("rule", "test", "nope"), USAGE, "no rule with id 'nope'"),
    "unknown-rule/log": Case(("log", "--rule", "nope"), USAGE, "no rule with id 'nope'"),
    "unknown-rule/replay": Case(
        ("replay", "--failed", "--rule", "nope"), USAGE, "no rule with id 'nope'"
    ),
    "empty-rule-id/show": Case(("rule", "show", ""), USAGE, "no rule with id ''"),
    "unknown-delivery/log-show": Case(("log", "show", "deadbeef"), USAGE, "no delivery with id"),
    "unknown-delivery/replay": Case(("replay", "deadbeef"), USAGE, "no delivery with id"),
    "unknown-notification/inbox-show": Case(
        ("inbox", "show", "nope"), USAGE, "no notification with id 'nope'"
    ),
    "unknown-notification/inbox-dismiss": Case(
        ("inbox", "dismiss", "nope"), USAGE, "no notification with id 'nope'"
    ),
    "bad-code/email-confirm": Case(
        ("email", "confirm", "nope"), USAGE, "Invalid confirmation code"
    ),
    "unknown-code/email-confirm": Case(
        ("email", "confirm", "AAAAAAAAAAAAAAAA"), USAGE, "Invalid confirmation code"
    ),
    "bad-repository/email-authorize": Case(
        ("email", "authorize", "acmeweb", "dev@example.com"),
        USAGE,
        "repository 'acmeweb' must be NAMESPACE/NAME",
    ),
    "bad-address/email-authorize": Case(
        ("email", "authorize", "acme/web", "not-an-address"),
        USAGE,
        "Invalid e-mail address 'not-an-address'",
    ),
    "bad-repository/email-list": Case(
        ("email", "list", "--repo", "Acme/Web"), USAGE, "invalid repository namespace 'Acme'"
    ),
    "unauthorized-address/rule-add-email": Case(
        rule_add("email", "--email", "dev@example.com"),
        USAGE,
        "quaynotify email authorize acme/web dev@example.com",
    ),
    "extra-argument/config-path": Case(
        ("config", "path", "extra"), USAGE, "unexpected extra argument"
    ),
    "unknown-option/rule-add": Case((*ADD, "--urll", "x"), USAGE, "No such option: --urll"),
    "missing-option/emit": Case(("emit", "repo_push"), USAGE, "Missing option '--repo'"),
    "sample-without-event/events": Case(("events", "--sample"), USAGE, "--sample needs an EVENT"),
    # -- bad URLs, regexes, templates, method options (exit 2) -----------------------------------
    "url-not-a-url/webhook": Case((*ADD, "--url", "not-a-url"), USAGE, "Invalid webhook URL"),
    "url-ftp/webhook": Case((*ADD, "--url", "ftp://example.com/"), USAGE, "Invalid webhook URL"),
    "url-bad-port/webhook": Case(
        (*ADD, "--url", "http://example.com:99999/"), USAGE, "Invalid webhook URL"
    ),
    "url-missing/webhook": Case(ADD, USAGE, "Missing webhook URL"),
    # What was accepted, then crashed every emit (issue 9): refused when the rule is added.
    "url-trailing-newline/webhook": Case(
        (*ADD, "--url", "http://example.com/hook\n"),
        USAGE,
        "Invalid webhook URL: it holds \\n at position 24: remove it",
    ),
    "url-control-character/webhook": Case(
        (*ADD, "--url", "http://example.com/a\x01b"), USAGE, "it holds \\x01 at position 21"
    ),
    "url-empty-label/webhook": Case(
        (*ADD, "--url", "http://a..b/"),
        USAGE,
        "Invalid webhook URL: its host 'a..b' is not valid: (UnicodeError: label empty",
    ),
    "url-bad-a-label/webhook": Case(
        (*ADD, "--url", "http://xn--zz.example/"),
        USAGE,
        "Invalid webhook URL: its host 'xn--zz.example' is not valid: Invalid A-label",
    ),
    "url-octal-ipv4/webhook": Case(
        (*ADD, "--url", "http://0251.0376.0251.0376/"),
        USAGE,
        "Invalid webhook URL: its host '0251.0376.0251.0376' is not valid: Invalid IPv4 address",
    ),
    "url-space-in-host/webhook": Case(
        (*ADD, "--url", "http://exa mple.com/"), USAGE, "it holds a space at position 11"
    ),
    "url-too-long/webhook": Case(
        (*ADD, "--url", "http://example.com/" + "a" * 66_000),
        USAGE,
        "Invalid webhook URL: it is longer than 64 KiB",
    ),
    "url-trailing-newline/slack": Case(
        rule_add("slack", "--url", "https://hooks.slack.com/services/T0/B0/s3cr3t\n"),
        USAGE,
        "Invalid Slack Callback URL: it holds \\n at position 46: remove it",
    ),
    "url-bad-host/config-check": Case(
        ("config", "check"),
        CONFIG,
        "rule #1 (a): Invalid webhook URL: its host 'a..b' is not valid",
        bad_config(rule_config().replace(b"127.0.0.1:9", b"a..b")),
    ),
    "token-not-ascii/hipchat": Case(
        rule_add("hipchat", "--room-id", "1", "--notification-token", "t\u00f6ken"),
        USAGE,
        "Invalid Hipchat Room Notification Token: it must be printable ASCII without spaces",
    ),
    "token-with-newline/hipchat": Case(
        rule_add("hipchat", "--room-id", "1", "--notification-token", "token\n"),
        USAGE,
        "Invalid Hipchat Room Notification Token: it must be printable ASCII without spaces",
    ),
    "token-with-slash/flowdock": Case(
        rule_add("flowdock", "--flow-api-token", "abc/../def"),
        USAGE,
        "Invalid Flowdock API Token: it must be letters, digits",
    ),
    "api-url-bad-host/hipchat": Case(
        rule_add(
            "hipchat", "--room-id", "1", "--notification-token", "t", "--api-url", "http://a..b"
        ),
        USAGE,
        "Invalid Hipchat API URL 'http://a..b': its host 'a..b' is not valid",
    ),
    "client-key-without-client-cert/webhook": Case(
        (*ADD, *HOOK, "--client-key", "{tmp}/client.key"),
        USAGE,
        "client_key (--client-key) is set without client_cert (--client-cert)",
        files={"client.key": ENCRYPTED_KEY},
    ),
    "client-key-encrypted-without-pass-phrase/webhook": Case(
        (*ADD, *HOOK, *CLIENT_FILES),
        USAGE,
        "client.key is encrypted: set client_key_password",
        files={"client.pem": CLIENT_CERT, "client.key": ENCRYPTED_KEY},
    ),
    "client-key-wrong-pass-phrase/webhook": Case(
        (*ADD, *HOOK, *CLIENT_FILES, "--client-key-password", "wrong"),
        USAGE,
        "client_key_password does not decrypt client_key",
        files={"client.pem": CLIENT_CERT, "client.key": ENCRYPTED_KEY},
    ),
    "url-blocklisted-spelled-as-a-number/webhook": Case(
        (*ADD, "--url", "http://2130706433/hook"),
        USAGE,
        "Invalid webhook URL: refused by [webhook] hostname_blocklist",
        b'[webhook]\nhostname_blocklist = ["localhost"]\n',
    ),
    "url-not-a-url/slack": Case(
        rule_add("slack", "--url", "not-a-url"),
        USAGE,
        "Invalid Slack Callback URL",
    ),
    "api-url-not-a-url/hipchat": Case(
        rule_add(
            "hipchat", "--room-id", "1", "--notification-token", "t", "--api-url", "not-a-url"
        ),
        USAGE,
        "Invalid Hipchat API URL 'not-a-url'",
    ),
    "option-for-another-method": Case(
        (*ADD, *HOOK, "--email", "dev@example.com"),
        USAGE,
        "--email does not apply to --method webhook",
    ),
    "org-target-other-namespace/quay-notification": Case(
        rule_add("quay_notification", "--target", "org:other"),
        USAGE,
        "Organization name must match repository namespace (other is not acme)",
    ),
    "bad-target/quay-notification": Case(
        rule_add("quay_notification", "--target", "bogus"),
        USAGE,
        "Invalid target 'bogus'",
    ),
    "bad-repository/rule-add": Case(
        ("rule", "add", "--repo", "acmeweb", "--event", "repo_push", "--method", "webhook", *HOOK),
        USAGE,
        "repository 'acmeweb' must be NAMESPACE/NAME",
    ),
    "bad-regex": Case((*BUILD, *HOOK, "--ref-regex", "("), USAGE, "invalid ref-regex '('"),
    "filter-for-another-event": Case(
        (*ADD, *HOOK, "--ref-regex", "x"), USAGE, "unknown event config key 'ref-regex'"
    ),
    "bad-level": Case(
        rule_add("webhook", *HOOK, "--level", "Severe", event="vulnerability_found"),
        USAGE,
        "unknown vulnerability level 'Severe'",
    ),
    "days-not-a-number": Case(
        rule_add("webhook", *HOOK, "--days", "abc", event="repo_image_expiry"),
        USAGE,
        "Invalid value for '--days': 'abc' is not a valid int",
    ),
    "days-zero": Case(
        rule_add("webhook", *HOOK, "--days", "0", event="repo_image_expiry"),
        USAGE,
        "days should be more than 0",
    ),
    "template-not-json": Case(
        (*ADD, *HOOK, "--template", "not json"), USAGE, "Could not parse template"
    ),
    "template-bad-expression": Case(
        (*ADD, *HOOK, "--template", '{"a": "${$$$}"}'), USAGE, "For expression `$$$`"
    ),
    "template-is-a-directory": Case(
        (*ADD, *HOOK, "--template", "@{tmp}/adir"),
        USAGE,
        "is a directory",
        files={"adir": None},
    ),
    "template-missing-file": Case(
        (*ADD, *HOOK, "--template", "@{tmp}/missing.json"), USAGE, "No such file or directory"
    ),
    "template-not-utf8-stdin": Case(
        (*ADD, *HOOK, "--template", "@-"),
        USAGE,
        "--template: standard input is not UTF-8",
        stdin=b'{"a": "\xff"}',
    ),
    "template-too-big": Case(
        (*ADD, *HOOK, "--template", "@{tmp}/big"),
        USAGE,
        "larger than 10 MiB",
        files={"big": TOO_BIG},
    ),
    "template-deeply-nested": Case(
        (*ADD, *HOOK, "--template", "@{tmp}/deep.json"),
        USAGE,
        "template",
        files={"deep.json": DEEP},
    ),
    # -- event data: --data, --set (exit 2) -----------------------------------------------------
    "data-not-json": Case((*EMIT, "--data", "nope"), USAGE, "--data is not valid JSON"),
    "data-not-an-object": Case((*EMIT, "--data", "[1]"), USAGE, "--data must be a JSON object"),
    "data-nan": Case((*EMIT, "--data", '{"updated_tags": ["a"], "n": NaN}'), USAGE, "--data"),
    "data-deeply-nested": Case(
        (*EMIT, "--data", "@{tmp}/deep.json"),
        USAGE,
        "--data",
        files={"deep.json": DEEP},
    ),
    "data-missing-file": Case(
        (*EMIT, "--data", "@{tmp}/missing.json"), USAGE, "No such file or directory"
    ),
    "data-is-a-directory": Case(
        (*EMIT, "--data", "@{tmp}/adir"), USAGE, "is a directory", files={"adir": None}
    ),
    "data-not-utf8-file": Case(
        (*EMIT, "--data", "@{tmp}/latin1.json"),
        USAGE,
        "is not UTF-8 text",
        files={"latin1.json": b'{"updated_tags": ["\xe9t\xe9"]}'},
    ),
    "data-not-utf8-stdin": Case(
        (*EMIT, "--data", "@-"),
        USAGE,
        "--data: standard input is not UTF-8 text",
        stdin=b'{"updated_tags": ["\xff"]}',
    ),
    "data-too-big-file": Case(
        (*EMIT, "--data", "@{tmp}/big.json"),
        USAGE,
        "larger than 10 MiB",
        files={"big.json": TOO_BIG},
    ),
    "data-too-big-stdin": Case(
        (*EMIT, "--data", "@-"), USAGE, "larger than 10 MiB", stdin=b" " * TOO_BIG
    ),
    "set-without-equals": Case(
        (*EMIT, "--set", "updated_tags"), USAGE, "--set 'updated_tags': expected KEY=VALUE"
    ),
    "set-empty-key": Case((*EMIT, "--set", "=x"), USAGE, "--set '=x': expected KEY=VALUE"),
    "set-empty-path-part": Case((*EMIT, "--set", "a..b=1"), USAGE, "expected KEY=VALUE"),
    "set-into-a-list": Case(
        (*EMIT, *TAGS, "--set", "updated_tags.x=1"), USAGE, "updated_tags is not an object"
    ),
    "set-wrong-type": Case(
        (*EMIT, "--set", "updated_tags=latest"),
        USAGE,
        "field 'updated_tags' must be a list of strings, not a string",
    ),
    "set-deeply-nested": Case((*EMIT, "--set", "x=" + "[" * 5000 + "]" * 5000), USAGE, "--set"),
    "set-mistyped-field-deep-json": Case(
        (*EMIT, "--set", f"updated_tags={DEEPISH}"),
        USAGE,
        "--set updated_tags: the JSON is nested more than 100 levels deep",
    ),
    "data-mistyped-field-deep-json": Case(
        (*EMIT, "--data", f'{{"updated_tags": {DEEPISH}}}'),
        USAGE,
        "--data: the JSON is nested more than 100 levels deep",
    ),
    "from-mistyped-field-deep-json": Case(
        ("emit", "--from", "-"),
        USAGE,
        "standard input line 1: the JSON is nested more than 100 levels deep",
        stdin=b'{"event": "repo_push", "repository": "acme/web", "data": {"updated_tags": '
        + DEEPISH.encode()
        + b"}}\n",
    ),
    "set-repository-other/emit": Case(
        (*EMIT, *TAGS, "--set", "repository=other/repo"),
        USAGE,
        "field 'repository' is 'other/repo', but the event is for acme/web: the repository"
        " comes from --repo",
    ),
    "data-repository-other/emit": Case(
        (*EMIT, "--data", '{"updated_tags": ["a"], "repository": "other/repo"}'),
        USAGE,
        "field 'repository' is 'other/repo', but the event is for acme/web",
    ),
    "from-repository-other/emit": Case(
        ("emit", "--from", "-"),
        USAGE,
        "field 'repository' is 'other/repo', but the event is for acme/web",
        stdin=b'{"event": "repo_push", "repository": "acme/web", "data": '
        b'{"updated_tags": ["a"], "repository": "other/repo"}}\n',
    ),
    "missing-required-field": Case(EMIT, USAGE, "repo_push needs field 'updated_tags'"),
    "bad-repository/emit": Case(
        ("emit", "repo_push", "--repo", "acme/web/x", *TAGS), USAGE, "exactly one '/'"
    ),
    # -- wrong types and ranges of options (exit 2) ---------------------------------------------
    "limit-zero": Case(("log", "--limit", "0"), USAGE, "Invalid value for '--limit'"),
    "limit-not-a-number": Case(("log", "--limit", "abc"), USAGE, "Invalid value for '--limit'"),
    "concurrency-zero": Case(
        (*EMIT, *TAGS, "--concurrency", "0"), USAGE, "Invalid value for '--concurrency'"
    ),
    "max-attempts-zero": Case(
        ("replay", "--failed", "--max-attempts", "0"), USAGE, "Invalid value for '--max-attempts'"
    ),
    "deadline-zero": Case(
        (*EMIT, *TAGS, "--deadline", "0"), USAGE, "Invalid value for '--deadline'"
    ),
    "deadline-nan": Case(
        (*EMIT, *TAGS, "--deadline", "nan"),
        USAGE,
        "Invalid value for '--deadline': nan is not a number of seconds",
    ),
    "deadline-inf/replay": Case(
        ("replay", "--failed", "--deadline", "inf"), USAGE, "Invalid value for '--deadline'"
    ),
    "deadline-over-a-day": Case(
        (*EMIT, *TAGS, "--deadline", "86401"), USAGE, "Invalid value for '--deadline'"
    ),
    "since-not-a-time": Case(
        ("replay", "--failed", "--since", "yesterday"), USAGE, "--since 'yesterday'"
    ),
    "since-without-failed": Case(("replay", "--since", "2h"), USAGE, "add --failed"),
    "replay-nothing-selected": Case(("replay",), USAGE, "give delivery ids or --failed"),
    "replay-ids-and-failed": Case(("replay", "abc", "--failed"), USAGE, "not both"),
    # -- emit --from (exit 2) -------------------------------------------------------------------
    "from-missing-file": Case(
        ("emit", "--from", "{tmp}/missing.jsonl"), USAGE, "No such file or directory"
    ),
    "from-is-a-directory": Case(
        ("emit", "--from", "{tmp}/adir"), USAGE, "is a directory", files={"adir": None}
    ),
    "from-not-utf8-stdin": Case(
        ("emit", "--from", "-"), USAGE, "--from: standard input is not UTF-8", stdin=b"\xff\n"
    ),
    "from-line-not-json": Case(
        ("emit", "--from", "-"),
        USAGE,
        "standard input line 2: not valid JSON",
        stdin=LINE + b"nope\n",
    ),
    "from-line-not-an-object": Case(
        ("emit", "--from", "{tmp}/s.jsonl"),
        USAGE,
        "s.jsonl line 1: expected an object",
        files={"s.jsonl": b"[]\n"},
    ),
    "from-unknown-key": Case(
        ("emit", "--from", "-"),
        USAGE,
        "line 1: unknown key 'extra'",
        stdin=b'{"event": "repo_push", "repository": "acme/web", "extra": 1}\n',
    ),
    "from-unknown-event": Case(
        ("emit", "--from", "-"),
        USAGE,
        "standard input line 2: unknown event 'nope'",
        stdin=LINE + b'{"event": "nope", "repository": "acme/web"}\n',
    ),
    "from-deeply-nested": Case(
        ("emit", "--from", "{tmp}/deep.jsonl"),
        USAGE,
        "deep.jsonl line 1",
        files={
            "deep.jsonl": b'{"event": "repo_push", "repository": "acme/web", "data": '
            + DEEP
            + b"}\n"
        },
    ),
    "from-with-an-event": Case(
        ("emit", "--from", "-", "repo_push"), USAGE, "cannot be combined with EVENT"
    ),
    "from-with-repo": Case(
        ("emit", "--from", "-", "--repo", "acme/web"), USAGE, "cannot be combined with --repo"
    ),
    "replay-from-moved": Case(
        ("replay", "--from", "-"), USAGE, "`replay --from` moved to `emit --from`"
    ),
    # -- bytes that are not UTF-8 in the command line (a real process) ---------------------------
    "argv-not-utf8/unknown-event": Case(
        ("emit", "\udcff", "--repo", "acme/web"), USAGE, "not valid UTF-8", process=True
    ),
    "argv-not-utf8/rule-show": Case(
        ("rule", "show", "\udcff"), USAGE, "not valid UTF-8", process=True
    ),
    "argv-not-utf8/rule-add-title": Case(
        (*ADD, *HOOK, "--title", "caf\udce9"), USAGE, "--title", process=True
    ),
    "argv-not-utf8/emit-performer": Case(
        (*EMIT, *TAGS, "--performer", "\udcff"),
        USAGE,
        "--performer",
        process=True,
    ),
    "argv-not-utf8/log-show": Case(
        ("log", "show", "\udcff"), USAGE, "not valid UTF-8", process=True
    ),
    "argv-not-utf8/replay": Case(("replay", "\udcff"), USAGE, "not valid UTF-8", process=True),
    "argv-not-utf8/inbox-user": Case(("inbox", "--user", "\udcff"), USAGE, "--user", process=True),
    "argv-not-utf8/inbox-dismiss": Case(
        ("inbox", "dismiss", "\udcff"),
        USAGE,
        "not valid UTF-8",
        process=True,
        database=True,
    ),
    "argv-not-utf8/email-authorize": Case(
        ("email", "authorize", "acme/web", "d\udcff@example.com"),
        USAGE,
        "not valid UTF-8",
        process=True,
    ),
    # -- control characters echoed by the error line are shown escaped, never raw -------------
    "argv-control/unknown-event": Case(
        ("emit", "evil\x1b]0;x\x07", "--repo", "acme/web"),
        USAGE,
        r"unknown event 'evil\x1b]0;x\x07'",
    ),
    "argv-control/repository": Case(
        (*EMIT[:3], "acme\x1b[2J\x9b", *TAGS), USAGE, r"repository 'acme\x1b[2J\x9b' must be"
    ),
}


def params() -> list[Any]:
    return [
        pytest.param(
            case,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [],
        )
        for name, case in CASES.items()
    ]


def make_files(root: Path, files: Mapping[str, bytes | int | str | None]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir()
        elif content == FIFO:
            os.mkfifo(path)
        elif content == HARD_LINK:
            os.link(root / "config.toml", path)
        elif isinstance(content, int):
            path.write_bytes(b" " * content)
        elif isinstance(content, bytes):
            path.write_bytes(content)


def run_process(args: list[str], stdin: bytes | None, tmp_path: Path) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "QUAYNOTIFY_CONFIG": str(tmp_path / "config.toml"),
        "QUAYNOTIFY_STATE_DIR": str(tmp_path / "state"),
    }
    proc = subprocess.run(
        [os.fsencode(CONSOLE), *map(os.fsencode, args)],
        input=stdin or b"",
        capture_output=True,
        env=env,
        timeout=60,
    )
    return (
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )


def assert_one_error_line(code: int, out: str, err: str, case: Case) -> None:
    assert "Traceback" not in out + err
    assert (code, out) == (case.code, ""), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(PREFIX), err
    assert case.fragment in err


@pytest.mark.parametrize("case", params())
def test_bad_input_is_one_error_line(
    cli: Cli, config_file: Path, tmp_path: Path, case: Case
) -> None:
    config_file.write_bytes(case.config)
    os.utime(config_file, ns=(1_000_000_000, 1_000_000_000))  # any later write would show
    make_files(tmp_path, case.files)
    # SQLite state only: the cases are about bad input, and those about the state (a junk or
    # a newer state.db) are about the SQLite file.
    if case.database:
        state = open_store(tmp_path / "state")
        state.health.reset(R1)
        state.close()
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    if case.process:
        code, out, err = run_process(args, case.stdin, tmp_path)
    else:
        result = cli(*args, stdin=case.stdin)
        code, out, err = result.code, result.out, result.err
    assert_one_error_line(code, out, err, case)
    assert config_file.read_bytes() == case.config
    assert config_file.stat().st_mtime_ns == 1_000_000_000


def test_the_table_covers_every_command() -> None:
    lines = [f" {' '.join(c.args)} " for c in CASES.values()]
    for command in (
        "rule add", "rule list", "rule show", "rule remove", "rule enable", "rule disable",
        "rule reset", "rule test", "emit", "replay", "log", "log show", "events", "methods",
        "inbox", "email authorize", "email confirm", "email list", "config path", "config check",
    ):  # fmt: skip
        assert any(f" {command} " in line for line in lines), command
    assert len(CASES) >= 40


def test_config_check_with_one_problem_is_one_line(cli: Cli, config_file: Path) -> None:
    config_file.write_bytes(rule_config().replace(b"http://127.0.0.1:9/hook", b"not-a-url"))
    result = cli("config", "check")
    assert result.code == CONFIG
    assert result.out == ""
    assert result.err.splitlines() == [
        f"{PREFIX}{config_file}: rule #1 (a): Invalid webhook URL",
    ]


def test_config_check_lists_several_problems_then_fails(cli: Cli, config_file: Path) -> None:
    # Every problem on its own line, then the one error line.
    broken = rule_config().replace(b"http://127.0.0.1:9/hook", b"not-a-url")
    config_file.write_bytes(b"[webhook]\nfoo = 1\n" + broken)
    result = cli("config", "check")
    assert result.code == CONFIG
    lines = result.err.splitlines()
    assert lines[-1] == f"{PREFIX}{config_file}: 2 problems"
    assert "'foo' is not one of them" in lines[0]
    assert len(lines) == 3


# -- nothing is sent for bad input --------------------------------------------------------------


@pytest.fixture
def receiver(config_file: Path) -> Iterator[Receiver]:
    with Receiver() as r:
        config_file.write_text(BASE.decode().replace("http://127.0.0.1:9/hook", r.url("/hook")))
        yield r


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(LINE + b'{"event": "repo_push", "repository": "acme/web", "data": []}\n',
                     id="bad-second-line"),
        pytest.param(LINE + LINE.replace(b"}\n", b', "performer": "\\ud800"}\n'),
                     id="performer-lone-surrogate"),
    ],
)  # fmt: skip
def test_a_bad_stream_sends_nothing(cli: Cli, receiver: Receiver, stream: bytes) -> None:
    result = cli("emit", "--from", "-", stdin=stream)
    assert result.code == USAGE, result.err
    assert result.err.startswith(PREFIX) and result.err.count("\n") == 1, result.err
    assert receiver.requests == []
    assert json.loads(cli("log", "--json").out) == []


def test_an_undecodable_performer_sends_nothing(receiver: Receiver, tmp_path: Path) -> None:
    code, out, err = run_process([*EMIT, *TAGS, "--performer", "\udcff"], None, tmp_path)
    assert receiver.requests == []
    assert_one_error_line(code, out, err, Case((), USAGE, "--performer"))


def test_set_keeps_nan_and_infinity_as_strings(cli: Cli, config_file: Path) -> None:
    # --set values are JSON when they parse as JSON and strings otherwise;
    # NaN and Infinity are not JSON, and the body a receiver gets must be JSON.
    config_file.write_bytes(BASE)
    result = cli(*EMIT, *TAGS, "--set", "n=NaN", "--set", "m=-Infinity", "--dry-run", "--json")
    assert result.code == 0, result.err

    def strict(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    (preview,) = json.loads(result.out, parse_constant=strict)
    assert (preview["body"]["n"], preview["body"]["m"]) == ("NaN", "-Infinity")


def test_a_ref_regex_python_warns_about_prints_no_warning() -> None:
    # A real process: a warning goes to stderr before any output, and pytest would hide it.
    args = [*BUILD, *HOOK, "--ref-regex", "refs/heads/[[a-z]"]
    with_warnings = {**os.environ, "PYTHONWARNINGS": "default"}
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env = {**with_warnings, "QUAYNOTIFY_CONFIG": f"{tmp}/c.toml", "QUAYNOTIFY_STATE_DIR": tmp}
        proc = subprocess.run([CONSOLE, *args], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr
    assert proc.stderr.startswith("quaynotify: added rule ") and proc.stderr.count("\n") == 1
