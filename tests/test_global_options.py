"""Global options after the command (DESIGN.md section 8): every one of them, after a command
at any depth, in both `--opt VALUE` and `--opt=VALUE` forms, means what it means before the
command; given both, the one after the command wins; a command option's value that looks like
a global option, and anything after `--`, stay what they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import ERROR, UUID, Cli, Result, console
from helpers.configs import rule_add, rule_toml, write_config

import quaynotify

HOOK = "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX"
MINE = rule_toml("slack", id="rule-mine", url=HOOK)
OTHER = rule_toml("webhook", id="rule-other", url="http://127.0.0.1:9/other")
PASSWORD = "hunter2-not-shown"
UNREACHABLE = f"postgresql://quaynotify:{PASSWORD}@127.0.0.1:1/none?connect_timeout=2"
PUSH = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]', "--dry-run")


@pytest.fixture
def world(cli: Cli, config_file: Path, isolated: Path) -> dict[str, str]:
    """The default config holds rule-mine; other.toml holds rule-other; other-state is a state
    dir holding one delivery (a failed one to nowhere) that the default state does not."""
    write_config(config_file, MINE)
    other = write_config(isolated / "other.toml", OTHER)
    other_state = isolated / "other-state"
    failing = write_config(
        isolated / "failing.toml",
        "[delivery]\nmax_attempts = 1\n\n",
        rule_toml(id="rule-failing", url="http://127.0.0.1:9/hook"),
    )
    seeded = cli("--config", str(failing), "--state-dir", str(other_state), *PUSH[:-1])
    assert seeded.code == 1, seeded.err
    return {"other": str(other), "other_state": str(other_state), "broken": str(isolated)}


def outcome(result: Result) -> tuple[int, str, str]:
    """What a run printed, its delivery ids (new in every run) left out."""
    return (result.code, UUID.sub("<id>", result.out), UUID.sub("<id>", result.err))


# (global option, its value or None for a flag, the commands it is checked after). Each command
# is one on which the option changes what is printed, so that the comparison can fail.
CASES: list[tuple[str, str | None, list[tuple[str, ...]]]] = [
    ("--config", "{other}", [("rule", "list"), ("rule", "show", "rule-other"), PUSH,
                             ("config", "path")]),
    ("--state-dir", "{other_state}", [("log",), ("log", "--failed"), ("state", "info")]),
    ("--state-url", UNREACHABLE, [("state", "info"), ("log",), ("rule", "list")]),
    ("--json", None, [("rule", "show", "rule-mine"), ("state", "info"), PUSH]),
    ("--quiet", None, [("rule", "enable", "rule-mine"), ("rule", "reset", "rule-mine"),
                       ("emit", "repo_push", "--repo", "acme/none", "--set", "updated_tags=[]")]),
    ("-q", None, [("rule", "disable", "rule-mine"), ("state", "info", "--state-url", UNREACHABLE)]),
    ("--show-secrets", None, [("rule", "show", "rule-mine"), ("rule", "list", "--json")]),
    ("--debug", None, [("rule", "show", "nope"), ("emit", "nope", "--repo", "acme/web"),
                       ("inbox", "show", "nope")]),
    ("--version", None, [("rule", "list"), ("log", "show", "nope"), ("state", "info")]),
]  # fmt: skip
PAIRS = [
    (option, form, command)
    for option, value, commands in CASES
    for command in commands
    for form in ([value] if value is None else [value, f"={value}"])
]


@pytest.mark.parametrize(
    ("option", "value", "command"),
    PAIRS,
    ids=[f"{' '.join(c)} {o}{'' if v is None else ' =' if v[0] == '=' else ' V'}"
         for o, v, c in PAIRS],
)  # fmt: skip
def test_a_global_option_after_the_command_means_what_it_means_before(
    cli: Cli, world: dict[str, str], option: str, value: str | None, command: tuple[str, ...]
) -> None:
    given = [option] if value is None else [option, value.format(**world)]
    if given[-1].startswith("="):  # --opt=VALUE
        given = [option + given[-1]]
    without = outcome(cli(*command))
    before = outcome(cli(*given, *command))
    after = outcome(cli(*command, *given))
    assert after == before
    assert after != without, "the option changed nothing here: the case proves nothing"
    assert PASSWORD not in after[1] + after[2]


def test_given_before_and_after_the_command_the_one_after_wins(
    cli: Cli, world: dict[str, str], isolated: Path
) -> None:
    mine = str(isolated / "config.toml")
    assert cli("--config", world["other"], "rule", "list", "--config", mine).out.startswith(
        "rule-mine\t"
    )
    assert cli("--config", mine, "rule", "--config", world["other"], "list").out.startswith(
        "rule-other\t"
    )
    assert cli("rule", "--config", mine, "list", "--config=" + world["other"]).out.startswith(
        "rule-other\t"
    )
    assert "other-state" in cli(
        "--state-dir", str(isolated / "state"), "state", "info", "--state-dir",
        world["other_state"],
    ).out  # fmt: skip


def test_the_console_script_takes_global_options_after_the_command(
    world: dict[str, str],
) -> None:
    proc = console("rule", "add", "--repo", "acme/web", "--event", "repo_push", "--method",
                   "webhook", "--url", "http://127.0.0.1:9/x", "--config", world["other"],
                   "--quiet", "--json")  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    added = json.loads(proc.stdout)
    listed = console("rule", "list", "--json", f"--config={world['other']}", "-q")
    assert [r["repository"] for r in json.loads(listed.stdout)] == ["acme/web", "acme/web"]
    assert added["id"] in listed.stdout
    version = console("state", "info", "--version")
    assert (version.returncode, version.stdout) == (0, f"quaynotify {quaynotify.__version__}\n")


@pytest.mark.parametrize("looks_like", ["--quiet", "--debug", "--json", "--config", "-q"])
def test_a_value_that_looks_like_a_global_option_stays_a_value(
    cli: Cli, world: dict[str, str], looks_like: str
) -> None:
    added = cli(*rule_add("webhook", "--url", "http://127.0.0.1:9/x", "--title", looks_like))
    assert added.code == 0, added.err
    assert added.err.startswith("quaynotify: added rule")  # not quiet, and no JSON either
    (rule,) = [r for r in json.loads(cli("rule", "list", "--json").out) if r["title"]]
    assert rule["title"] == looks_like
    previews = cli(*PUSH, "--set", f"note={looks_like}", "--json")
    assert previews.code == 0, previews.err
    (preview,) = [p for p in json.loads(previews.out) if p["method"] == "webhook"]
    assert preview["body"]["note"] == looks_like


def test_debug_given_as_a_value_shows_no_traceback(cli: Cli, world: dict[str, str]) -> None:
    """--debug read by Click, not by looking for the word: as a title it is no --debug."""
    result = cli("rule", "add", "--repo", "acme/web", "--event", "nope", "--method", "webhook",
                 "--title", "--debug")  # fmt: skip
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith(ERROR) and result.err.count("\n") == 1
    shown = cli("rule", "add", "--repo", "acme/web", "--event", "nope", "--method", "webhook",
                "--debug")  # fmt: skip
    assert shown.code == 2 and "Traceback (most recent call last)" in shown.err


@pytest.mark.parametrize("word", ["--quiet", "--json", "--debug", "--version"])
def test_nothing_after_double_dash_is_a_global_option(
    cli: Cli, world: dict[str, str], word: str
) -> None:
    result = cli("rule", "show", "--", word)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"{ERROR}no rule with id '{word}': ")


@pytest.mark.parametrize(
    "command", [("emit",), ("rule",), ("rule", "add"), ("log", "show"), ("state", "info")]
)
def test_a_commands_help_says_global_options_are_accepted_there(
    cli: Cli, command: tuple[str, ...]
) -> None:
    text = cli(*command, "--help").out
    assert "Global options are accepted here too" in text
    assert "the one after it wins" in text
    tail = text.split("Global options are accepted here too", 1)[1]
    for name in ["--config", "--state-dir", "--state-url", "--json", "-q/--quiet",
                 "--show-secrets", "--debug", "--version"]:  # fmt: skip
        assert name in tail.replace(",", " ").replace(".", " ").split(), name  # never broken
    options = text.split("Options:", 1)[1].split("Global options", 1)[0]
    assert "--state-url" not in options  # listed once, in `quaynotify --help`


def test_the_root_help_says_its_options_work_after_the_command(cli: Cli) -> None:
    text = " ".join(cli("--help").out.split())
    assert "accepted after the command too" in text
    assert "the one after the command wins" in text
