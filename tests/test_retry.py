"""THE retry loop (delivery.attempt_with_retries, RetryPolicy, Clock) on a fake clock, and
retries end to end against a real receiver: ordered answers, the journal, the exit status."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from helpers.configs import NOWHERE, add_webhook
from helpers.state import on_both_backends
from pytest_httpserver import HTTPServer

from quaynotify.config.settings import DeliverySettings
from quaynotify.delivery.retry import Clock, RetryPolicy, attempt_with_retries
from quaynotify.errors import DeliveryError
from quaynotify.methods.base import Sent
from quaynotify.store.journal import Attempt

EPOCH = 1_700_000_000.0


@dataclass
class FakeTime:
    """A clock that only moves when the loop sleeps or a fake attempt takes time."""

    now: float = 100.0
    rand: float = 0.5
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(
            monotonic=lambda: self.now,
            wall=lambda: EPOCH + self.now,
            sleep=self.sleep,
            random=lambda: self.rand,
        )


@dataclass
class Receiver:
    """`send(timeout)` playing a script of outcomes; each attempt takes `takes` seconds."""

    time: FakeTime
    script: Sequence[Sent | DeliveryError]
    takes: float = 0.0
    calls: list[tuple[float, float]] = field(default_factory=list)  # (started, timeout)

    def __call__(self, timeout: float) -> Sent:
        outcome = self.script[min(len(self.calls), len(self.script) - 1)]
        self.calls.append((self.time.now, timeout))
        self.time.now += self.takes
        if isinstance(outcome, DeliveryError):
            raise outcome
        return outcome


OK = Sent(200, "200 OK")


def fail(status: int = 503, **kwargs: Any) -> DeliveryError:
    transient = status in (408, 425, 429) or status >= 500
    kwargs.setdefault("transient", transient)
    return DeliveryError(
        f"{status} response for webhook to url: http://h/", status=status, **kwargs
    )


@dataclass(frozen=True)
class Run:
    attempts: tuple[Attempt, ...]
    error: str | None
    calls: list[tuple[float, float]]  # (started, timeout) of each call of send
    sleeps: list[float]


def run(
    script: Sequence[Sent | DeliveryError],
    *,
    takes: float = 0.0,
    rand: float = 0.5,
    deadline: float | None = None,
    **policy: Any,
) -> Run:
    time = FakeTime(rand=rand)
    receiver = Receiver(time, script, takes)
    tried = attempt_with_retries(
        receiver, RetryPolicy(**policy), deadline=deadline, clock=time.clock()
    )
    return Run(tried.attempts, tried.error, receiver.calls, time.sleeps)


# -- attempts -----------------------------------------------------------------------------------


def test_a_first_success_is_one_attempt_and_no_wait() -> None:
    r = run([OK], takes=0.25)
    assert r.error is None and r.sleeps == []
    (attempt,) = r.attempts
    assert (attempt.number, attempt.ok, attempt.status, attempt.message) == (1, True, 200, "200 OK")
    assert (attempt.started, attempt.duration) == (EPOCH + 100.0, 0.25)


def test_failures_then_a_success() -> None:
    r = run([fail(503), fail(502), OK], backoff=0)
    assert r.error is None
    assert [(a.number, a.ok, a.status) for a in r.attempts] == [
        (1, False, 503),
        (2, False, 502),
        (3, True, 200),
    ]
    assert r.attempts[0].message == "503 response for webhook to url: http://h/"
    assert len(r.sleeps) == 2


@pytest.mark.parametrize("max_attempts", [1, 2, 3, 7])
def test_max_attempts(max_attempts: int) -> None:
    r = run([fail(500)], max_attempts=max_attempts, backoff=0)
    assert len(r.attempts) == len(r.calls) == max_attempts
    assert len(r.sleeps) == max_attempts - 1  # no wait after the last attempt
    assert r.error == "500 response for webhook to url: http://h/"


def test_per_attempt_timeout_is_passed_to_send() -> None:
    r = run([fail(), fail(), OK], timeout=4.5)
    assert [timeout for _, timeout in r.calls] == [4.5, 4.5, 4.5]


# -- backoff ------------------------------------------------------------------------------------


def delays(rand: float, attempts: int = 8, **policy: Any) -> list[float]:
    return run([fail()], rand=rand, max_attempts=attempts, **policy).sleeps


@pytest.mark.parametrize(("backoff", "max_backoff"), [(1.0, 30.0), (0.2, 5.0), (3.0, 3.0)])
def test_backoff_is_exponential_with_jitter_within_bounds(
    backoff: float, max_backoff: float
) -> None:
    steps = [min(max_backoff, backoff * 2**n) for n in range(7)]
    low, mid, high = (
        delays(r, backoff=backoff, max_backoff=max_backoff) for r in (0, 0.5, 0.99999)
    )
    for delay_lists in (low, mid, high):
        assert len(delay_lists) == len(steps)
        for delay, step in zip(delay_lists, steps, strict=True):
            assert 0 <= delay <= step
    assert high == pytest.approx(steps, rel=1e-4)  # the jitter reaches the full step
    assert all(a < b for a, b in zip(low, high, strict=True))  # and really varies
    assert all(a <= b for a, b in itertools.pairwise(mid))  # never shrinks


def test_backoff_never_exceeds_max_backoff() -> None:
    assert max(delays(0.99999, attempts=20, backoff=10.0, max_backoff=15.0)) <= 15.0


def test_zero_backoff_does_not_wait() -> None:
    assert delays(0.99999, attempts=4, backoff=0.0) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("retry_after", "max_backoff", "waited"),
    [(7.0, 30.0, 7.0), (100.0, 30.0, 30.0), (0.0, 30.0, 0.0), (0.5, 30.0, 0.5)],
)
def test_retry_after_is_honoured_and_capped(
    retry_after: float, max_backoff: float, waited: float
) -> None:
    script: list[Sent | DeliveryError] = [fail(429, retry_after=retry_after), OK]
    r = run(script, backoff=1.0, max_backoff=max_backoff)
    assert r.error is None and len(r.attempts) == 2
    assert r.sleeps == [waited]


# -- what is retried ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "retry_on", "attempts"),
    [
        (fail(503), "any", 3),
        (fail(503), "transient", 3),
        (fail(429), "transient", 3),
        (fail(408), "transient", 3),
        (fail(400), "any", 3),  # as in Quay, any non-2xx is retried
        (fail(400), "transient", 1),
        (fail(404), "transient", 1),
        (fail(302), "transient", 1),
        (DeliveryError("timed out after 10s", transient=True), "transient", 3),
        (DeliveryError("[Errno 111] Connection refused", transient=True), "transient", 3),
        (DeliveryError("url refers to env var X, which is not set", retryable=False), "any", 1),
        (DeliveryError("template: bad data", retryable=False), "transient", 1),
    ],
)
def test_retry_on(error: DeliveryError, retry_on: str, attempts: int) -> None:
    r = run([error], backoff=0, retry_on=retry_on, max_attempts=3)
    assert len(r.attempts) == len(r.calls) == attempts
    assert len(r.sleeps) == attempts - 1
    assert r.error == error.message


def test_a_non_retryable_error_after_retries_stops_at_once() -> None:
    script: list[Sent | DeliveryError] = [fail(503), DeliveryError("bad", retryable=False), OK]
    r = run(script, backoff=0, max_attempts=5)
    assert [a.ok for a in r.attempts] == [False, False]
    assert r.error == "bad"


# -- the deadline -------------------------------------------------------------------------------


@pytest.mark.parametrize("takes", [0.0, 1.0, 3.0, 6.0])
def test_no_attempt_starts_after_the_deadline(takes: float) -> None:
    deadline = 100.0 + 10.0
    r = run([fail()], takes=takes, deadline=deadline, backoff=1.0, max_attempts=100, timeout=4.0)
    assert r.calls, "the first attempt starts before the deadline"
    assert len(r.calls) < 100
    for started, timeout in r.calls:
        assert started < deadline
        assert 0 < timeout <= min(4.0, deadline - started)  # an attempt ends by the deadline
    assert r.error is not None and "deadline" in r.error


def test_the_timeout_shrinks_to_the_time_left() -> None:
    r = run([fail()], takes=3.0, deadline=100.0 + 8.0, backoff=0, timeout=5.0)
    assert [timeout for _, timeout in r.calls] == [5.0, 5.0, 2.0]


def test_a_deadline_that_has_passed_starts_nothing() -> None:
    r = run([OK], deadline=99.0)
    assert r.attempts == () and r.calls == []
    assert r.error is not None and "deadline" in r.error


def test_a_deadline_error_never_says_none() -> None:
    error = run([OK], deadline=99.0).error
    assert error is not None and "None" not in error


def test_policy_from_settings() -> None:
    settings = DeliverySettings(
        timeout=2.5, max_attempts=5, backoff=0.5, max_backoff=4.0, retry_on="transient"
    )
    assert RetryPolicy.from_settings(settings) == RetryPolicy(5, 0.5, 4.0, 2.5, "transient")
    assert RetryPolicy.from_settings(settings, max_attempts=1, timeout=None).max_attempts == 1
    assert RetryPolicy() == RetryPolicy.from_settings(DeliverySettings())  # 3, 1 s, 30 s, 10 s


# -- end to end ---------------------------------------------------------------------------------
# Those that read the journal back (`log`) run on both backends.

FAST = "[delivery]\nbackoff = 0\n"
EMIT = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')


@pytest.fixture
def rule(cli: Cli, config_file: Path, httpserver: HTTPServer) -> Callable[..., str]:
    def add(settings: str = FAST) -> str:
        config_file.write_text(settings)
        return add_webhook(cli, httpserver.url_for("/hook"))

    return add


def answer(httpserver: HTTPServer, *statuses: int, headers: dict[str, str] | None = None) -> None:
    for status in statuses:
        httpserver.expect_ordered_request("/hook", method="POST").respond_with_data(
            "", status=status, headers=headers if status != 200 else None
        )


@on_both_backends
def test_503_503_200_is_one_delivery_with_three_attempts(
    cli: Cli, rule: Callable[..., str], httpserver: HTTPServer
) -> None:
    rule_id = rule()
    answer(httpserver, 503, 503, 200)
    result = cli(*EMIT)
    assert result.code == 0, result.err
    where = f"503 response for webhook to url: {httpserver.url_for('/hook')}"
    assert result.err == (  # each retry is told as it happens (backoff = 0: no wait)
        f"quaynotify: rule {rule_id}: attempt 1/3 failed: {where}; retrying in 0 s\n"
        f"quaynotify: rule {rule_id}: attempt 2/3 failed: {where}; retrying in 0 s\n"
    )
    httpserver.check_assertions()
    assert len(httpserver.log) == 3
    (logged,) = json.loads(cli("log", "--json").out)
    assert (logged["rule_id"], logged["status"], logged["attempt_count"]) == (
        rule_id,
        "succeeded",
        3,
    )
    shown = json.loads(cli("log", "show", logged["id"], "--json").out)
    assert [(a["number"], a["ok"], a["status"]) for a in shown["attempts"]] == [
        (1, False, 503),
        (2, False, 503),
        (3, True, 200),
    ]
    # the same delivery id on every attempt, so a receiver can de-duplicate
    assert {request.headers["webhook-id"] for request, _ in httpserver.log} == {logged["id"]}
    bodies = {request.get_data() for request, _ in httpserver.log}
    assert len(bodies) == 1


@on_both_backends
def test_a_receiver_failing_every_time(
    cli: Cli, rule: Callable[..., str], httpserver: HTTPServer
) -> None:
    rule_id = rule()
    httpserver.expect_request("/hook").respond_with_data("boom", status=500)
    result = cli(*EMIT)
    assert result.code == 1
    assert len(httpserver.log) == 3
    # the two retries, told as they happened, then the one line of the delivery's failure
    retries, failure = result.err.splitlines()[:2], result.err.splitlines()[2:]
    assert [line.split(" failed: ")[0] for line in retries] == [
        f"quaynotify: rule {rule_id}: attempt {n}/3" for n in (1, 2)
    ], result.err
    assert len(failure) == 1 and "retrying" not in failure[0], result.err
    (logged,) = json.loads(cli("log", "--json").out)
    assert logged["id"] in result.err and rule_id in result.err
    assert "500 response for webhook to url: " + httpserver.url_for("/hook") in result.err
    assert "Traceback" not in result.err
    assert logged["status"] == "failed" and logged["attempt_count"] == 3
    assert "500" in logged["error"]
    failed = cli("log", "--failed")
    assert failed.code == 0
    assert [line.split("\t")[0] for line in failed.lines] == [logged["id"]]
    assert [d["id"] for d in json.loads(cli("log", "--failed", "--json").out)] == [logged["id"]]


def test_max_attempts_from_the_config_and_the_command_line(
    cli: Cli, rule: Callable[..., str], httpserver: HTTPServer
) -> None:
    rule(FAST + "max_attempts = 5\n")
    httpserver.expect_request("/hook").respond_with_data("", status=500)
    assert cli(*EMIT).code == 1
    assert len(httpserver.log) == 5
    httpserver.clear_log()
    assert cli(*EMIT, "--max-attempts", "2").code == 1
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("retry_on", "status", "requests"),
    [("any", 400, 3), ("transient", 400, 1), ("transient", 503, 3), ("transient", 429, 3)],
)
def test_retry_on_in_the_config(
    cli: Cli,
    rule: Callable[..., str],
    httpserver: HTTPServer,
    retry_on: str,
    status: int,
    requests: int,
) -> None:
    rule(FAST + f'retry_on = "{retry_on}"\n')
    httpserver.expect_request("/hook").respond_with_data("", status=status)
    assert cli(*EMIT).code == 1
    assert len(httpserver.log) == requests


@pytest.mark.timeout(30)
def test_retry_after_is_capped_by_max_backoff_end_to_end(
    cli: Cli, rule: Callable[..., str], httpserver: HTTPServer
) -> None:
    rule("[delivery]\nbackoff = 0\nmax_backoff = 0\n")
    answer(httpserver, 429, 200, headers={"Retry-After": "3600"})
    result = cli(*EMIT)
    assert result.code == 0, result.err
    assert len(httpserver.log) == 2


@on_both_backends
def test_a_redirect_is_a_failure_naming_the_location_and_is_not_followed(
    cli: Cli, rule: Callable[..., str], httpserver: HTTPServer
) -> None:
    rule(FAST + "max_attempts = 2\n")
    moved = httpserver.url_for("/moved")
    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": moved}
    )
    httpserver.expect_request("/moved").respond_with_data("ok")
    result = cli(*EMIT)
    assert result.code == 1
    assert [request.path for request, _ in httpserver.log] == ["/hook", "/hook"]
    assert "302" in result.err and moved in result.err
    (logged,) = json.loads(cli("log", "--json").out)
    assert moved in logged["error"]


@on_both_backends
def test_a_dead_endpoint_is_retried_and_fails(cli: Cli, config_file: Path) -> None:
    config_file.write_text(FAST)
    add_webhook(cli, NOWHERE)
    result = cli(*EMIT)
    assert result.code == 1
    (logged,) = json.loads(cli("log", "--json").out)
    assert logged["attempt_count"] == 3
    assert re.search(r"delivery \S+ .*failed after 3 attempts", result.err)


@on_both_backends
def test_one_failing_rule_does_not_stop_the_others(
    cli: Cli, config_file: Path, httpserver: HTTPServer
) -> None:
    config_file.write_text(FAST)
    for path in ("/ok", "/broken"):
        add_webhook(cli, httpserver.url_for(path))
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/broken").respond_with_data("", status=500)
    result = cli(*EMIT)
    assert result.code == 1
    statuses = sorted(d["status"] for d in json.loads(cli("log", "--json").out))
    assert statuses == ["failed", "succeeded"]
    assert [r.path for r, _ in httpserver.log].count("/ok") == 1


# -- retries are told as they happen -----------------------------------------------------------


def test_a_retry_says_how_long_it_waits_as_the_receiver_asked(
    cli: Cli, rule: Callable[..., str], httpserver: HTTPServer
) -> None:
    """The wait announced is the one made: here the receiver's Retry-After, capped by
    max_backoff; a failure that is not retried (the last attempt) is told once, at the end."""
    rule_id = rule("[delivery]\nmax_attempts = 2\nmax_backoff = 0.2\n")
    answer(httpserver, 429, 429, headers={"Retry-After": "3600"})
    result = cli(*EMIT)
    assert result.code == 1
    where = f"429 response for webhook to url: {httpserver.url_for('/hook')}"
    lines = result.err.splitlines()
    assert lines[0] == f"quaynotify: rule {rule_id}: attempt 1/2 failed: {where}; retrying in 0.2 s"
    assert [line for line in lines if "retrying" in line] == lines[:1]
    assert len(httpserver.log) == 2


@pytest.mark.timeout(60)
def test_a_timed_out_attempt_is_told_with_its_timeout(cli: Cli, config_file: Path) -> None:
    """A receiver that never answers: 'attempt 1/2 timed out after 1 s; retrying in 0 s', on
    stderr before the delivery's failure, and nothing of it under -q."""
    from helpers.receivers import Hanging

    with Hanging() as hanging:
        config_file.write_text("[delivery]\nbackoff = 0\ntimeout = 1\nmax_attempts = 2\n")
        rule_id = add_webhook(cli, hanging.url("/hook"))
        result = cli(*EMIT)
        assert result.code == 1
        assert result.err.splitlines()[0] == (
            f"quaynotify: rule {rule_id}: attempt 1/2 timed out after 1 s; retrying in 0 s"
        )
        quiet = cli("-q", *EMIT)
        assert quiet.code == 1
        assert "retrying" not in quiet.err
        assert hanging.accepted == 4
