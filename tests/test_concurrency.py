"""Delivery and config editing under concurrent use: the bounded fan-out pool with one shared
HTTP client, and real processes adding rules, emitting and being killed mid-write."""

from __future__ import annotations

import collections
import fcntl
import functools
import json
import os
import random
import signal
import stat
import subprocess
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import CONSOLE, Cli
from helpers.configs import NOWHERE, rule_add, rule_id, webhook_toml, write_config
from helpers.receivers import Hanging, Received, Receiver, Resetting
from helpers.state import on_both_backends

from quaynotify.config import load as cfg
from quaynotify.store import Store

TAGS = 'updated_tags=["latest"]'
EMIT = ("emit", "repo_push", "--repo", "acme/web", "--set", TAGS)


def webhook_rules(path: Path, urls: Sequence[str], delivery: str = "") -> list[str]:
    """A config with one repo_push rule per URL, in this order; returns the rule ids."""
    blocks = (webhook_toml(url, id=rule_id(n)) for n, url in enumerate(urls, start=1))
    write_config(path, f"[delivery]\nbackoff = 0\n{delivery}\n", *blocks)
    return [rule_id(n) for n in range(1, len(urls) + 1)]


def tsv(out: str) -> list[list[str]]:
    return [line.split("\t") for line in out.splitlines()]


def journal(cli: Cli) -> dict[str, dict[str, Any]]:
    """Every journaled delivery by id, with its attempts."""
    result = cli("log", "--json", "--limit", "1000")
    assert result.code == 0, result.err
    shown = {}
    for d in json.loads(result.out):
        one = cli("log", "show", d["id"], "--json")
        assert one.code == 0, one.err
        shown[d["id"]] = json.loads(one.out)
    return shown


# -- the fan-out pool, in-process ------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.mark.parametrize("concurrency", [(), ("--concurrency", "2")], ids=["default", "2"])
def test_a_dead_endpoint_does_not_delay_the_others(
    cli: Cli, config_file: Path, receiver: Receiver, concurrency: tuple[str, ...]
) -> None:
    with Hanging() as hanging:
        urls = [hanging.url("/dead")] + [receiver.url(f"/{n}") for n in range(2, 21)]
        ids = webhook_rules(config_file, urls, "timeout = 2\nmax_attempts = 1\n")
        result = cli(*EMIT, *concurrency)
        assert hanging.accepted == 1
    assert result.code == 1, result.err
    rows = tsv(result.out)
    # Config order, although the first rule's delivery is the last to end.
    assert [row[1] for row in rows] == ids
    assert [row[3] for row in rows] == ["failed"] + ["succeeded"] * 19
    assert "timed out after 2s" in rows[0][5]
    received = receiver.requests
    assert sorted(r.path for r in received) == sorted(f"/{n}" for n in range(2, 21))
    by_rule = {row[1]: row[0] for row in rows}
    assert sorted(r.webhook_id for r in received) == sorted(by_rule[i] for i in ids[1:])

    deliveries = journal(cli)
    assert {d["rule_id"]: d["status"] for d in deliveries.values()} == {
        i: "failed" if i == ids[0] else "succeeded" for i in ids
    }
    (dead,) = deliveries[by_rule[ids[0]]]["attempts"]
    assert not dead["ok"] and "timed out" in dead["message"]
    # Every other receipt came in while the dead endpoint's only attempt was still waiting.
    assert max(r.at for r in received) < dead["started"] + dead["duration"]


@pytest.mark.parametrize(
    ("setting", "option", "pool"),
    [(None, (), 8), (3, (), 3), (5, ("--concurrency", "2"), 2)],
    ids=["default-8", "config-3", "option-2-over-config-5"],
)
def test_the_pool_runs_exactly_concurrency_deliveries_at_once(
    cli: Cli, config_file: Path, setting: int | None, option: tuple[str, ...], pool: int
) -> None:
    # The receiver holds requests until `pool` are in flight together: a smaller pool would
    # never get there (and fail on the hold limit), a larger one would overshoot.
    with Receiver(saturate=pool, expected=12) as gated:
        delivery = "" if setting is None else f"concurrency = {setting}\n"
        webhook_rules(config_file, [gated.url(f"/{n}") for n in range(12)], delivery)
        result = cli(*EMIT, *option)
    assert result.code == 0, result.err
    assert len(gated.requests) == 12
    assert gated.max_in_flight == pool


