"""One delivery's trouble is that delivery's alone: whatever a method raises while sending,
and whatever value slipped past validation (a hand-edited config, an env: reference resolved
only at send time), becomes that delivery's failure: journaled, counted by the breaker, exit 1.
Every other delivery of the run is made and journaled as usual; the journal and the breaker are
looked at on both backends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from helpers.configs import rule_id, rule_toml, webhook_toml, write_config
from helpers.receivers import Receiver
from helpers.state import on_both_backends

from quaynotify.config.load import Rule
from quaynotify.delivery.retry import RetryPolicy
from quaynotify.delivery.run import Planned, deliver
from quaynotify.methods import parse_method_settings
from quaynotify.methods.base import Method, Notification, Preview, RuleContext, SendContext, Sent

EMIT = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]')
# Values `rule add` now refuses, written into the file by hand; each used to end every emit
# in "internal error" (exit 4), with the other rules' deliveries made but not journaled.
HIPCHAT = {"room_id": "1", "api_url": "http://127.0.0.1:9"}
UNSENDABLE: dict[str, tuple[str, dict[str, str]]] = {
    "newline": ("webhook", {"url": "http://127.0.0.1:9/hook\n"}),
    "control": ("webhook", {"url": "http://127.0.0.1:9/a\u0001b"}),
    "empty-label": ("webhook", {"url": "http://a..b/"}),
    "a-label": ("webhook", {"url": "http://xn--zz.example/"}),
    "octal-ipv4": ("webhook", {"url": "http://0251.0376.0251.0376/"}),
    "too-long": ("webhook", {"url": f"http://127.0.0.1:9/{'a' * 66_000}"}),
    "slack-newline": ("slack", {"url": "https://hooks.slack.com/services/T/B/x\n"}),
    "token-not-ascii": ("hipchat", {**HIPCHAT, "notification_token": "t\u00f6ken"}),
    "env-token-not-ascii": ("hipchat", {**HIPCHAT, "notification_token": "env:QN_TOKEN"}),
    "env-slack-bad-host": ("slack", {"url": "env:QN_SLACK"}),
}


@pytest.fixture
def mixed(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    """Two good webhook rules around every unsendable one."""
    monkeypatch.setenv("QN_TOKEN", "t\u00f6ken")
    monkeypatch.setenv("QN_SLACK", "https://a..b/services/T/B/x")
    receiver = Receiver()
    good = receiver.url("/good")
    write_config(
        config_file,
        "[delivery]\nmax_attempts = 2\nbackoff = 0\ndisable_after = 3\n\n",
        webhook_toml(good, id=rule_id(0)),
        *(
            rule_toml(method, id=rule_id(n), **config)
            for n, (method, config) in enumerate(UNSENDABLE.values(), start=1)
        ),
        webhook_toml(good, id=rule_id(len(UNSENDABLE) + 1)),
    )
    return receiver


@on_both_backends
def test_unsendable_values_fail_their_own_delivery_and_nothing_else(
    cli: Cli, mixed: Receiver
) -> None:
    with mixed:
        result = cli(*EMIT, "--json")
        assert result.code == 1, result.err
        assert "internal error" not in result.err
        deliveries = json.loads(result.out)["deliveries"]
        assert len(mixed.requests) == 2  # both good rules delivered
    by_rule = {d["rule_id"][:8]: d for d in deliveries}
    assert len(by_rule) == len(UNSENDABLE) + 2
    assert by_rule["00000000"]["status"] == by_rule[f"{len(UNSENDABLE) + 1:08x}"]["status"]
    assert by_rule["00000000"]["status"] == "succeeded"
    failed = [d for d in deliveries if d["status"] == "failed"]
    assert len(failed) == len(UNSENDABLE)
    assert all(d["error"] for d in failed)
    # Nothing was retried: none of these could ever be sent.
    assert all(d["attempt_count"] <= 1 for d in failed)
    # Every one of them is journaled, as the run reported it.
    logged = json.loads(cli("log", "--json", "--limit", "100").out)
    assert {d["id"]: d["status"] for d in logged} == {d["id"]: d["status"] for d in deliveries}


@on_both_backends
def test_the_breaker_counts_them_and_trips(cli: Cli, mixed: Receiver) -> None:
    with mixed:
        for _ in range(3):
            assert cli(*EMIT).code == 1
        result = cli(*EMIT, "--json")
    skipped = [d for d in json.loads(result.out)["deliveries"] if d["status"] == "skipped"]
    assert len(skipped) == len(UNSENDABLE)
    assert "rule reset" in skipped[0]["error"]


class Exploding(Method):
    """A method with a defect: its send raises what no method should. Deliveries through it
    must fail one by one, never the run."""

    name = "exploding"
    title = "Exploding"
    fields = ()

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        return

    def preview(self, notification: Notification) -> Preview:
        raise ZeroDivisionError("preview blew up")

    def send(self, notification: Notification, ctx: SendContext) -> Sent:
        if notification.repository == "acme/bad":
            raise RuntimeError("send blew up")
        return Sent(200, "200 OK")


def planned(repository: str, n: int) -> Planned:
    r = Rule(id=f"r{n}", repository=repository, event="repo_push", method="exploding", config={})
    note = Notification(f"d{n}", "repo_push", repository, {}, "summary", "info")
    return Planned(r, note, method=Exploding({}, parse_method_settings({})))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_exception_from_a_method_fails_that_delivery_only(concurrency: int) -> None:
    plan = [planned("acme/web", 1), planned("acme/bad", 2), planned("acme/web", 3)]
    records = deliver(plan, RetryPolicy(max_attempts=3, backoff=0), concurrency=concurrency)
    assert [r.status for r in records] == ["succeeded", "failed", "succeeded"]
    assert records[1].error == "RuntimeError: send blew up"
    assert len(records[1].attempts) == 1  # not retried: a defect does not heal
