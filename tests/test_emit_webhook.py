"""`emit` to webhook rules, end to end against a real receiver: Quay's event data byte for byte,
the headers, --data/--set/--sample/--performer/--dry-run, event filters, body templates; the
tests that read the journal back run on both backends."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
from helpers.configs import add_webhook
from helpers.quay_samples import (
    BUILD_ID,
    BUILDS,
    PRODUCTION,
    SAMPLES,
    assert_commit_date,
    common,
)
from helpers.state import on_both_backends
from pytest_httpserver import HTTPServer
from werkzeug import Request

from quaynotify.catalogue.events import EVENTS

CONFIG = """\
[server]
hostname = "quay.example.com"
scheme = "https"

[delivery]
backoff = 0
"""
ORDER_BUGS: dict[str, str] = {}


def by_event(bugs: dict[str, str]) -> list[Any]:
    return [
        pytest.param(e, marks=pytest.mark.xfail(strict=True, reason=bugs[e])) if e in bugs else e
        for e in EVENTS
    ]


@pytest.fixture
def hook(cli: Cli, config_file: Path, httpserver: HTTPServer) -> Callable[..., str]:
    """Write the config; `hook(event, *options)` adds a webhook rule to the receiver."""
    config_file.write_text(CONFIG)
    httpserver.expect_request(re.compile("/.*"), method="POST").respond_with_data("ok")

    def add(event: str, *options: str, path: str = "/hook", repo: str = "acme/web") -> str:
        return add_webhook(cli, httpserver.url_for(path), *options, event=event, repo=repo)

    return add


def received(httpserver: HTTPServer) -> list[Request]:
    return [request for request, _ in httpserver.log]


def body_of(request: Request) -> Any:
    return json.loads(request.get_data())


def expected_sample(event: str, got: dict[str, Any], before: float) -> dict[str, Any]:
    """Quay's sample for `event`, with commit_info.date taken from `got` once checked."""
    sample: dict[str, Any] = json.loads(json.dumps(SAMPLES[event]))  # a deep copy
    expected = common(build="fake-build-id" if event in BUILDS else None) | sample
    info = expected.get("trigger_metadata", {}).get("commit_info")
    if info is not None:
        date = got["trigger_metadata"]["commit_info"]["date"]
        assert_commit_date(date, before)
        info["date"] = date
    return expected


def test_the_tables_cover_every_event() -> None:
    assert set(SAMPLES) == set(EVENTS) == set(PRODUCTION)


# -- the body: Quay's event data ----------------------------------------------------------------


@pytest.mark.parametrize("event", list(EVENTS))
def test_sample_body_is_quays_sample(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer, event: str
) -> None:
    hook(event)
    before = time.time()
    result = cli("emit", event, "--repo", "acme/web", "--sample")
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    got = body_of(request)
    assert got == expected_sample(event, got, before)


@pytest.mark.parametrize("event", list(EVENTS))
def test_sample_body_bytes_are_json_dumps_of_quays_sample(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer, event: str
) -> None:
    hook(event)
    before = time.time()
    assert cli("emit", event, "--repo", "acme/web", "--sample").code == 0
    (request,) = received(httpserver)
    got = body_of(request)
    assert request.get_data() == json.dumps(expected_sample(event, got, before)).encode()


@pytest.mark.parametrize("event", list(EVENTS))
def test_production_body_is_the_common_fields_with_the_event_fields_over_them(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer, event: str
) -> None:
    hook(event)
    data = PRODUCTION[event]
    result = cli("emit", event, "--repo", "acme/web", "--data", json.dumps(data))
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    assert body_of(request) == common(build=data.get("build_id")) | data
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("event", by_event(ORDER_BUGS))
def test_production_body_bytes_are_json_dumps_in_quays_order(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer, event: str
) -> None:
    hook(event)
    data = PRODUCTION[event]
    assert cli("emit", event, "--repo", "acme/web", "--data", json.dumps(data)).code == 0
    (request,) = received(httpserver)
    # dict union keeps a common key where it is, as Quay's event_data.update(extra) does
    assert request.get_data() == json.dumps(common(build=data.get("build_id")) | data).encode()


