"""The config builder: rules added through `rule add` as a user adds them, or written straight
into the file as TOML (for what `rule add` refuses, for fixed ids, or for many rules at once)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.cli import Cli

REPO = "acme/web"
NOWHERE = "http://127.0.0.1:9/hook"  # a webhook URL nothing listens on (the discard port)


def rule_add(
    method: str = "webhook", *options: str, event: str = "repo_push", repo: str = REPO
) -> tuple[str, ...]:
    """The arguments of `rule add` for a rule on `repo`."""
    return ("rule", "add", "--repo", repo, "--event", event, "--method", method, *options)


def add_rule(
    cli: Cli, method: str = "webhook", *options: str, event: str = "repo_push", repo: str = REPO
) -> str:
    """Add a rule through the CLI, which must accept it; its id."""
    result = cli(*rule_add(method, *options, event=event, repo=repo))
    assert result.code == 0, result.err
    return result.out.strip()


def add_webhook(
    cli: Cli, url: str, *options: str, event: str = "repo_push", repo: str = REPO
) -> str:
    """Add a webhook rule posting to `url`; its id."""
    return add_rule(cli, "webhook", "--url", url, *options, event=event, repo=repo)


def _toml(value: str | int | bool) -> str:
    # A JSON string or number is a TOML basic string or number.
    return json.dumps(value)


def rule_toml(
    method: str = "webhook",
    *,
    id: str = "a",
    event: str = "repo_push",
    repo: str = REPO,
    title: str | None = None,
    **config: str | int | bool,
) -> str:
    """One [[rule]] block, its method's config inline, as a person would write it."""
    lines = [
        "[[rule]]",
        f"id = {_toml(id)}",
        f"repository = {_toml(repo)}",
        f"event = {_toml(event)}",
        f"method = {_toml(method)}",
    ]
    if title is not None:
        lines.append(f"title = {_toml(title)}")
    inline = ", ".join(f"{key} = {_toml(value)}" for key, value in config.items())
    lines.append(f"config = {{ {inline} }}")
    return "\n".join(lines) + "\n\n"


def webhook_toml(url: str = NOWHERE, **fields: str) -> str:
    """A [[rule]] block for a webhook rule posting to `url` (other fields as rule_toml's)."""
    return rule_toml("webhook", url=url, **fields)


def write_config(path: Path, *parts: str) -> Path:
    """The config file made of `parts` (settings tables and rule blocks), in this order."""
    path.write_text("".join(parts))
    return path


def rule_id(n: int) -> str:
    """The id of the nth rule of a config written by a test: its order shows in the id."""
    return f"{n:08x}-0000-4000-8000-000000000000"
