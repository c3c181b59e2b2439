"""`emit` to webhook rules, end to end against a real receiver: Quay's event data byte for byte,
the headers, --data/--set/--sample/--performer/--dry-run, event filters, body templates."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import Cli
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
BUILDS = ("build_queued", "build_start", "build_success", "build_failure", "build_cancelled")
BUILD_ID = "0d6b5a8e-3f1c-4e2a-9b7d-5c4e3f2a1b0c"
TRIGGER_ID = "8f0c2a1e-6b5d-4c3e-a2f1-0e9d8c7b6a5f"


def common(*, build: str | None = None) -> dict[str, Any]:
    """Quay's common repository fields for acme/web on quay.example.com (reference 1.1)."""
    homepage = "https://quay.example.com/repository/acme/web"
    return {
        "repository": "acme/web",
        "namespace": "acme",
        "name": "web",
        "docker_url": "quay.example.com/acme/web",
        "homepage": homepage + (f"/build/{build}" if build else ""),
    }


# -- Quay's sample data (reference 1.4), in Quay's key order -------------------------------------

TRIGGER_METADATA = {
    "default_branch": "master",
    "ref": "refs/heads/somebranch",
    "commit": "42d4a62c53350993ea41069e9f2cfdefb0df097d",
}
COMMIT_INFO = {
    "url": "http://path/to/the/commit",
    "message": "Some commit message",
    "date": "NOW",  # replaced by the value received, once checked
    "author": {
        "username": "fakeauthor",
        "url": "http://path/to/fake/author/in/scm",
        "avatar_url": "http://www.gravatar.com/avatar/fakehash",
    },
}
BUILD_SAMPLE = {
    "build_id": "fake-build-id",
    "build_name": "some-fake-build",
    "docker_tags": ["latest", "foo", "bar"],
    "trigger_id": "1245634",
    "trigger_kind": "GitHub",
    "trigger_metadata": TRIGGER_METADATA,
}
WITH_COMMIT = {**BUILD_SAMPLE, "trigger_metadata": {**TRIGGER_METADATA, "commit_info": COMMIT_INFO}}
SAMPLES: dict[str, dict[str, Any]] = {
    "repo_push": {"updated_tags": ["latest", "foo"], "pruned_image_count": 3},
    "build_queued": {"is_manual": False, **WITH_COMMIT},
    "build_start": BUILD_SAMPLE,
    "build_success": {**BUILD_SAMPLE, "image_id": "1245657346"},
    "build_failure": {**WITH_COMMIT, "error_message": "This is a fake error message"},
    "build_cancelled": {**BUILD_SAMPLE, "image_id": "1245657346"},
    "vulnerability_found": {
        "tags": ["latest", "prod", "foo", "bar", "baz"],
        "image": "some-image-id",
        "vulnerability": {
            "id": "CVE-FAKE-CVE",
            "description": "A futurist vulnerability",
            "link": "https://security-tracker.debian.org/tracker/CVE-FAKE-CVE",
            "priority": "Unknown",  # no level configured: Quay's sample says Unknown
        },
    },
    "repo_mirror_sync_started": {"message": "TEST NOTIFICATION"},
    "repo_mirror_sync_success": {"message": "TEST NOTIFICATION"},
    "repo_mirror_sync_failed": {"message": "TEST NOTIFICATION"},
    "repo_image_expiry": {"tags": ["latest", "v1"], "expiring_in": "None days"},
}

# -- production-shaped data, in the order Quay's producers build it (reference 1.4) -------------

GIT_METADATA = {
    "commit": "3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
    "ref": "refs/heads/main",
    "default_branch": "main",
    "git_url": "git@github.com:acme/web.git",
    "commit_info": {
        "short_sha": "3f9c2d1",
        "url": "https://github.com/acme/web/commit/3f9c2d1e",
        "message": "Fix the build",
        "date": "2024-05-01T12:00:00Z",
        "author": {"username": "alice", "url": "https://github.com/alice"},
    },
}
BUILDER = {  # buildman/jobutil/buildjob.py send_notification
    "build_id": BUILD_ID,
    "build_name": "3f9c2d1",
    "docker_tags": ["latest", "main"],
    "trigger_id": TRIGGER_ID,
    "trigger_kind": "github",
    "trigger_metadata": GIT_METADATA,
}
PRODUCTION: dict[str, dict[str, Any]] = {
    "repo_push": {"updated_tags": ["v1.2.3"]},
    "build_queued": {  # endpoints/building.py: the audit-log metadata
        "build_id": BUILD_ID,
        "docker_tags": ["latest", "main"],
        "repo": "web",
        "namespace": "acme",
        "is_manual": False,
        "manual_user": None,
        "trigger_id": TRIGGER_ID,
        "trigger_kind": "github",
        "trigger_metadata": GIT_METADATA,
    },
    "build_start": BUILDER,
    "build_success": {
        **BUILDER,
        "image_id": "sha256:9a8b7c6d",
        "manifest_digests": ["sha256:1f2e3d4c"],
    },
    "build_failure": {**BUILDER, "error_message": "Step 3/7: RUN make returned 2"},
    "build_cancelled": BUILDER,
    "vulnerability_found": {
        "tags": ["latest", "v1.2.3"],
        "vulnerability": {
            "id": "CVE-2024-3094",
            "description": "xz backdoor",
            "link": "https://nvd.nist.gov/vuln/detail/CVE-2024-3094",
            "priority": "Critical",
            "has_fix": True,
        },
    },
    "repo_mirror_sync_started": {"message": "'quay.io/acme/upstream' with tag pattern 'v*,latest'"},
    "repo_mirror_sync_success": {"message": "'quay.io/acme/upstream' with tag pattern 'v*,latest'"},
    "repo_mirror_sync_failed": {
        "message": "'quay.io/acme/upstream' with tag pattern 'v*,latest': PARTIAL SYNC"
    },
    "repo_image_expiry": {
        "notification_uuid": "7c1d0e4a-2b3c-4d5e-8f9a-0b1c2d3e4f5a",
        "tags": ["nightly-2024-05-01", "nightly-2024-05-02"],
        "expiring_in": "7 days",
    },
}

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
        result = cli(
            "rule", "add", "--repo", repo, "--event", event, "--method", "webhook",
            "--url", httpserver.url_for(path), *options,
        )  # fmt: skip
        assert result.code == 0, result.err
        return str(result.out.strip())

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
        assert isinstance(date, float) and date.is_integer()  # Quay's time.mktime(now)
        assert int(before) <= date <= time.time()
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


# -- body templates (Quay's template tests, reference 3.4) --------------------------------------

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
