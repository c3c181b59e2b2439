"""The tests' own helpers where a mistake would hide a failure: a missing system tool skips
only when tools are not required, and the config builder writes the TOML it says."""

from __future__ import annotations

import tomllib

import pytest
from helpers.configs import rule_toml, webhook_toml
from helpers.tools import REQUIRE, need

MISSING = "quaynotify-no-such-tool"


def test_a_missing_tool_skips_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"apt-get install {MISSING}-pkg"):
        need(MISSING, package=f"{MISSING}-pkg")


def test_a_missing_tool_fails_when_tools_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match=f"apt-get install {MISSING}"):
        need(MISSING)


@pytest.mark.parametrize("required", ["", "1"])
def test_a_present_tool_is_neither(monkeypatch: pytest.MonkeyPatch, required: str) -> None:
    monkeypatch.setenv(REQUIRE, required)
    need("sh")


def test_rule_blocks_are_the_toml_they_describe() -> None:
    text = rule_toml(
        "slack", id="s", event="build_failure", title='say "hi"', url="env:SLACK_URL"
    ) + webhook_toml("http://h.example/x?a=b", id="w", repo="acme/api", template='{"k": "${v}"}')
    assert tomllib.loads(text)["rule"] == [
        {
            "id": "s",
            "repository": "acme/web",
            "event": "build_failure",
            "method": "slack",
            "title": 'say "hi"',
            "config": {"url": "env:SLACK_URL"},
        },
        {
            "id": "w",
            "repository": "acme/api",
            "event": "repo_push",
            "method": "webhook",
            "config": {"url": "http://h.example/x?a=b", "template": '{"k": "${v}"}'},
        },
    ]