def test_a_field_overrides_a_common_key_in_place(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_push")
    data = {"updated_tags": ["v1"], "homepage": "https://ci.example.com/job/7"}
    assert cli("emit", "repo_push", "--repo", "acme/web", "--data", json.dumps(data)).code == 0
    (request,) = received(httpserver)
    expected = common() | data
    assert list(expected)[4] == "homepage"
    assert request.get_data() == json.dumps(expected).encode()


def test_repeating_the_repository_is_no_override(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_push")
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]',
                 "--set", "repository=acme/web", "--json")  # fmt: skip
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    assert json.loads(request.get_data())["repository"] == "acme/web"
    assert json.loads(result.out)["deliveries"][0]["repository"] == "acme/web"


def test_non_ascii_is_escaped_as_python_json_dumps_does(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_mirror_sync_failed")
    message = "'quay.io/acme/café' with tag pattern 'v*': Zeitüberschreitung ✗ 🐳"
    result = cli("emit", "repo_mirror_sync_failed", "--repo", "acme/web", "--set",
                 f"message={message}")  # fmt: skip
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    raw = request.get_data()
    assert raw == json.dumps(common() | {"message": message}).encode("ascii")
    assert b"caf\\u00e9" in raw and b"\\ud83d\\udc33" in raw
    assert b", " in raw and b'": ' in raw  # Python's default separators


@on_both_backends
def test_headers(cli: Cli, hook: Callable[..., str], httpserver: HTTPServer) -> None:
    hook("repo_push")
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]',
                 "--json")  # fmt: skip
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    (delivery,) = json.loads(result.out)["deliveries"]
    (logged,) = json.loads(cli("log", "--json").out)
    assert request.headers["webhook-id"] == delivery["id"] == logged["id"]