def test_deliveries_share_one_http_client(cli: Cli, config_file: Path, receiver: Receiver) -> None:
    # With keep-alive, one shared client opens at most `concurrency` connections; a client
    # per delivery would open one per rule.
    webhook_rules(config_file, [receiver.url(f"/{n}") for n in range(12)])
    result = cli(*EMIT, "--concurrency", "3")
    assert result.code == 0, result.err
    assert len(receiver.requests) == 12
    assert 1 <= len({r.client for r in receiver.requests}) <= 3


@on_both_backends
def test_each_delivery_runs_its_own_retry_loop(cli: Cli, config_file: Path) -> None:
    def respond(request: Received, seen: int) -> int:
        return 500 if request.path == "/flaky" and seen < 3 else 200

    with Receiver(respond) as receiver, Resetting() as resetting:
        urls = [receiver.url("/flaky"), resetting.url("/reset")]
        urls += [receiver.url(f"/{n}") for n in range(4)]
        ids = webhook_rules(config_file, urls, "max_attempts = 3\n")
        result = cli(*EMIT, "--json")
        assert resetting.accepted == 3
    assert result.code == 1, result.err
    out = json.loads(result.out)["deliveries"]
    assert [d["rule_id"] for d in out] == ids
    assert [d["status"] for d in out] == ["succeeded", "failed"] + ["succeeded"] * 4
    assert [[a["ok"] for a in d["attempts"]] for d in out] == [
        [False, False, True],
        [False, False, False],
    ] + [[True]] * 4
    assert [a["status"] for a in out[0]["attempts"]] == [500, 500, 200]
    # The same webhook-id on every attempt of a delivery, and no other delivery retried.
    counts = collections.Counter(r.webhook_id for r in receiver.requests)
    assert counts == {d["id"]: len(d["attempts"]) for d in out if d["rule_id"] != ids[1]}
    stored = journal(cli)
    assert {i: len(d["attempts"]) for i, d in stored.items()} == {
        d["id"]: len(d["attempts"]) for d in out
    }


# -- real processes -------------------------------------------------------------------------------


def process_env(tmp_path: Path, config: Path, state: str = "state") -> dict[str, str]:
    return {
        **os.environ,
        "QUAYNOTIFY_CONFIG": str(config),
        "QUAYNOTIFY_STATE_DIR": str(tmp_path / state),
        "QUAYNOTIFY_DEBUG": "",
    }


def spawn(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CONSOLE, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen[str], timeout: float = 100) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def add_args(title: str) -> list[str]:
    return [*rule_add("webhook", "--url", NOWHERE, "--title", title)]


def rules_in(path: Path) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = tomllib.loads(path.read_text("utf-8")).get("rule", [])
    return rules


