"""`emit --soft-fail` and `replay --soft-fail` (or QUAYNOTIFY_SOFT_FAIL=1): a receiver that fails
never fails the job, the user's own mistakes still do. Failed deliveries and rules skipped as
disabled exit 0 with one warning line naming how many and `quaynotify log --failed`; usage (2),
config (3), internal (4) and interrupt (130) keep their exit status. Real receivers, the real
CLI in-process, and the console script in a subprocess for signals and the simulated bug."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import Cli, one_error
from helpers.configs import rule_id, rule_toml, webhook_toml, write_config
from helpers.receivers import Receiver
from test_concurrency import Gate, finish, process_env, spawn, wait_for

EMIT = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]')
SUMMARY = "see `quaynotify log --failed`"


def failing(request: object, seen: int) -> int:
    return 500


def two_rules(config_file: Path, good: Receiver, bad: Receiver, delivery: str = "") -> None:
    """Rule 1 posts to `good`, rule 2 to `bad`; one attempt each, no backoff."""
    write_config(
        config_file,
        f"[delivery]\nbackoff = 0\nmax_attempts = 1\n{delivery}\n",
        webhook_toml(good.url("/good"), id=rule_id(1)),
        webhook_toml(bad.url("/bad"), id=rule_id(2)),
    )


def summary_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if SUMMARY in line]


def test_without_soft_fail_a_failed_delivery_exits_1(cli: Cli, config_file: Path) -> None:
    """The default is unchanged: one failed delivery of two is exit 1, and no soft-fail line."""
    with Receiver() as good, Receiver(failing) as bad:
        two_rules(config_file, good, bad)
        result = cli(*EMIT)
    assert result.code == 1, result.err
    assert summary_lines(result.err) == []


@pytest.mark.parametrize("how", ["flag", "flag after --json", "env"])
def test_soft_fail_turns_a_failed_delivery_into_exit_0_with_one_warning(
    cli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """One delivery fails, the other succeeds: exit 0, both receivers were tried, and one line
    says 1 of 2 did not succeed and how to list them; --json still prints the deliveries."""
    args: tuple[str, ...] = EMIT
    if how == "flag":
        args = (*EMIT, "--soft-fail")
    elif how == "flag after --json":
        args = (*EMIT, "--json", "--soft-fail")
    else:
        monkeypatch.setenv("QUAYNOTIFY_SOFT_FAIL", "1")
    with Receiver() as good, Receiver(failing) as bad:
        two_rules(config_file, good, bad)
        result = cli(*args)
        assert len(good.requests) == 1 and len(bad.requests) == 1
    assert result.code == 0, result.err
    [line] = summary_lines(result.err)
    assert line.startswith("quaynotify: warning: 1 of 2 deliveries did not succeed"), line
    assert "--soft-fail" in line
    if "--json" in args:
        statuses = sorted(d["status"] for d in json.loads(result.out)["deliveries"])
        assert statuses == ["failed", "succeeded"]


def test_quaynotify_soft_fail_0_keeps_exit_1(
    cli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QUAYNOTIFY_SOFT_FAIL=0 is off, as a flag's environment variable is in Click."""
    monkeypatch.setenv("QUAYNOTIFY_SOFT_FAIL", "0")
    with Receiver() as good, Receiver(failing) as bad:
        two_rules(config_file, good, bad)
        result = cli(*EMIT)
    assert result.code == 1, result.err


def test_soft_fail_line_survives_quiet(cli: Cli, config_file: Path) -> None:
    """Under -q the per-delivery warnings go, but the soft-fail line stays: with exit 0 it is
    the only trace of the failure."""
    with Receiver() as good, Receiver(failing) as bad:
        two_rules(config_file, good, bad)
        result = cli(*EMIT, "--soft-fail", "-q")
    assert result.code == 0, result.err
    assert len(summary_lines(result.err)) == 1
    assert result.err.count("\n") == 1, result.err


def test_soft_fail_says_nothing_when_every_delivery_succeeds(cli: Cli, config_file: Path) -> None:
    with Receiver() as good, Receiver() as other:
        two_rules(config_file, good, other)
        result = cli(*EMIT, "--soft-fail")
    assert result.code == 0, result.err
    assert result.err == ""


def test_soft_fail_covers_a_rule_skipped_as_disabled(cli: Cli, config_file: Path) -> None:
    """The breaker disables the failing rule after one failure; the next emit skips it: exit 1
    without --soft-fail, 0 with it, and the line counts the skipped delivery."""
    with Receiver() as good, Receiver(failing) as bad:
        two_rules(config_file, good, bad, "disable_after = 1\n")
        assert cli(*EMIT).code == 1
        assert cli(*EMIT).code == 1  # now skipped, not sent
        result = cli(*EMIT, "--soft-fail")
        assert len(bad.requests) == 1  # only the first emit reached it
    assert result.code == 0, result.err
    assert "skipped delivery" in result.err
    [line] = summary_lines(result.err)
    assert "1 of 2 deliveries did not succeed" in line


