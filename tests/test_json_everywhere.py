"""`--json` on every command: stdout is one JSON document saying what was done, with --json
given after the command or before it (a global option). One scenario runs every command the
app has, against a real webhook receiver, a real SMTP server and a real PostgreSQL state; a
command added to the app without a step here fails the test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli, command_paths
from helpers.configs import add_rule
from helpers.receivers import Receiver
from test_email import ADDRESS, REPO, Server, code_in, smtp_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

# Groups that only list their commands (no_args_is_help): they have no result to print.
GROUPS = {(), ("rule",), ("config",), ("email",), ("state",)}


@pytest.fixture
def server(smtp_server: Callable[..., Server], config_file: Path) -> Server:  # noqa: F811
    """A STARTTLS server, and a config whose [smtp] table points at it."""
    s = smtp_server("starttls")
    config_file.write_text(s.config_text())
    return s


def test_every_command_prints_one_json_document(
    cli: Cli, config_file: Path, server: Server, postgres_url: str
) -> None:
    ran: set[tuple[str, ...]] = set()
    before = False  # alternate: --json after the command, then before it

    def run(*args: str, path: int) -> Any:
        """Run a command (its first `path` words name it) with --json; its one document."""
        nonlocal before
        before = not before
        argv = ("--json", *args) if before else (*args, "--json")
        result = cli(*argv)
        assert result.code == 0, (argv, result.err)
        ran.add(args[:path])
        return json.loads(result.out)  # one document, and nothing else, on stdout

    config_file.unlink()
    assert run("config", "path", path=2) == {"path": str(config_file), "exists": False}
    config_file.write_text(server.config_text())
    assert run("config", "path", path=2) == {"path": str(config_file), "exists": True}
    assert isinstance(run("events", path=1), list)
    assert run("events", "repo_push", path=1)["name"] == "repo_push"
    assert isinstance(run("methods", path=1), list)
    with Receiver() as receiver:
        hook = run(
            "rule", "add", "--repo", REPO, "--event", "repo_push", "--method", "webhook",
            "--url", receiver.url("/hook"), path=2,
        )["id"]  # fmt: skip
        add_rule(cli, "quay_notification", "--target", "user:alice")
        assert run("config", "check", path=2) == {
            "path": str(config_file),
            "exists": True,
            "rules": 2,
        }
        assert len(run("rule", "list", path=2)) == 2
        assert run("rule", "show", hook[:8], path=2)["id"] == hook
        emitted = run("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["v1"]', path=1)
        assert len(emitted["deliveries"]) == 2
        previews = run("emit", "repo_push", "--repo", REPO, "--sample", "--dry-run", path=1)
        assert len(previews) == 2
        delivery = next(d["id"] for d in emitted["deliveries"] if d["rule_id"] == hook)
        assert [d["id"] for d in run("replay", delivery, path=1)["deliveries"]] == [delivery]
        assert len(run("rule", "test", hook, path=2)["deliveries"]) == 1
    assert len(run("log", path=1)) == 3  # the replay kept its delivery's id
    assert run("log", "show", delivery, path=2)["id"] == delivery
    [note] = run("inbox", "--user", "alice", path=1)
    assert run("inbox", "show", note["id"], path=2)["id"] == note["id"]
    assert run("inbox", "dismiss", note["id"][:8], path=2) == {"dismissed": [note["id"]]}
    assert run("rule", "disable", hook, path=2) == {"id": hook, "enabled": False, "changed": True}
    assert run("rule", "disable", hook, path=2) == {"id": hook, "enabled": False, "changed": False}
    assert run("rule", "enable", hook, path=2) == {"id": hook, "enabled": True, "changed": True}
    reset = run("rule", "reset", hook, path=2)
    assert reset == {"id": hook, "number_of_failures": 0, "enabled": True}
    authorized = run("email", "authorize", REPO, ADDRESS, path=2)
    assert authorized["sent"] is True
    confirmed = run("email", "confirm", code_in(server.last), path=2)
    assert confirmed["email"] == ADDRESS
    assert len(run("email", "list", path=2)) == 1
    assert run("state", "info", path=2)
    copied = run("state", "copy", "--to", postgres_url, path=2)
    assert copied["copied"]
    synced = run("state", "sync", "--state-url", postgres_url, path=2)
    assert synced["batches"] == 0
    assert run("rule", "remove", hook, path=2) == {"removed": [hook]}
    assert ran == set(command_paths()) - GROUPS