def test_parallel_rule_adds_keep_every_rule(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    env = process_env(tmp_path, config)
    printed: dict[str, str] = {}  # title -> the id its process printed
    for round_ in range(1, 6):
        titles = [f"round {round_} process {n}" for n in range(16)]
        procs = [(title, spawn(add_args(title), env)) for title in titles]
        for title, proc in procs:
            code, out, err = finish(proc)
            assert code == 0, err
            assert err.startswith("quaynotify: added rule ") and err.count("\n") == 1, err
            printed[title] = out.strip()
        rules = rules_in(config)
        assert len(rules) == 16 * round_
        assert len({r["id"] for r in rules}) == 16 * round_
        assert {r["title"]: r["id"] for r in rules} == printed
        cfg.load(config)  # every rule whole and valid, not just TOML
        assert stat.S_IMODE(config.stat().st_mode) == 0o600


FILLER_LINE = "# " + "filler to make every write of this file take a while " * 2 + "\n"


def filler(lines: int) -> str:
    return FILLER_LINE * lines


def litter(config: Path) -> set[Path]:
    return set(config.parent.glob(f".{config.name}.*.tmp"))


def new_litter(config: Path, before: set[Path]) -> bool:
    return bool(litter(config) - before)


def assert_whole(config: Path, filler_lines: int) -> list[dict[str, Any]]:
    """The file parses, loads as a config, and lost none of the text around the rules."""
    text = config.read_text("utf-8")
    assert text.count(FILLER_LINE) == filler_lines
    cfg.load(config)
    return rules_in(config)


def kill_when(proc: subprocess.Popen[str], moment: Callable[[], bool]) -> bool:
    """SIGKILL `proc` as soon as `moment()` is true; False if the process ended first."""
    while proc.poll() is None:
        if moment():
            proc.send_signal(signal.SIGKILL)  # a no-op if it has just ended on its own
            return proc.wait(timeout=60) == -signal.SIGKILL
    return False


@pytest.mark.parametrize("operation", ["add", "remove"])
def test_a_writer_killed_mid_write_leaves_the_old_or_the_new_config(
    tmp_path: Path, operation: str
) -> None:
    config = tmp_path / "config.toml"
    env = process_env(tmp_path, config)
    # Enough text that a write takes milliseconds: the temp file is there long enough to see.
    lines = 8000 if operation == "add" else 1500
    blocks = (webhook_toml("http://127.0.0.1:9/", id=rule_id(n)) for n in range(1, 41))
    write_config(config, filler(lines), *blocks)
    config.chmod(0o600)
    mid_write = 0
    for _ in range(40):
        old = config.read_bytes()
        old_ids = [r["id"] for r in rules_in(config)]
        before = litter(config)
        target = old_ids[0]
        args = add_args("added") if operation == "add" else ["rule", "remove", target]
        proc = spawn(args, env)
        killed = kill_when(proc, functools.partial(new_litter, config, before))
        code, _, err = finish(proc)
        new = config.read_bytes()
        ids = [r["id"] for r in assert_whole(config, lines)]
        if killed:
            mid_write += 1
            assert code == -signal.SIGKILL
        else:
            assert code == 0, err
            assert new != old
        if new != old and operation == "add":
            assert new.startswith(old)
            assert ids[:-1] == old_ids and len(ids) == len(old_ids) + 1
        elif new != old:
            assert ids == old_ids[1:]
        if mid_write == 3:
            break
    assert mid_write >= 1, "never caught a write in progress"
    # A killed writer may leave its temp file; it must not expose secrets or stop anything.
    for path in litter(config):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    code, out, err = finish(spawn(add_args("after the kills"), env))
    assert code == 0, err
    assert out.strip() in {r["id"] for r in assert_whole(config, lines)}
    assert litter(config) == set(), "the next writer clears what killed ones left"


def test_a_process_killed_holding_the_lock_does_not_block_the_next(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    lock = tmp_path / ".config.toml.lock"
    env = process_env(tmp_path, config)
    config.write_text(filler(8000))  # parsing it keeps the lock held for a while

    def lock_is_held() -> bool:
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # releases our probe's lock, if it got it
        return False

    caught = 0
    for _ in range(10):
        old = config.read_bytes()
        count = len(rules_in(config))
        proc = spawn(add_args("killed"), env)
        killed = kill_when(proc, lock_is_held)
        code, _, err = finish(proc)
        if killed:
            caught += 1
            new = config.read_bytes()
            assert new == old or (new.startswith(old) and len(rules_in(config)) == count + 1)
        else:
            assert code == 0, err
        if caught == 2:
            break
    assert caught >= 1, "never caught a process holding the lock"
    count = len(rules_in(config))
    # A stale lock would make this wait until the timeout.
    code, out, err = finish(spawn(add_args("after the kill"), env), timeout=30)
    assert code == 0, err
    rules = assert_whole(config, 8000)
    assert len(rules) == count + 1 and rules[-1]["id"] == out.strip()


def test_writers_killed_at_random_moments_never_break_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    env = process_env(tmp_path, config)
    lines = 300
    blocks = (webhook_toml("http://127.0.0.1:9/", id=rule_id(n)) for n in range(1, 31))
    write_config(config, filler(lines), *blocks)
    rng = random.Random(20261127)  # kill moments vary with the machine's speed anyway
    for wave in range(3):
        before = {r["id"]: r for r in rules_in(config)}
        targets = rng.sample(sorted(before), 3)
        titles = [f"wave {wave} add {n}" for n in range(3)]
        jobs = [("add", t, spawn(add_args(t), env)) for t in titles]
        jobs += [("remove", t, spawn(["rule", "remove", t], env)) for t in targets]
        doomed = {id(proc): rng.uniform(0.0, 0.6) for _, _, proc in jobs if rng.random() < 0.6}
        results = []
        for kind, what, proc in jobs:
            if id(proc) in doomed:
                try:
                    proc.wait(timeout=doomed[id(proc)])
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
            code, out, err = finish(proc)
            assert code in (0, -signal.SIGKILL), f"{kind} {what}: {err}"
            results.append((kind, what, code, out.strip()))
        after = {r["id"]: r for r in assert_whole(config, lines)}
        gone = set(before) - set(after)
        new = {i: r for i, r in after.items() if i not in before}
        assert gone <= set(targets)
        new_titles = [r.get("title") for r in new.values()]
        assert set(new_titles) <= set(titles) and len(set(new_titles)) == len(new_titles)
        for i in set(before) & set(after):
            assert after[i] == before[i]
        for kind, what, code, out in results:
            if code == 0 and kind == "add":
                assert after[out]["title"] == what
            elif code == 0:
                assert what not in after
    code, out, err = finish(spawn(add_args("after the waves"), env))
    assert code == 0, err
    assert out.strip() in {r["id"] for r in assert_whole(config, lines)}


@pytest.mark.parametrize("fresh", [False, True], ids=["existing-database", "fresh-state-dir"])
def test_parallel_emits_journal_every_delivery_once(
    tmp_path: Path, store: Store, fresh: bool
) -> None:
    """20 emits at once, on each backend (the processes inherit QUAYNOTIFY_STATE_URL), into
    a state that exists or one the first of them creates: each delivery journaled once."""

    def respond(request: Received, seen: int) -> int:
        return 500 if request.path == "/flaky" and seen == 1 else 200

    config = tmp_path / "config.toml"
    env = process_env(tmp_path, config, "fresh-state" if fresh else "state")
    with Receiver(respond) as receiver:
        webhook_rules(
            config, [receiver.url(p) for p in ("/a", "/b", "/flaky")], "max_attempts = 2\n"
        )
        if not fresh:
            store.health.reset(rule_id(1))  # creates the database (the store's is tmp_path/state)
            store.close()
        procs = [spawn(EMIT, env) for _ in range(20)]
        printed = []
        for proc in procs:
            code, out, err = finish(proc)
            assert "database is locked" not in err
            assert code == 0, err
            # nothing on stderr but the flaky rule's retries, told as they happen
            retry = f"quaynotify: rule {rule_id(3)}: attempt 1/2 failed: "
            assert all(line.startswith(retry) for line in err.splitlines()), err
            printed += [row[0] for row in tsv(out)]
        code, out, err = finish(spawn(["log", "--json", "--limit", "1000"], env))
        assert code == 0, err
        received = receiver.requests
    logged = json.loads(out)
    assert len(logged) == 20 * 3
    assert {d["status"] for d in logged} == {"succeeded"}
    assert sorted(printed) == sorted(d["id"] for d in logged)
    # Each request exactly once per journaled attempt, under the delivery's own webhook-id.
    assert collections.Counter(r.webhook_id for r in received) == {
        d["id"]: d["attempt_count"] for d in logged
    }
    flaky = {r.webhook_id for r in received if r.path == "/flaky"}
    assert {d["attempt_count"] for d in logged if d["id"] in flaky} == {2}
    assert {d["attempt_count"] for d in logged if d["id"] not in flaky} == {1}


# -- Ctrl-C and SIGTERM during delivery -----------------------------------------------------------


class Gate:
    """A receiver's answer: the first `free` requests are answered at once, the others are
    held until `open()` (or the receiver's failsafe)."""

    def __init__(self, free: int) -> None:
        self.free = free
        self._count = 0
        self._lock = threading.Lock()
        self._open = threading.Event()

    def __call__(self, request: Received, seen: int) -> int:
        with self._lock:
            self._count += 1
            held = self._count > self.free
        if held:
            self._open.wait(timeout=60)
        return 200

    def open(self) -> None:
        self._open.set()


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "the condition never came true"
        time.sleep(0.01)


@on_both_backends
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_new_attempts_journals_everything_and_exits_130(
    tmp_path: Path, store: Store, signum: int
) -> None:
    rules, free, pool = 300, 20, 8
    gate = Gate(free)
    config = tmp_path / "config.toml"
    env = process_env(tmp_path, config)
    with Receiver(gate) as receiver:
        webhook_rules(config, [receiver.url(f"/{n}") for n in range(rules)], "timeout = 60\n")
        proc = spawn([*EMIT, "--concurrency", str(pool)], env)
        wait_for(lambda: len(receiver.requests) == free + pool)
        proc.send_signal(signum)
        code, out, err = finish(proc, timeout=30)  # not the 60 s the held requests would take
        reached = {r.webhook_id for r in receiver.requests}
        gate.open()
    assert code == 130
    assert err.count("\n") == 1 and err.startswith("quaynotify: error: interrupted: "), err
    assert f"{free} of {rules} deliveries finished" in err
    assert "quaynotify replay --failed" in err
    code, out, err = finish(spawn(["log", "--json", "--limit", "1000"], env))
    assert code == 0, err
    logged = {d["id"]: d for d in json.loads(out)}
    assert len(logged) == rules  # every delivery, not only those that finished
    assert reached <= set(logged)
    statuses = collections.Counter(d["status"] for d in logged.values())
    assert statuses == {"succeeded": free, "interrupted": rules - free}
    in_flight = [d for i, d in logged.items() if i in reached and d["status"] != "succeeded"]
    assert len(in_flight) == pool
    assert {d["error"] for d in in_flight} == {
        "interrupted during attempt 1: the receiver may have it"
    }
    assert {d["error"] for i, d in logged.items() if i not in reached} == {
        "interrupted before the first attempt"
    }
    # Interrupted is not the receiver's failure: the breaker did not count it.
    health = store.health.of()
    assert all(h.failures == 0 for h in health.values())
    # What did not finish is what replay --failed sends, with the same delivery ids.
    with Receiver() as again:
        webhook_rules(config, [again.url(f"/{n}") for n in range(rules)])
        code, out, err = finish(spawn(["replay", "--failed"], env))
        assert code == 0, err
        assert {r.webhook_id for r in again.requests} == set(logged) - {
            i for i, d in logged.items() if d["status"] == "succeeded"
        }


@on_both_backends
def test_attempts_that_end_within_the_grace_are_journaled_as_they_ended(tmp_path: Path) -> None:
    gate = Gate(0)
    config = tmp_path / "config.toml"
    env = process_env(tmp_path, config)
    with Receiver(gate) as receiver:
        webhook_rules(config, [receiver.url(f"/{n}") for n in range(4)], "timeout = 60\n")
        proc = spawn(EMIT, env)
        wait_for(lambda: len(receiver.requests) == 4)
        proc.send_signal(signal.SIGINT)
        gate.open()  # the receivers answer now: well within the second of grace
        code, out, err = finish(proc, timeout=30)
    assert code == 130
    assert "interrupted: 4 of 4 deliveries finished" in err and "replay" not in err
    code, out, err = finish(spawn(["log", "--json"], env))
    assert {d["status"] for d in json.loads(out)} == {"succeeded"}