def test_soft_fail_with_emit_from_a_stream(cli: Cli, config_file: Path, tmp_path: Path) -> None:
    """emit --from: two events to a failing receiver, exit 0, both counted."""
    stream = tmp_path / "events.jsonl"
    line = {"event": "repo_push", "repository": "acme/web", "data": {"updated_tags": ["a"]}}
    stream.write_text(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    with Receiver(failing) as bad:
        write_config(
            config_file,
            "[delivery]\nbackoff = 0\nmax_attempts = 1\n",
            webhook_toml(bad.url(), id=rule_id(1)),
        )
        assert cli("emit", "--from", str(stream)).code == 1
        result = cli("emit", "--from", str(stream), "--soft-fail")
    assert result.code == 0, result.err
    [summary] = summary_lines(result.err)
    assert "2 of 2 deliveries did not succeed" in summary


def test_replay_soft_fail(cli: Cli, config_file: Path) -> None:
    """replay --failed to a receiver still failing: exit 1, and 0 under --soft-fail."""
    with Receiver() as good, Receiver(failing) as bad:
        two_rules(config_file, good, bad)
        assert cli(*EMIT).code == 1
        assert cli("replay", "--failed").code == 1
        result = cli("replay", "--failed", "--soft-fail")
        assert len(bad.requests) == 3 and len(good.requests) == 1
    assert result.code == 0, result.err
    [line] = summary_lines(result.err)
    assert "1 of 1 delivery did not succeed" in line


def test_replay_soft_fail_still_fails_what_could_not_be_planned(
    cli: Cli, config_file: Path
) -> None:
    """A delivery whose rule was removed from the config is not a receiver's failure: replay
    says so and exits 1 even under --soft-fail."""
    with Receiver() as good, Receiver(failing) as bad:
        two_rules(config_file, good, bad)
        assert cli(*EMIT).code == 1
        write_config(
            config_file,
            "[delivery]\nbackoff = 0\n",
            webhook_toml(good.url("/good"), id=rule_id(1)),
        )
        result = cli("replay", "--failed", "--soft-fail")
    assert result.code == 1, result.err
    assert "is no longer in the config" in result.err
    assert summary_lines(result.err) == []


@pytest.mark.parametrize("command", ["emit", "replay"])
def test_soft_fail_keeps_usage_errors_exit_2(cli: Cli, config_file: Path, command: str) -> None:
    """A mistyped event name, or replay without ids or --failed: exit 2, one error line."""
    config_file.write_text("")
    args = ("emit", "repo_pushh", "--repo", "acme/web") if command == "emit" else ("replay",)
    message = one_error(cli(*args, "--soft-fail"), 2)
    assert message


@pytest.mark.parametrize("command", ["emit", "replay"])
def test_soft_fail_keeps_config_errors_exit_3(cli: Cli, config_file: Path, command: str) -> None:
    """A config that does not parse: exit 3, one error line, nothing sent."""
    config_file.write_text("[[rule]\n")
    args = EMIT if command == "emit" else ("replay", "--failed")
    message = one_error(cli(*args, "--soft-fail"), 3)
    assert str(config_file) in message or "TOML" in message or "config" in message


FAULTY = """\
import quaynotify.config.load

def load(path):
    raise RuntimeError("simulated bug")

quaynotify.config.load.load = load
from quaynotify.cli import main
main()
"""


def test_soft_fail_keeps_internal_errors_exit_4() -> None:
    """A bug (simulated as test_output does: the config loader raises) is exit 4 under
    --soft-fail too, not swallowed into a green job."""
    proc = subprocess.run(
        [sys.executable, "-c", FAULTY, *EMIT, "--soft-fail"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 4, proc.stderr
    assert "simulated bug" in proc.stderr


def test_soft_fail_keeps_an_interrupt_exit_130(tmp_path: Path) -> None:
    """SIGINT while deliveries are held by the receiver: exit 130 under --soft-fail, as without
    it (the console script in a subprocess, as a CI runner cancelling a job sends it)."""
    gate = Gate(0)
    config = tmp_path / "config.toml"
    env = process_env(tmp_path, config)
    with Receiver(gate) as receiver:
        write_config(
            config,
            "[delivery]\nbackoff = 0\ntimeout = 60\n",
            webhook_toml(receiver.url("/1"), id=rule_id(1)),
            webhook_toml(receiver.url("/2"), id=rule_id(2)),
        )
        proc = spawn([*EMIT, "--soft-fail"], env)
        wait_for(lambda: len(receiver.requests) == 2)
        proc.send_signal(signal.SIGINT)
        code, _, err = finish(proc, timeout=30)
        gate.open()
    assert code == 130, err
    assert "interrupted" in err


def test_soft_fail_counts_an_unset_env_reference_as_a_failed_delivery(
    cli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the README says: a Slack rule whose `env:` URL is not set in this job is a failed
    delivery, journaled as one, so --soft-fail exits 0; its own warning says which variable."""
    monkeypatch.delenv("QN_SOFT_FAIL_UNSET_URL", raising=False)
    write_config(
        config_file,
        "[delivery]\nbackoff = 0\n",
        rule_toml("slack", id=rule_id(1), url="env:QN_SOFT_FAIL_UNSET_URL"),
    )
    assert cli(*EMIT).code == 1
    result = cli(*EMIT, "--soft-fail")
    assert result.code == 0, result.err
    assert "QN_SOFT_FAIL_UNSET_URL" in result.err
    assert len(summary_lines(result.err)) == 1
    [failed] = json.loads(cli("log", "--failed", "--json").out)[:1]
    assert failed["rule_id"] == rule_id(1)
