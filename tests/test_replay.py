"""Replay, the failure breaker and journal retention, through the CLI against real receivers,
on both backends; and `emit --from`, whose tests do not look at the state."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers.cli import Cli
from helpers.configs import add_webhook
from helpers.state import execute, on_both_backends, rows
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from quaynotify.store import Store

PUSH = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]')


@pytest.fixture
def fast(config_file: Path) -> Path:
    """No waiting between attempts, and the default breaker threshold."""
    config_file.write_text("[delivery]\nbackoff = 0\n")
    return config_file


class Switch:
    """A receiver that fails with 503 until it is switched up, recording webhook-ids."""

    def __init__(self) -> None:
        self.up = False
        self.ids: list[str] = []

    def __call__(self, request: Request) -> Response:
        self.ids.append(request.headers["webhook-id"])
        return Response("", status=200 if self.up else 503)


@pytest.fixture
def switch(httpserver: HTTPServer) -> Switch:
    handler = Switch()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    return handler


def journal(cli: Cli, *args: str) -> list[dict[str, object]]:
    result = cli("log", "--json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


@on_both_backends
def test_replay_failed_after_the_receiver_recovers(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    add_webhook(cli, httpserver.url_for("/hook"))
    assert cli(*PUSH).code == 1
    [failed] = journal(cli, "--failed")
    switch.up = True
    result = cli("replay", "--failed")
    assert result.code == 0, result.err
    assert journal(cli, "--failed") == []
    # the same delivery id on every attempt, the original three and the replayed one
    assert switch.ids == [failed["id"]] * 4
    shown = json.loads(cli("log", "show", str(failed["id"]), "--json").out)
    assert shown["status"] == "succeeded"
    assert [a["ok"] for a in shown["attempts"]] == [False, False, False, True]
    assert [a["number"] for a in shown["attempts"]] == [1, 2, 3, 4]


@on_both_backends
def test_replay_by_id_prefix_uses_the_rules_current_config(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    """The rule now points somewhere else: the replay goes there, not to the old URL."""
    rule_id = add_webhook(cli, "http://127.0.0.1:9/unreachable")
    assert cli(*PUSH, "--max-attempts", "1").code == 1
    [failed] = journal(cli)
    text = fast.read_text().replace("http://127.0.0.1:9/unreachable", httpserver.url_for("/hook"))
    fast.write_text(text)
    switch.up = True
    result = cli("replay", str(failed["id"])[:8])
    assert result.code == 0, result.err
    assert switch.ids == [failed["id"]]
    assert journal(cli)[0]["rule_id"] == rule_id


@on_both_backends
def test_replay_dry_run_sends_nothing(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    add_webhook(cli, httpserver.url_for("/hook"))
    cli(*PUSH, "--max-attempts", "1")
    switch.ids.clear()
    result = cli("replay", "--failed", "--dry-run", "--json")
    assert result.code == 0
    [preview] = json.loads(result.out)
    assert preview["body"]["updated_tags"] == ["latest"]
    assert switch.ids == []


@on_both_backends
def test_replay_of_a_removed_rule_is_reported(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    rule_id = add_webhook(cli, httpserver.url_for("/hook"))
    cli(*PUSH, "--max-attempts", "1")
    assert cli("rule", "remove", rule_id).code == 0
    result = cli("replay", "--failed")
    assert result.code == 1
    assert f"its rule {rule_id} is no longer in the config" in result.err


@on_both_backends
def test_replay_failed_filters_by_rule_and_since(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    first = add_webhook(cli, httpserver.url_for("/hook"))
    add_webhook(cli, httpserver.url_for("/hook"))
    cli(*PUSH, "--max-attempts", "1")
    switch.up = True
    switch.ids.clear()
    assert cli("replay", "--failed", "--rule", first[:8], "--since", "1h").code == 0
    assert len(switch.ids) == 1
    assert [d["rule_id"] for d in journal(cli, "--failed")] != [first]
    assert len(journal(cli, "--failed")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give delivery ids or --failed"),
        (("--since", "1h"), "--since and --rule select failed deliveries: add --failed"),
        (("--failed", "--since", "yesterday"), "--since 'yesterday': expected a duration"),
        (("abc", "--failed"), "give delivery ids or --failed, not both"),
        (("nope",), "no delivery with id 'nope' in the journal"),
        (("--from", "-", "--failed"), "run `quaynotify emit --from -`"),
    ],
)
def test_replay_usage_errors(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("replay", *args)
    assert result.code == 2
    assert message in result.err
    assert len(result.err.splitlines()) == 1


def test_replay_from_a_file_says_emit_from_sends_it_and_sends_nothing(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch, tmp_path: Path
) -> None:
    """`replay --from` used to emit a stream: it now names the command that does, quoted for
    the shell, and sends nothing, whatever else the command line says."""
    switch.up = True
    add_webhook(cli, httpserver.url_for("/hook"))
    stream = tmp_path / "my events.jsonl"
    stream.write_text(json.dumps({"event": "repo_push", "repository": "acme/web",
                                  "data": {"updated_tags": ["v1"]}}) + "\n")  # fmt: skip
    for args in (("--from", str(stream)), ("--failed", "--from", str(stream), "--dry-run")):
        result = cli("replay", *args)
        assert (result.code, result.out) == (2, ""), result.err
        assert result.err == (
            "quaynotify: error: `replay --from` moved to `emit --from`: run "
            f"`quaynotify emit --from '{stream}'` (replay only sends journaled deliveries "
            "again)\n"
        )
    assert switch.ids == []
    assert cli("emit", "--from", str(stream)).code == 0
    assert len(switch.ids) == 1


def test_emit_from_a_stream_emits_each_event(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    switch.up = True
    add_webhook(cli, httpserver.url_for("/hook"))
    add_webhook(cli, httpserver.url_for("/hook"), repo="acme/api")
    stream = "\n".join(
        [
            "# a comment, then a blank line",
            "",
            json.dumps({"event": "repo_push", "repository": "acme/web",
                        "data": {"updated_tags": ["v1"]}}),
            json.dumps({"event": "repo_push", "repository": "acme/api",
                        "data": {"updated_tags": ["v2"]}}),
            json.dumps({"event": "repo_push", "repository": "acme/none",
                        "data": {"updated_tags": ["v3"]}}),
        ]
    )  # fmt: skip
    result = cli("emit", "--from", "-", "--json", stdin=stream)
    assert result.code == 0, result.err
    bodies = sorted(json.loads(req.get_data())["updated_tags"][0] for req, _ in httpserver.log)
    assert bodies == ["v1", "v2"]
    [document] = [json.loads(result.out)]
    assert list(document) == ["deliveries"]  # of many events: each delivery names its own
    assert sorted(d["repository"] for d in document["deliveries"]) == ["acme/api", "acme/web"]


@on_both_backends
def test_a_nul_in_a_streams_performer_is_journaled_as_u_fffd(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    """A stream's JSON can carry a NUL ("\\u0000") in "performer", which the journal keeps:
    as U+FFFD on both backends (PostgreSQL's text cannot hold a NUL; the batch failed there)."""
    switch.up = True
    add_webhook(cli, httpserver.url_for("/hook"))
    line = json.dumps({"event": "repo_push", "repository": "acme/web",
                       "data": {"updated_tags": ["v1"]}, "performer": "ali\u0000ce"})  # fmt: skip
    result = cli("emit", "--from", "-", stdin=line)
    assert result.code == 0, result.err
    [delivery] = journal(cli)
    assert delivery["performer"] == "ali\ufffdce"


def test_emit_from_a_stream_that_reaches_no_rule_says_so(cli: Cli, fast: Path) -> None:
    line = json.dumps({"event": "repo_push", "repository": "acme/none",
                       "data": {"updated_tags": ["v1"]}})  # fmt: skip
    result = cli("emit", "--from", "-", stdin=line)
    assert (result.code, result.out) == (0, "")
    assert "no rule matches an event of standard input: nothing sent" in result.err


@pytest.mark.parametrize(
    "args",
    [("repo_push",), ("--repo", "acme/web"), ("--data", "{}"), ("--set", "a=1"), ("--sample",),
     ("--performer", "alice")],
    ids=lambda args: args[0],
)  # fmt: skip
def test_emit_from_refuses_the_options_of_one_event(
    cli: Cli, fast: Path, args: tuple[str, ...]
) -> None:
    result = cli("emit", "--from", "-", *args, stdin="")
    assert result.code == 2
    name = "EVENT" if args[0] == "repo_push" else args[0]
    assert result.err == (
        "quaynotify: error: --from reads each event's name, repository and data from the "
        f"stream: it cannot be combined with {name}\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [((), "Missing argument 'EVENT'."), (("repo_push",), "Missing option '--repo'."),
     (("--repo", "acme/web"), "Missing argument 'EVENT'.")],
)  # fmt: skip
def test_emit_without_from_needs_an_event_and_a_repository(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = cli("emit", *args)
    assert result.code == 2
    assert result.err == f"quaynotify: error: {message} (see `quaynotify emit --help`)\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1]", "line 2: expected an object"),
        ('{"event": "repo_push"}', 'line 2: "event" and "repository" must be strings'),
        ('{"event": "nope", "repository": "acme/web"}', "line 2: unknown event 'nope'"),
        ('{"event": "repo_push", "repository": "acme/web"}', "line 2: repo_push needs field"),
        ('{"event": "repo_push", "repository": "a/b", "x": 1}', "line 2: unknown key 'x'"),
    ],
)
def test_a_bad_stream_line_sends_nothing(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch, line: str, message: str
) -> None:
    add_webhook(cli, httpserver.url_for("/hook"))
    good = json.dumps({"event": "repo_push", "repository": "acme/web",
                       "data": {"updated_tags": ["v1"]}})  # fmt: skip
    result = cli("emit", "--from", "-", stdin=f"{good}\n{line}\n")
    assert result.code == 2, result.err
    assert message in result.err
    assert switch.ids == []


