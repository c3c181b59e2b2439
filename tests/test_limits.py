"""The limits on what a user may give: how deep event data and the config may nest, and how
long the [delivery] durations and --deadline may be. Each limit is documented (README, man
page); a value inside it works, a value just past it is refused with one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from helpers.configs import webhook_toml

from quaynotify.inputs import MAX_DEPTH, too_deep

RULE = "\n" + webhook_toml()
EMIT = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')


def nested(levels: int) -> Any:
    """A list `levels` deep (the outermost counts as one)."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [1, 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 5000])
def test_too_deep_counts_levels_of_objects_and_lists(levels: int) -> None:
    assert too_deep(nested(levels), MAX_DEPTH) is (levels > MAX_DEPTH)
    assert too_deep({"a": {"b": nested(levels)}}, MAX_DEPTH + 2) is (levels > MAX_DEPTH)
    assert too_deep("text", 0) is False


def test_event_data_nested_to_the_limit_is_sent(cli: Cli, config_file: Path) -> None:
    config_file.write_text(RULE)
    # The event data object is level 1, its field's list level 2.
    deepest = json.dumps({"extra": nested(MAX_DEPTH - 1)})
    result = cli(*EMIT, "--data", deepest, "--dry-run", "--json")
    assert result.code == 0, result.err
    (preview,) = json.loads(result.out)
    assert too_deep(preview["body"]["extra"], MAX_DEPTH - 2)


def test_event_data_one_level_deeper_is_refused(cli: Cli, config_file: Path) -> None:
    config_file.write_text(RULE)
    result = cli(*EMIT, "--data", json.dumps({"extra": nested(MAX_DEPTH)}), "--dry-run")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"quaynotify: error: --data: the JSON is nested more than {MAX_DEPTH} levels deep\n"
    )


def test_a_config_nested_to_the_limit_is_read(cli: Cli, config_file: Path) -> None:
    # The document is level 1, [teams] 2, [teams.acme] 3, then the array.
    config_file.write_text(f"[teams.acme]\nx = {json.dumps(nested(MAX_DEPTH - 3))}\n" + RULE)
    assert cli("rule", "list").code == 0
    config_file.write_text(f"[teams.acme]\nx = {json.dumps(nested(MAX_DEPTH - 2))}\n" + RULE)
    result = cli("rule", "list")
    assert (result.code, result.out) == (3, "")
    assert f"more than {MAX_DEPTH} levels deep" in result.err


@pytest.mark.parametrize(
    "table",
    [
        "[delivery]\ntimeout = 86400\nbackoff = 86400\nmax_backoff = 86400\n",
        "[delivery]\ntimeout = 0.001\nbackoff = 0\nmax_backoff = 0\n",
        '[smtp]\nhost = "h"\nsender = "q@example.com"\ntimeout = 86400\n',
    ],
    ids=["a-day", "the-least", "smtp-a-day"],
)
def test_durations_up_to_a_day_are_accepted(cli: Cli, config_file: Path, table: str) -> None:
    config_file.write_text(table + RULE)
    result = cli("config", "check")
    assert result.code == 0, result.err


def test_a_deadline_of_a_day_is_accepted(cli: Cli, config_file: Path) -> None:
    config_file.write_text(RULE)
    result = cli(*EMIT, "--deadline", "86400", "--dry-run")
    assert result.code == 0, result.err