@on_both_backends
def test_every_matching_rule_gets_its_own_delivery_id(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    rules = {hook("repo_push") for _ in range(3)}
    hook("repo_push", repo="acme/other")
    hook("build_start")
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    assert result.code == 0, result.err
    requests = received(httpserver)
    assert len(requests) == 3
    logged = json.loads(cli("log", "--json").out)
    assert {d["rule_id"] for d in logged} == rules
    assert {r.headers["webhook-id"] for r in requests} == {d["id"] for d in logged}


# -- how the event fields are given -------------------------------------------------------------


def test_data_from_a_file_and_from_stdin(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer, tmp_path: Path
) -> None:
    hook("repo_push")
    source = tmp_path / "event.json"
    source.write_text('{"updated_tags": ["from-file"]}')
    assert cli("emit", "repo_push", "--repo", "acme/web", "--data", f"@{source}").code == 0
    stdin = '{"updated_tags": ["from-stdin"]}'
    assert cli("emit", "repo_push", "--repo", "acme/web", "--data", "@-", stdin=stdin).code == 0
    tags = [body_of(r)["updated_tags"] for r in received(httpserver)]
    assert tags == [["from-file"], ["from-stdin"]]


def test_set_values_are_json_when_they_parse_and_dotted_keys_nest(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("build_failure")
    result = cli(
        "emit", "build_failure", "--repo", "acme/web",
        "--data", json.dumps({"build_id": BUILD_ID, "trigger_metadata": {"commit": "abc"}}),
        "--set", "trigger_metadata.ref=refs/heads/main",
        "--set", "trigger_metadata.commit_info.author.username=alice",
        "--set", 'docker_tags=["latest", "v2"]',
        "--set", "error_message=exit status 2",
        "--set", "attempt=3",
        "--set", 'quoted="3"',
        "--set", "flaky=true",
        "--set", "nothing=null",
    )  # fmt: skip
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    got = body_of(request)
    assert got["trigger_metadata"] == {
        "commit": "abc",
        "ref": "refs/heads/main",
        "commit_info": {"author": {"username": "alice"}},
    }
    assert got["docker_tags"] == ["latest", "v2"]
    assert (got["error_message"], got["attempt"], got["quoted"]) == ("exit status 2", 3, "3")
    assert (got["flaky"], got["nothing"]) == (True, None)


def test_set_applies_over_the_sample(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_push")
    result = cli("emit", "repo_push", "--repo", "acme/web", "--sample",
                 "--set", 'updated_tags=["v9"]')  # fmt: skip
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    assert body_of(request) == common() | {"updated_tags": ["v9"], "pruned_image_count": 3}


@on_both_backends
def test_performer_is_journaled_not_sent(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_push")
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]',
                 "--performer", "acme+deployer")  # fmt: skip
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    assert body_of(request) == common() | {"updated_tags": ["v1"]}  # the bare event data
    (logged,) = json.loads(cli("log", "--json").out)
    assert logged["performer"] == "acme+deployer"


@on_both_backends
def test_dry_run_prints_what_would_be_sent_and_sends_nothing(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_push")
    args = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    result = cli(*args, "--dry-run")
    assert result.code == 0, result.err
    assert received(httpserver) == []
    assert f"POST {httpserver.url_for('/hook')}" in result.out
    assert "Content-Type: application/json" in result.out
    assert '"docker_url": "quay.example.com/acme/web"' in result.out
    (preview,) = json.loads(cli(*args, "--dry-run", "--json").out)
    assert preview["body"] == common() | {"updated_tags": ["v1"]}
    assert preview["headers"]["Content-Type"] == "application/json"
    assert received(httpserver) == []
    assert json.loads(cli("log", "--json").out) == []


# -- bad event data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "options", "field", "example"),
    [
        ("repo_push", (), "updated_tags", "--set 'updated_tags=[\"latest\"]'"),
        ("repo_push", ("--set", "updated_tags=latest"), "updated_tags", "--set 'updated_tags="),
        ("repo_push", ("--set", "updated_tags=[1, 2]"), "updated_tags", "--set 'updated_tags="),
        ("build_success", (), "build_id", "--set build_id="),
        ("build_start", ("--data", '{"build_id": 42}'), "build_id", "--set build_id="),
        ("build_failure", ("--set", "build_id=b", "--set", "trigger_metadata=main"),
         "trigger_metadata", "--set trigger_metadata.ref="),
        ("vulnerability_found", ("--set", 'tags=["latest"]'), "vulnerability", "--set "),
        ("vulnerability_found", ("--set", 'tags=["latest"]', "--set", "vulnerability.id=CVE-1"),
         "vulnerability.priority", "--set vulnerability.priority="),
        ("repo_mirror_sync_failed", (), "message", "--set "),
        ("repo_image_expiry", ("--set", 'tags=["v1"]'), "expiring_in", "--set 'expiring_in="),
    ],
)  # fmt: skip
def test_a_missing_or_mistyped_field_is_exit_2_naming_it_with_an_example(
    cli: Cli,
    hook: Callable[..., str],
    httpserver: HTTPServer,
    event: str,
    options: tuple[str, ...],
    field: str,
    example: str,
) -> None:
    hook(event)
    result = cli("emit", event, "--repo", "acme/web", *options)
    assert (result.code, result.out) == (2, "")
    assert result.err.count("\n") == 1 and result.err.startswith("quaynotify: error: ")
    assert f"'{field}'" in result.err and example in result.err
    assert received(httpserver) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--data", "{not json"), "--data is not valid JSON"),
        (("--data", '["v1"]'), "--data must be a JSON object"),
        (("--data", "@/nonexistent/event.json"), "/nonexistent/event.json"),
        (("--set", "updated_tags"), "KEY=VALUE"),
    ],
)
def test_bad_data_options_are_exit_2(
    cli: Cli,
    hook: Callable[..., str],
    httpserver: HTTPServer,
    options: tuple[str, ...],
    message: str,
) -> None:
    hook("repo_push")
    result = cli("emit", "repo_push", "--repo", "acme/web", *options)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("quaynotify: error: ") and message in result.err
    assert received(httpserver) == []


# -- which rules are delivered ------------------------------------------------------------------


def test_nothing_matching_is_exit_0_with_a_note(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_push", repo="acme/other")
    hook("build_start")
    result = cli("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["v1"]')
    assert (result.code, result.out) == (0, "")
    assert result.err == "quaynotify: no rule matches repo_push on acme/web: nothing sent\n"
    assert received(httpserver) == []


@pytest.mark.parametrize(
    ("regex", "ref", "fires"),
    [
        ("refs/heads/master", "refs/heads/master", True),
        ("refs/heads/master", "refs/heads/master-2", True),  # re.match: start only
        ("master", "refs/heads/master", False),
        ("(refs/heads/somebranch)|(refs/tags/sometag)", "refs/tags/sometag", True),
        ("refs/tags/", "refs/heads/main", False),
        ("refs/heads/master", None, False),  # a build without a ref never fires with a regex
        (None, None, True),
        (None, "refs/heads/anything", True),
    ],
)
def test_ref_regex_filter(
    cli: Cli,
    hook: Callable[..., str],
    httpserver: HTTPServer,
    regex: str | None,
    ref: str | None,
    fires: bool,
) -> None:
    hook("build_success", *(("--ref-regex", regex) if regex else ()))
    options = ["--set", f"build_id={BUILD_ID}"]
    if ref is not None:
        options += ["--set", f"trigger_metadata.ref={ref}"]
    result = cli("emit", "build_success", "--repo", "acme/web", *options)
    assert result.code == 0, result.err
    assert len(received(httpserver)) == (1 if fires else 0)
    assert ("no rule matches" in result.err) is not fires


@pytest.mark.parametrize(
    ("level", "priority", "fires"),
    [
        ("High", "Critical", True),
        ("High", "High", True),
        ("High", "Medium", False),
        ("0", "High", False),
        ("Low", "Low", True),
        ("Low", "Negligible", False),
    ],
)
def test_vulnerability_level_filter(
    cli: Cli,
    hook: Callable[..., str],
    httpserver: HTTPServer,
    level: str,
    priority: str,
    fires: bool,
) -> None:
    hook("vulnerability_found", "--level", level)
    vulnerability = {"id": "CVE-1", "priority": priority}
    data = {"tags": ["latest"], "vulnerability": vulnerability}
    result = cli("emit", "vulnerability_found", "--repo", "acme/web", "--data", json.dumps(data))
    assert result.code == 0, result.err
    assert len(received(httpserver)) == (1 if fires else 0)


def test_only_the_rules_whose_filter_says_yes_are_delivered(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("build_start", "--ref-regex", "refs/heads/main", path="/main")
    hook("build_start", "--ref-regex", "refs/tags/", path="/tags")
    hook("build_start", path="/all")
    result = cli("emit", "build_start", "--repo", "acme/web", "--set", f"build_id={BUILD_ID}",
                 "--set", "trigger_metadata.ref=refs/heads/main")  # fmt: skip
    assert result.code == 0, result.err
    assert sorted(r.path for r in received(httpserver)) == ["/all", "/main"]


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("refs/heads/dev", "ref-regex 'refs/heads/main' did not match refs/heads/dev"),
        (None, "ref-regex 'refs/heads/main' did not match: the build has no ref"
               " (trigger_metadata.ref)"),
    ],
)  # fmt: skip
def test_a_rule_its_filter_stops_is_reported_with_why(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer, ref: str | None, reason: str
) -> None:
    """A rule dropped by its ref-regex is named on stderr with the ref it did not match, not
    only "no rule matches"; --json lists it with the same reason."""
    rule = hook("build_success", "--ref-regex", "refs/heads/main")
    options = ["--set", f"build_id={BUILD_ID}"]
    if ref is not None:
        options += ["--set", f"trigger_metadata.ref={ref}"]
    result = cli("emit", "build_success", "--repo", "acme/web", *options)
    assert (result.code, result.out) == (0, ""), result.err
    assert result.err == (
        f"quaynotify: 1 rule skipped: {reason}\n"
        "quaynotify: no rule matches build_success on acme/web: nothing sent\n"
    )
    as_json = cli("emit", "build_success", "--repo", "acme/web", *options, "--json")
    assert json.loads(as_json.out)["filtered"] == [{"rule_id": rule, "reason": reason}]
    assert received(httpserver) == []


def test_rules_stopped_for_the_same_reason_share_a_line(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    """Two rules with the same regex make one counted line; one that fires is delivered and
    is not listed; -q silences the lines, --json still lists both rules."""
    stopped = [hook("build_start", "--ref-regex", "refs/tags/", path=f"/t{i}") for i in (1, 2)]
    hook("build_start", "--ref-regex", "refs/heads/", path="/heads")
    args = ("emit", "build_start", "--repo", "acme/web", "--set", f"build_id={BUILD_ID}",
            "--set", "trigger_metadata.ref=refs/heads/dev")  # fmt: skip
    result = cli(*args)
    assert result.code == 0, result.err
    assert (
        result.err
        == "quaynotify: 2 rules skipped: ref-regex 'refs/tags/' did not match refs/heads/dev\n"
    )
    assert [r.path for r in received(httpserver)] == ["/heads"]
    assert cli("-q", *args).err == ""
    filtered = json.loads(cli(*args, "--json").out)["filtered"]
    assert sorted(f["rule_id"] for f in filtered) == sorted(stopped)


def test_a_vulnerability_below_the_rules_level_is_reported(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    """The level filter says which minimum stopped which priority."""
    hook("vulnerability_found", "--level", "High")
    data = {"tags": ["latest"], "vulnerability": {"id": "CVE-1", "priority": "Medium"}}
    result = cli("emit", "vulnerability_found", "--repo", "acme/web", "--data", json.dumps(data))
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == (
        "quaynotify: 1 rule skipped: level High (1) did not match priority Medium"
    )
    assert received(httpserver) == []


# -- fields the event does not have ---------------------------------------------------------------


def test_a_misspelt_field_is_warned_about_with_a_did_you_mean_and_still_sent(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    """`--set buid_name=x`: Quay would ignore the field without a word; one warning line names
    it and the field meant, and the delivery still happens, with the field as given."""
    hook("build_success")
    sets = (f"build_id={BUILD_ID}", "buid_name=42d4a62", "trigger_metadata.ref=refs/heads/x")
    result = cli("emit", "build_success", "--repo", "acme/web", *(f"--set={s}" for s in sets))
    assert result.code == 0, result.err
    assert result.err == (
        "quaynotify: warning: --set buid_name: build_success has no field 'buid_name'; "
        "did you mean build_name? (sent as given)\n"
    )
    (request,) = received(httpserver)
    assert request.json["buid_name"] == "42d4a62"


def test_an_unknown_field_from_data_without_a_close_name_points_at_the_catalogue(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    """A --data key is checked too; with nothing close, the warning says where the event's
    fields are listed. -q silences it; known fields (common ones too) are not warned about."""
    hook("repo_push")
    data = json.dumps({"updated_tags": ["v1"], "zzzqqq": 1, "homepage": "https://ci/run/1"})
    result = cli("emit", "repo_push", "--repo", "acme/web", "--data", data)
    assert result.code == 0, result.err
    assert result.err == (
        "quaynotify: warning: --data zzzqqq: repo_push has no field 'zzzqqq'; "
        "`quaynotify events repo_push` lists its fields (sent as given)\n"
    )
    assert cli("-q", "emit", "repo_push", "--repo", "acme/web", "--data", data).err == ""
    assert len(received(httpserver)) == 2


def test_a_misspelt_required_field_is_the_one_error_line_alone(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    """When the event itself is refused (build_id missing, misspelt), the error is the one
    line of the error contract, with no warning before it, and nothing is sent."""
    hook("build_success")
    result = cli("emit", "build_success", "--repo", "acme/web", "--set", f"buid_id={BUILD_ID}")
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith("quaynotify: error: ")
    assert "build_id" in result.err
    assert received(httpserver) == []


# -- body templates (the cases of Quay's own template tests) ---------------------------------------

TEMPLATES = [
    # (template, extra event fields, expected body)
    ("{}", {}, {}),
    ('{"hello":"world"}', {}, {"hello": "world"}),
    ('{"hello":"${thing}"}', {"thing": 1234}, {"hello": 1234}),
    ('{"hello":"cool-${thing}"}', {"thing": "beans"}, {"hello": "cool-beans"}),
    ('{"hello":"${first.second.third}"}', {"first": {"second": {"third": 42}}}, {"hello": 42}),
    ('{"hello":"${first.second.third} is the answer"}', {"first": {"second": {"third": 42}}},
     {"hello": "42 is the answer"}),
    ('{"hello":"${first.doesnotexist.third}"}', {"first": {"second": {"third": 42}}},
     {"hello": None}),
    ('{"hello":"${first[2]}"}', {"first": [1, 2, 42]}, {"hello": 42}),
    ('{"hello":"${first[2]}"}', {"first": [1, 2]}, {"hello": None}),
    ('{"hello":["${first[1]}","${first[0]}"]}', {"first": [1, 2]}, {"hello": [2, 1]}),
    ('{"hello":"hey-${first[2]}"}', {"first": [1, 2]}, {"hello": "hey-(none)"}),
    ('{"hello":"${tags[*]}"}', {"tags": ["latest", "prod", "foo"]},
     {"hello": ["latest", "prod", "foo"]}),
    ('{"hello":"tags: ${tags[*]}"}', {"tags": ["latest", "prod", "foo"]},
     {"hello": "tags: latest,prod,foo"}),
    # the event's own fields
    ('{"hello":"${updated_tags[*]}"}', {}, {"hello": "latest"}),  # one match: a scalar
    ('{"t":"${updated_tags}","x":"x ${updated_tags}"}', {"updated_tags": ["latest", "foo"]},
     {"t": ["latest", "foo"], "x": "x latest,foo"}),
    ('{"${name}":"v"}', {}, {"web": "v"}),
    ('{"r":"${repository}${name}","u":"${docker_url}"}', {},
     {"r": "acme/webweb", "u": "quay.example.com/acme/web"}),
    ('{"a":"$name","b":"${name"}', {}, {"a": "$name", "b": "${name"}),
    ('"${name}"', {}, "web"),
    ("42", {}, 42),
    ('{"text":"${repository} pushed: ${updated_tags}","n":"${pruned_image_count}"}', {},
     {"text": "acme/web pushed: ['latest']", "n": None}),
]  # fmt: skip


@pytest.mark.parametrize(("template", "fields", "expected"), TEMPLATES)
def test_a_template_rule_sends_the_rendered_body(
    cli: Cli,
    hook: Callable[..., str],
    httpserver: HTTPServer,
    template: str,
    fields: dict[str, Any],
    expected: Any,
) -> None:
    hook("repo_push", "--template", template)
    data = {"updated_tags": ["latest"]} | fields
    result = cli("emit", "repo_push", "--repo", "acme/web", "--data", json.dumps(data))
    assert result.code == 0, result.err
    (request,) = received(httpserver)
    assert request.get_data() == json.dumps(expected).encode()
    assert request.headers["Content-Type"] == "application/json"


def test_template_and_plain_rules_side_by_side(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    hook("repo_push", "--template", '{"text":"Pushed ${updated_tags} to ${repository}"}', path="/t")
    hook("repo_push", path="/plain")
    data = {"updated_tags": ["latest", "v2"]}
    assert cli("emit", "repo_push", "--repo", "acme/web", "--data", json.dumps(data)).code == 0
    bodies = {r.path: body_of(r) for r in received(httpserver)}
    assert bodies == {
        "/t": {"text": "Pushed latest,v2 to acme/web"},
        "/plain": common() | data,
    }


@on_both_backends
def test_data_that_does_not_fit_the_template_fails_once_without_retrying(
    cli: Cli, hook: Callable[..., str], httpserver: HTTPServer
) -> None:
    rule_id = hook("repo_push", "--template", '{"t":"tags: ${numbers[*]}"}')
    data = {"updated_tags": ["latest"], "numbers": [1, 2]}
    result = cli("emit", "repo_push", "--repo", "acme/web", "--data", json.dumps(data))
    assert result.code == 1
    assert received(httpserver) == []
    assert "numbers" in result.err and rule_id in result.err
    (logged,) = json.loads(cli("log", "--json").out)
    assert (logged["status"], logged["attempt_count"]) == ("failed", 1)