# -- the failure breaker ------------------------------------------------------------------------


@on_both_backends
def test_breaker_disables_after_consecutive_failures_and_reset_enables(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    rule_id = add_webhook(cli, httpserver.url_for("/hook"))
    for _ in range(2):
        assert cli(*PUSH, "--max-attempts", "1").code == 1
    third = cli(*PUSH, "--max-attempts", "1")
    assert third.code == 1
    assert f"rule {rule_id} is now disabled" in third.err
    assert f"quaynotify rule reset {rule_id}" in third.err
    [view] = json.loads(cli("rule", "list", "--json").out)
    assert view["enabled"] is False
    assert view["number_of_failures"] == 3
    assert "disabled (3 failed)" in cli("rule", "list").out

    switch.ids.clear()
    skipped = cli(*PUSH)
    assert skipped.code == 1, "a skip counts as a failure"
    assert f"run `quaynotify rule reset {rule_id}`" in skipped.err
    assert switch.ids == [], "a disabled rule is not sent to"
    assert journal(cli)[0]["status"] == "skipped"

    assert cli("rule", "reset", rule_id[:6]).code == 0
    switch.up = True
    assert cli(*PUSH).code == 0
    [view] = json.loads(cli("rule", "list", "--json").out)
    assert (view["enabled"], view["number_of_failures"]) == (True, 0)


@on_both_backends
def test_a_success_resets_the_consecutive_count(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    add_webhook(cli, httpserver.url_for("/hook"))
    for up in (False, False, True, False, False):
        switch.up = up
        cli(*PUSH, "--max-attempts", "1")
    [view] = json.loads(cli("rule", "list", "--json").out)
    assert (view["enabled"], view["number_of_failures"]) == (True, 2)


@on_both_backends
def test_successful_rule_test_re_enables_a_disabled_rule(
    cli: Cli, fast: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    rule_id = add_webhook(cli, httpserver.url_for("/hook"))
    for _ in range(3):
        cli(*PUSH, "--max-attempts", "1")
    switch.up = True
    result = cli("rule", "test", rule_id)
    assert result.code == 0, result.err
    assert json.loads(cli("rule", "show", rule_id, "--json").out)["enabled"] is True


@on_both_backends
def test_disable_after_zero_never_disables(
    cli: Cli, config_file: Path, httpserver: HTTPServer, switch: Switch
) -> None:
    config_file.write_text("[delivery]\nbackoff = 0\ndisable_after = 0\n")
    add_webhook(cli, httpserver.url_for("/hook"))
    for _ in range(4):
        cli(*PUSH, "--max-attempts", "1")
    assert len(switch.ids) == 4


# -- retention ----------------------------------------------------------------------------------


def test_old_deliveries_are_pruned(
    cli: Cli, config_file: Path, store: Store, httpserver: HTTPServer, switch: Switch
) -> None:
    """An emit forgets deliveries older than keep_days, with their attempts, on either
    backend (a delivery made 8 days old in the database, as time would have)."""
    config_file.write_text("[delivery]\nbackoff = 0\n[journal]\nkeep_days = 7\n")
    switch.up = True
    add_webhook(cli, httpserver.url_for("/hook"))
    cli(*PUSH)
    [old] = journal(cli)
    aged = time.time() - 8 * 86400
    sql = "UPDATE delivery SET created = ?, updated = ? WHERE id = ?"
    assert execute(store, sql, (aged, aged, old["id"])) == 1
    assert rows(store, "SELECT COUNT(*) FROM attempt WHERE delivery_id = ?", (old["id"],)) == [(1,)]
    cli(*PUSH)
    ids = [d["id"] for d in journal(cli)]
    assert old["id"] not in ids
    assert len(ids) == 1
    orphans = rows(store, "SELECT COUNT(*) FROM attempt WHERE delivery_id = ?", (old["id"],))
    assert orphans == [(0,)]
