"""The event catalogue against Quay's behaviour: titles, levels, fields, samples, filters."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from typing import Any

import pytest
from helpers.quay_samples import (
    BUILD_SAMPLE,
    BUILDS,
    COMMIT_DATE,
    MIRRORS,
    WITH_COMMIT,
    vulnerability_sample,
)

from quaynotify.catalogue.data import (
    build_event_data,
    common_fields,
    parse_repository,
    sample_event_data,
)
from quaynotify.catalogue.events import EVENTS, LEVELS, get_event
from quaynotify.catalogue.filters import PRIORITIES, priority_index
from quaynotify.errors import ExitCode, UsageError, ValidationError

HOST = {"hostname": "quay.example.com", "scheme": "https"}
BUILD_ID = "8c5e3b4a-1f2d-4e6b-9a7c-0d1e2f3a4b5c"


def data_for(event: str, fields: dict[str, Any], repository: str = "acme/web") -> dict[str, Any]:
    return build_event_data(EVENTS[event], repository, fields, **HOST)


def sample_for(event: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    return sample_event_data(EVENTS[event], "ns/r", config or {}, **HOST)


# --- the catalogue -------------------------------------------------------------------------------


def test_catalogue_lists_the_eleven_repository_events_in_order() -> None:
    assert list(EVENTS) == [
        "repo_push",
        *BUILDS,
        "vulnerability_found",
        *MIRRORS,
        "repo_image_expiry",
    ]
    assert all(name == event.name for name, event in EVENTS.items())


@pytest.mark.parametrize(
    ("name", "title", "filter_key"),
    [
        ("repo_push", "Push to Repository", None),
        ("build_queued", "Image build queued", "ref-regex"),
        ("build_start", "Image build started", "ref-regex"),
        ("build_success", "Image build success", "ref-regex"),
        ("build_failure", "Image build failed", "ref-regex"),
        ("build_cancelled", "Image build cancelled", "ref-regex"),
        ("vulnerability_found", "Package Vulnerability Found", "level"),
        ("repo_mirror_sync_started", "Repository mirror started", None),
        ("repo_mirror_sync_success", "Repository mirror successful", None),
        ("repo_mirror_sync_failed", "Repository mirror unsuccessful", None),
        ("repo_image_expiry", "Image expiry trigger", "days"),
    ],
)
def test_title_and_filter_key(name: str, title: str, filter_key: str | None) -> None:
    event = get_event(name)
    assert (event.title, event.filter_key) == (title, filter_key)
    assert event.description and "\n" not in event.description


@pytest.mark.parametrize(
    ("name", "required"),
    [
        ("repo_push", [("updated_tags", "list of strings")]),
        *[(name, [("build_id", "string")]) for name in BUILDS],
        ("vulnerability_found", [("tags", "list of strings"), ("vulnerability", "object")]),
        *[(name, [("message", "string")]) for name in MIRRORS],
        ("repo_image_expiry", [("tags", "list of strings"), ("expiring_in", "string")]),
    ],
)
def test_required_fields(name: str, required: list[tuple[str, str]]) -> None:
    assert [(f.name, f.kind) for f in EVENTS[name].required] == required


def test_build_queued_has_no_build_name_field_but_the_other_builds_do() -> None:
    assert "build_name" not in {f.name for f in EVENTS["build_queued"].optional}
    for name in BUILDS[1:]:
        assert "build_name" in {f.name for f in EVENTS[name].optional}


def test_events_and_fields_are_frozen() -> None:
    event = EVENTS["repo_push"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.required[0].name = "x"  # type: ignore[misc]


def test_priorities_and_levels() -> None:
    assert PRIORITIES == ("Critical", "High", "Medium", "Low", "Negligible", "Unknown")
    assert LEVELS == ("info", "primary", "success", "warning", "error")


# --- levels --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("repo_push", "primary"),
        ("build_queued", "info"),
        ("build_start", "info"),
        ("build_success", "success"),
        ("build_failure", "error"),
        ("build_cancelled", "info"),
        ("repo_mirror_sync_started", "info"),
        ("repo_mirror_sync_success", "success"),
        ("repo_mirror_sync_failed", "error"),
        ("repo_image_expiry", "info"),
    ],
)
def test_fixed_levels(name: str, level: str) -> None:
    assert EVENTS[name].level(sample_for(name)) == level


@pytest.mark.parametrize(
    ("priority", "level"),
    [
        ("Critical", "error"),
        ("High", "warning"),
        ("Medium", "warning"),
        ("Low", "info"),  # not PRIORITY_LEVELS' warning
        ("Negligible", "info"),
        ("Unknown", "info"),
        ("Important", "info"),  # an unrecognised (raw Clair) severity
        ("critical", "info"),  # Quay compares names exactly
    ],
)
def test_vulnerability_level_from_priority(priority: str, level: str) -> None:
    data = data_for("vulnerability_found", {"tags": ["1"], "vulnerability": {"priority": priority}})
    assert EVENTS["vulnerability_found"].level(data) == level
    assert level in LEVELS


def test_vulnerability_level_without_priority_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"needs field 'vulnerability\.priority'"):
        EVENTS["vulnerability_found"].level({"tags": [], "vulnerability": {}})


# --- summaries -----------------------------------------------------------------------------------

MIRROR_MESSAGE = "'quay.io/upstream/web' with tag pattern 'latest,v1.*'"
VULNERABILITY = {
    "id": "CVE-2024-3094",
    "description": "xz backdoor",
    "link": "https://nvd.nist.gov/vuln/detail/CVE-2024-3094",
    "priority": "High",
    "has_fix": True,
}


@pytest.mark.parametrize(
    ("name", "fields", "summary"),
    [
        ("repo_push", {"updated_tags": ["latest"]}, "Repository acme/web updated"),
        (
            "build_queued",
            {"build_id": BUILD_ID, "is_manual": True, "manual_user": "alice"},
            "Build queued for repository acme/web [8c5e3b4]",
        ),
        (
            "build_start",
            {"build_id": BUILD_ID, "build_name": "42d4a62"},
            "Build started for repository acme/web [8c5e3b4]",
        ),
        (
            "build_success",
            {"build_id": BUILD_ID, "image_id": "sha256:abc"},
            "Build succeeded for repository acme/web [8c5e3b4]",
        ),
        (
            "build_failure",
            {"build_id": BUILD_ID, "error_message": "Step 3 failed"},
            "Build failure for repository acme/web [8c5e3b4]",
        ),
        ("build_cancelled", {"build_id": "abc"}, "Build cancelled for repository acme/web [abc]"),
        (
            "vulnerability_found",
            {"tags": ["latest", "v1"], "vulnerability": VULNERABILITY},
            "High vulnerability detected in repository acme/web in 2 tags",
        ),
        (
            "repo_mirror_sync_started",
            {"message": MIRROR_MESSAGE},
            f"Repository Mirror started for {MIRROR_MESSAGE}",
        ),
        (
            "repo_mirror_sync_success",
            {"message": MIRROR_MESSAGE},
            f"Repository Mirror success for {MIRROR_MESSAGE}",
        ),
        (
            "repo_mirror_sync_failed",
            {"message": f"{MIRROR_MESSAGE}: PARTIAL SYNC"},
            f"Repository Mirror failed for {MIRROR_MESSAGE}: PARTIAL SYNC",
        ),
        (
            "repo_image_expiry",
            {"tags": ["v1"], "expiring_in": "7 days", "notification_uuid": "7c1d"},
            "Repository acme/web image(s) expiring",
        ),
    ],
)
def test_summary_of_production_data(name: str, fields: dict[str, Any], summary: str) -> None:
    assert EVENTS[name].summary(data_for(name, fields)) == summary


@pytest.mark.parametrize(
    ("priorities", "summary"),
    [
        (
            ["High", "High", "Low"],
            "2 High and 1 more vulnerabilities were detected in repository ns/r in 2 tags",
        ),
        (["Critical"] * 3, "3 Critical vulnerabilities were detected in repository ns/r in 2 tags"),
        # only the first element's priority counts as the top one; the list is taken as sorted
        (
            ["Low", "Critical", "Low"],
            "2 Low and 1 more vulnerabilities were detected in repository ns/r in 2 tags",
        ),
        ([None], "1 Unknown vulnerabilities were detected in repository ns/r in 2 tags"),
    ],
)
def test_summary_of_a_vulnerabilities_list(priorities: list[str | None], summary: str) -> None:
    many = [{"id": f"CVE-{i}"} | ({"priority": p} if p else {}) for i, p in enumerate(priorities)]
    fields = {"tags": ["a", "b"], "vulnerability": VULNERABILITY, "vulnerabilities": many}
    assert EVENTS["vulnerability_found"].summary(
        data_for("vulnerability_found", fields, "ns/r")
    ) == (summary)


def test_an_empty_vulnerabilities_list_falls_back_to_the_single_form() -> None:
    fields = {"tags": ["a"], "vulnerability": VULNERABILITY, "vulnerabilities": []}
    assert EVENTS["vulnerability_found"].summary(data_for("vulnerability_found", fields)) == (
        "High vulnerability detected in repository acme/web in 1 tags"
    )


@pytest.mark.parametrize(
    ("name", "config", "summary"),
    [
        ("repo_push", {}, "Repository ns/r updated"),
        ("build_queued", {}, "Build queued for repository ns/r [fake-bu]"),
        ("build_start", {}, "Build started for repository ns/r [fake-bu]"),
        ("build_success", {}, "Build succeeded for repository ns/r [fake-bu]"),
        ("build_failure", {}, "Build failure for repository ns/r [fake-bu]"),
        ("build_cancelled", {}, "Build cancelled for repository ns/r [fake-bu]"),
        ("vulnerability_found", {}, "Unknown vulnerability detected in repository ns/r in 5 tags"),
        (
            "vulnerability_found",
            {"level": "1"},
            "High vulnerability detected in repository ns/r in 5 tags",
        ),
        ("repo_mirror_sync_started", {}, "Repository Mirror started for TEST NOTIFICATION"),
        ("repo_mirror_sync_success", {}, "Repository Mirror success for TEST NOTIFICATION"),
        ("repo_mirror_sync_failed", {}, "Repository Mirror failed for TEST NOTIFICATION"),
        ("repo_image_expiry", {"days": 5}, "Repository ns/r image(s) expiring"),
    ],
)
def test_summary_of_sample_data(name: str, config: dict[str, Any], summary: str) -> None:
    assert EVENTS[name].summary(sample_for(name, config)) == summary


def test_summary_of_data_missing_a_field_is_a_usage_error_not_a_key_error() -> None:
    with pytest.raises(UsageError, match="build_success needs field 'build_id'"):
        EVENTS["build_success"].summary({"repository": "acme/web"})


# --- samples -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "config", "expected"),
    [
        ("repo_push", {}, {"updated_tags": ["latest", "foo"], "pruned_image_count": 3}),
        ("build_queued", {}, {"is_manual": False} | BUILD_SAMPLE | WITH_COMMIT),
        ("build_start", {}, BUILD_SAMPLE),
        ("build_success", {}, BUILD_SAMPLE | {"image_id": "1245657346"}),
        (
            "build_failure",
            {},
            BUILD_SAMPLE | WITH_COMMIT | {"error_message": "This is a fake error message"},
        ),
        ("build_cancelled", {}, BUILD_SAMPLE | {"image_id": "1245657346"}),
        ("vulnerability_found", {}, vulnerability_sample("Unknown")),  # not Critical
        ("vulnerability_found", {"level": "0"}, vulnerability_sample("Critical")),
        ("vulnerability_found", {"level": "1"}, vulnerability_sample("High")),
        ("vulnerability_found", {"level": 2}, vulnerability_sample("Medium")),
        ("vulnerability_found", {"level": "3"}, vulnerability_sample("Low")),
        ("vulnerability_found", {"level": "4"}, vulnerability_sample("Negligible")),
        ("vulnerability_found", {"level": "5"}, vulnerability_sample("Unknown")),
        ("vulnerability_found", {"level": "9"}, vulnerability_sample("Unknown")),
        ("vulnerability_found", {"level": "severe"}, vulnerability_sample("Unknown")),
        ("vulnerability_found", {"level": None}, vulnerability_sample("Unknown")),
        ("repo_mirror_sync_started", {}, {"message": "TEST NOTIFICATION"}),
        ("repo_mirror_sync_success", {}, {"message": "TEST NOTIFICATION"}),
        ("repo_mirror_sync_failed", {}, {"message": "TEST NOTIFICATION"}),
        ("repo_image_expiry", {"days": 5}, {"tags": ["latest", "v1"], "expiring_in": "5 days"}),
        ("repo_image_expiry", {}, {"tags": ["latest", "v1"], "expiring_in": "None days"}),
    ],
)
def test_sample_is_quays(name: str, config: dict[str, Any], expected: dict[str, Any]) -> None:
    before = time.time()
    sample = EVENTS[name].sample(config)
    assert json.loads(json.dumps(sample)) == sample  # plain JSON, ready to send
    commit_info = sample.get("trigger_metadata", {}).get("commit_info")
    if commit_info is not None:
        date = commit_info["date"]
        assert isinstance(date, float) and date.is_integer()
        assert int(before) <= date <= time.time()
        commit_info["date"] = COMMIT_DATE
    assert sample == expected


def test_sample_is_fresh_each_time() -> None:
    first = EVENTS["repo_push"].sample({})
    first["updated_tags"].append("mutated")
    assert EVENTS["repo_push"].sample({})["updated_tags"] == ["latest", "foo"]


def test_queued_sample_puts_is_manual_first_as_quay_does() -> None:
    assert next(iter(EVENTS["build_queued"].sample({}))) == "is_manual"


@pytest.mark.parametrize("name", list(EVENTS))
def test_sample_event_data_passes_check_and_has_common_fields_first(name: str) -> None:
    data = sample_for(name, {"days": 3})
    EVENTS[name].check(data)
    assert list(data)[:5] == ["repository", "namespace", "name", "docker_url", "homepage"]
    assert data["docker_url"] == "quay.example.com/ns/r"
    suffix = "/build/fake-build-id" if name in BUILDS else ""
    assert data["homepage"] == "https://quay.example.com/repository/ns/r" + suffix
    config = {"days": 3}
    assert list(data) == [*common_fields("ns", "r", **HOST), *EVENTS[name].sample(config)]


# --- filters -------------------------------------------------------------------------------------


def build_data(ref: str | None = None, metadata: Any = "default") -> dict[str, Any]:
    fields: dict[str, Any] = {"build_id": BUILD_ID}
    if metadata != "default":
        fields["trigger_metadata"] = metadata
    elif ref is not None:
        fields["trigger_metadata"] = {"ref": ref, "commit": "abc"}
    return data_for("build_success", fields)


@pytest.mark.parametrize(
    ("config", "data", "fires"),
    [
        ({}, build_data(), True),
        ({"ref-regex": ""}, build_data(), True),
        ({"ref-regex": None}, build_data(), True),
        ({"ref-regex": "refs/heads/main"}, build_data("refs/heads/main"), True),
        ({"ref-regex": "refs/heads/master"}, build_data("refs/heads/master-2"), True),  # [verified]
        ({"ref-regex": "master"}, build_data("refs/heads/master"), False),  # [verified]
        ({"ref-regex": "refs/heads/main$"}, build_data("refs/heads/main-2"), False),
        ({"ref-regex": "refs/heads/main"}, build_data("refs/tags/v1"), False),
        (
            {"ref-regex": "(refs/heads/somebranch)|(refs/tags/sometag)"},
            build_data("refs/tags/sometag"),
            True,
        ),
        ({"ref-regex": ".*"}, build_data(), False),  # no ref: a manual or non-git build
        ({"ref-regex": ".*"}, build_data(metadata=None), False),
        ({"ref-regex": ".*"}, build_data(metadata={"commit": "abc"}), False),
        ({"ref-regex": "]["}, build_data("refs/heads/main"), False),  # bad regex: never fires
    ],
)
def test_build_ref_regex_filter(config: dict[str, Any], data: dict[str, Any], fires: bool) -> None:
    for name in BUILDS:
        assert EVENTS[name].should_perform(config, data) is fires


def vulnerability_data(priority: str | None = "High", **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"tags": ["latest"], **extra}
    if priority is not None:
        fields["vulnerability"] = {"id": "CVE-1", "priority": priority}
    return data_for("vulnerability_found", fields)


@pytest.mark.parametrize(
    ("config", "data", "fires"),
    [
        ({}, vulnerability_data("Negligible"), True),
        ({"level": "1"}, vulnerability_data("Critical"), True),
        ({"level": "1"}, vulnerability_data("High"), True),
        ({"level": "1"}, vulnerability_data("Medium"), False),
        ({"level": "0"}, vulnerability_data("High"), False),
        ({"level": "5"}, vulnerability_data("Unknown"), True),
        ({"level": 2}, vulnerability_data("Medium"), True),  # an int, as the API may store
        ({"level": "High"}, vulnerability_data("High"), True),  # a hand-edited name works
        ({"level": "0"}, vulnerability_data("Low", vulnerable_index_report_created="true"), True),
        ({"level": "5"}, vulnerability_data(None), False),  # no vulnerability at all
        ({"level": "5"}, vulnerability_data("Important"), False),  # unknown priority name
        ({"level": "5"}, vulnerability_data("high"), False),  # names are exact, as in Quay
        # no priority key reads as Unknown: only a level of Unknown lets it through
        ({"level": "5"}, data_for("vulnerability_found", {"vulnerability": {}}), True),
        ({"level": "4"}, data_for("vulnerability_found", {"vulnerability": {}}), False),
    ],
)
def test_vulnerability_level_filter(
    config: dict[str, Any], data: dict[str, Any], fires: bool
) -> None:
    assert EVENTS["vulnerability_found"].should_perform(config, data) is fires


def test_a_level_that_is_no_priority_is_a_validation_error_at_send_time() -> None:
    # Quay's worker raises ValueError here; config checks should have caught it at add time
    with pytest.raises(ValidationError, match="unknown vulnerability level 'abc'"):
        EVENTS["vulnerability_found"].should_perform({"level": "abc"}, vulnerability_data())


@pytest.mark.parametrize("name", ["repo_push", *MIRRORS, "repo_image_expiry"])
def test_events_without_a_send_time_filter_always_fire(name: str) -> None:
    assert EVENTS[name].should_perform({"days": 1}, sample_for(name)) is True
    assert EVENTS[name].should_perform({}, sample_for(name)) is True


@pytest.mark.parametrize("level", ["0", "1", "2", "3", "4", "5"])
def test_a_vulnerability_test_notification_always_passes_its_own_filter(level: str) -> None:
    config = {"level": level}
    assert EVENTS["vulnerability_found"].should_perform(
        config, sample_for("vulnerability_found", config)
    )


@pytest.mark.parametrize(
    ("regex", "fires"), [("refs/heads/some", True), ("refs/heads/main", False)]
)
def test_a_build_test_notification_is_filtered_by_its_regex(regex: str, fires: bool) -> None:
    config = {"ref-regex": regex}
    assert EVENTS["build_start"].should_perform(config, sample_for("build_start")) is fires


# --- validate_config -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "config", "stored"),
    [
        ("repo_push", {}, {}),
        ("repo_mirror_sync_failed", {}, {}),
        ("build_start", {}, {}),
        ("build_start", {"ref-regex": "refs/heads/main"}, {"ref-regex": "refs/heads/main"}),
        ("build_queued", {"ref-regex": "(refs/tags/.*)"}, {"ref-regex": "(refs/tags/.*)"}),
        ("build_failure", {"ref-regex": ""}, {}),
        ("build_failure", {"ref-regex": None}, {}),
        ("vulnerability_found", {}, {}),
        ("vulnerability_found", {"level": "High"}, {"level": "1"}),
        ("vulnerability_found", {"level": "critical"}, {"level": "0"}),
        ("vulnerability_found", {"level": " NEGLIGIBLE "}, {"level": "4"}),
        ("vulnerability_found", {"level": 3}, {"level": "3"}),
        ("vulnerability_found", {"level": "5"}, {"level": "5"}),
        ("repo_image_expiry", {}, {}),
        ("repo_image_expiry", {"days": 7}, {"days": 7}),
        ("repo_image_expiry", {"days": "30"}, {"days": 30}),
    ],
)
def test_validate_config_normalises(
    name: str, config: dict[str, Any], stored: dict[str, Any]
) -> None:
    assert EVENTS[name].validate_config(config) == stored


LEVEL_CHOICES = "Critical (0), High (1), Medium (2), Low (3), Negligible (4), Unknown (5)"


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        (
            "repo_push",
            {"ref-regex": "x"},
            "unknown event config key 'ref-regex' for repo_push: this event has no filter",
        ),
        (
            "repo_mirror_sync_success",
            {"days": 1},
            "unknown event config key 'days' for repo_mirror_sync_success:"
            " this event has no filter",
        ),
        (
            "build_start",
            {"level": "1"},
            "unknown event config key 'level' for build_start: the only key is 'ref-regex'",
        ),
        (
            "vulnerability_found",
            {"level": "1", "vulnerability": {"priority": "High"}},
            "unknown event config key 'vulnerability' for vulnerability_found:"
            " the only key is 'level'",
        ),
        (
            "repo_image_expiry",
            {"Days": 3},
            "unknown event config key 'Days' for repo_image_expiry: the only key is 'days'",
        ),
        (
            "build_success",
            {"ref-regex": "]["},
            "invalid ref-regex '][': unterminated character set at position 1",
        ),
        (
            "build_success",
            {"ref-regex": "(refs/heads"},
            "invalid ref-regex '(refs/heads': missing ), unterminated subpattern at position 0",
        ),
        ("build_success", {"ref-regex": 5}, "ref-regex must be a string, not a number"),
        (
            "vulnerability_found",
            {"level": "severe"},
            f"unknown vulnerability level 'severe': use a name or index: {LEVEL_CHOICES}",
        ),
        (
            "vulnerability_found",
            {"level": 6},
            f"unknown vulnerability level 6: use a name or index: {LEVEL_CHOICES}",
        ),
        (
            "vulnerability_found",
            {"level": None},
            f"unknown vulnerability level None: use a name or index: {LEVEL_CHOICES}",
        ),
        (
            "vulnerability_found",
            {"level": True},
            f"unknown vulnerability level True: use a name or index: {LEVEL_CHOICES}",
        ),
        ("repo_image_expiry", {"days": 0}, "number of days should be more than 0."),
        ("repo_image_expiry", {"days": -3}, "number of days should be more than 0."),
        ("repo_image_expiry", {"days": "0"}, "number of days should be more than 0."),
        (
            "repo_image_expiry",
            {"days": "a week"},
            "days must be a whole number of days, not 'a week'",
        ),
        ("repo_image_expiry", {"days": 1.5}, "days must be a whole number of days, not 1.5"),
        ("repo_image_expiry", {"days": None}, "days must be a whole number of days, not None"),
    ],
)
def test_validate_config_rejects(name: str, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EVENTS[name].validate_config(config)
    assert str(caught.value) == message
    assert caught.value.exit_code == ExitCode.USAGE


# --- check ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        (
            "repo_push",
            {},
            """repo_push needs field 'updated_tags' (a list of strings): """
            """pass it with --set 'updated_tags=["latest"]'""",
        ),
        (
            "repo_push",
            {"updated_tags": "latest"},
            """repo_push field 'updated_tags' must be a list of strings, not a string: """
            """pass it with --set 'updated_tags=["latest"]'""",
        ),
        (
            "repo_push",
            {"updated_tags": ["latest", 2]},
            """repo_push field 'updated_tags' must be a list of strings, not a list holding a """
            """number: pass it with --set 'updated_tags=["latest"]'""",
        ),
        (
            "repo_mirror_sync_failed",
            {},
            "repo_mirror_sync_failed needs field 'message' (a string): pass it with "
            """--set "message='quay.io/acme/web' with tag pattern 'latest'\"""",
        ),
        (
            "repo_mirror_sync_started",
            {"message": None},
            "repo_mirror_sync_started field 'message' must be a string, not null: pass it with "
            """--set "message='quay.io/acme/web' with tag pattern 'latest'\"""",
        ),
        (
            "build_start",
            {"build_id": 1234567},
            "build_start field 'build_id' must be a string, not a number: "
            "pass it with --set build_id=4b8f1c2e-5d7a-4e0b-9a3c-1f2e3d4c5b6a",
        ),
        (
            "build_queued",
            {},
            "build_queued needs field 'build_id' (a string): "
            "pass it with --set build_id=4b8f1c2e-5d7a-4e0b-9a3c-1f2e3d4c5b6a",
        ),
        (
            "build_success",
            {"build_id": BUILD_ID, "docker_tags": "latest"},
            """build_success field 'docker_tags' must be a list of strings, not a string: """
            """pass it with --set 'docker_tags=["latest"]'""",
        ),
        (
            "build_success",
            {"build_id": BUILD_ID, "trigger_id": 1245634},
            """build_success field 'trigger_id' must be a string, not a number: """
            """pass it with --set trigger_id=1245634""",
        ),
        (
            "build_failure",
            {"build_id": BUILD_ID, "trigger_metadata": "refs/heads/main"},
            "build_failure field 'trigger_metadata' must be an object, not a string: "
            "pass it with --set trigger_metadata.ref=refs/heads/main",
        ),
        (
            "build_queued",
            {"build_id": BUILD_ID, "is_manual": "yes"},
            "build_queued field 'is_manual' must be a boolean, not a string: "
            "pass it with --set is_manual=true",
        ),
        (
            "vulnerability_found",
            {"vulnerability": VULNERABILITY},
            """vulnerability_found needs field 'tags' (a list of strings): """
            """pass it with --set 'tags=["latest"]'""",
        ),
        (
            "vulnerability_found",
            {"tags": ["latest"]},
            """vulnerability_found needs field 'vulnerability' (an object): pass it with """
            """--set 'vulnerability={"id": "CVE-2024-3094", "priority": "Critical"}'""",
        ),
        (
            "vulnerability_found",
            {"tags": ["latest"], "vulnerability": "CVE-2024-3094"},
            """vulnerability_found field 'vulnerability' must be an object, not a string: pass """
            """it with --set 'vulnerability={"id": "CVE-2024-3094", "priority": "Critical"}'""",
        ),
        (
            "vulnerability_found",
            {"tags": ["latest"], "vulnerability": {"id": "CVE-2024-3094"}},
            "vulnerability_found needs field 'vulnerability.priority' (a string): "
            "pass it with --set vulnerability.priority=High",
        ),
        (
            "vulnerability_found",
            {"tags": ["latest"], "vulnerability": {"priority": 1}},
            "vulnerability_found field 'vulnerability.priority' must be a string, not a number: "
            "pass it with --set vulnerability.priority=High",
        ),
        (
            "vulnerability_found",
            {"tags": ["a"], "vulnerability": VULNERABILITY, "vulnerabilities": ["CVE-1"]},
            "vulnerability_found field 'vulnerabilities' must be a list of objects, not a list "
            """of strings: pass it with --set 'vulnerabilities=[{"id": "CVE-2024-3094", """
            """"priority": "High"}]'""",
        ),
        (
            "repo_image_expiry",
            {"tags": ["v1"]},
            "repo_image_expiry needs field 'expiring_in' (a string): "
            "pass it with --set 'expiring_in=7 days'",
        ),
        (
            "repo_image_expiry",
            {"tags": ["v1"], "expiring_in": 7},
            "repo_image_expiry field 'expiring_in' must be a string, not a number: "
            "pass it with --set 'expiring_in=7 days'",
        ),
        (
            "repo_image_expiry",
            {"tags": {"v1": 1}, "expiring_in": "7 days"},
            """repo_image_expiry field 'tags' must be a list of strings, not an object: """
            """pass it with --set 'tags=["latest"]'""",
        ),
    ],
)
def test_check_names_the_first_bad_field_and_how_to_pass_it(
    name: str, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        EVENTS[name].check(data_for(name, fields))
    assert str(caught.value) == message
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("repo_push", {"updated_tags": []}),
        ("build_start", {"build_id": BUILD_ID}),  # the null trigger defaults are fine
        ("build_queued", {"build_id": BUILD_ID, "trigger_manual": True}),
        ("vulnerability_found", {"tags": ["sha256:abc"], "vulnerability": {"priority": "Weird"}}),
        ("repo_image_expiry", {"tags": [], "expiring_in": "5 days"}),
    ],
)
def test_check_accepts_well_formed_data(name: str, fields: dict[str, Any]) -> None:
    data = data_for(name, fields)
    EVENTS[name].check(data)
    assert EVENTS[name].summary(data).endswith(("updated", "]", "tags", "expiring"))


# --- event data ----------------------------------------------------------------------------------


def test_push_event_data_is_the_common_fields_then_the_event_fields() -> None:
    data = data_for("repo_push", {"updated_tags": ["latest"]})
    assert list(data.items()) == [
        ("repository", "acme/web"),
        ("namespace", "acme"),
        ("name", "web"),
        ("docker_url", "quay.example.com/acme/web"),
        ("homepage", "https://quay.example.com/repository/acme/web"),
        ("updated_tags", ["latest"]),
    ]


def test_build_event_data_fills_quays_builder_defaults_and_the_build_homepage() -> None:
    data = data_for("build_success", {"build_id": "abc", "image_id": "i"})
    assert list(data.items()) == [
        ("repository", "acme/web"),
        ("namespace", "acme"),
        ("name", "web"),
        ("docker_url", "quay.example.com/acme/web"),
        ("homepage", "https://quay.example.com/repository/acme/web/build/abc"),
        ("build_id", "abc"),  # Quay's builder writes build_id first
        ("docker_tags", ["latest"]),
        ("trigger_id", None),
        ("trigger_kind", None),
        ("trigger_metadata", {}),
        ("image_id", "i"),
    ]


def test_build_queued_data_is_quays_audit_log_shape() -> None:
    data = data_for("build_queued", {"build_id": "abc"})
    assert {k: v for k, v in data.items() if k not in common_fields("acme", "web", **HOST)} == {
        "docker_tags": ["latest"],
        "repo": "web",
        "is_manual": False,
        "manual_user": None,
        "build_id": "abc",
    }
    assert data["homepage"].endswith("/repository/acme/web/build/abc")


def test_given_fields_override_defaults_and_common_keys() -> None:
    fields = {
        "build_id": "abc",
        "docker_tags": ["v1", "v2"],
        "namespace": "other",
        "homepage": "https://ci.example.com/job/1",
    }
    data = data_for("build_start", fields)
    assert data["docker_tags"] == ["v1", "v2"]
    assert (data["namespace"], data["homepage"]) == ("other", "https://ci.example.com/job/1")
    assert list(data)[:5] == ["repository", "namespace", "name", "docker_url", "homepage"]


def test_defaults_are_fresh_for_every_event() -> None:
    first = data_for("build_start", {"build_id": "a"})
    first["docker_tags"].append("mutated")
    first["trigger_metadata"]["ref"] = "mutated"
    assert EVENTS["build_start"].defaults() == {
        "docker_tags": ["latest"],
        "trigger_id": None,
        "trigger_kind": None,
        "trigger_metadata": {},
    }


@pytest.mark.parametrize("name", [n for n in EVENTS if n not in BUILDS])
def test_only_builds_have_defaults_and_a_subpage(name: str) -> None:
    assert EVENTS[name].defaults() == {}
    assert EVENTS[name].subpage({"build_id": "abc"}) is None


@pytest.mark.parametrize("name", BUILDS)
def test_build_subpage(name: str) -> None:
    assert EVENTS[name].subpage({"build_id": BUILD_ID}) == f"build/{BUILD_ID}"
    assert EVENTS[name].subpage({}) is None


@pytest.mark.parametrize(
    ("subpage", "homepage"),
    [
        (None, "http://localhost:8080/repository/ns/r"),
        ("", "http://localhost:8080/repository/ns/r"),
        ("build/abc", "http://localhost:8080/repository/ns/r/build/abc"),
        ("/build/abc", "http://localhost:8080/repository/ns/r/build/abc"),
    ],
)
def test_common_fields_subpage_rule(subpage: str | None, homepage: str) -> None:
    assert common_fields("ns", "r", hostname="localhost:8080", scheme="http", subpage=subpage) == {
        "repository": "ns/r",
        "namespace": "ns",
        "name": "r",
        "docker_url": "localhost:8080/ns/r",
        "homepage": homepage,
    }


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "parsed"),
    [
        ("acme/web", ("acme", "web")),
        ("acme-corp/web.app_1", ("acme-corp", "web.app_1")),
        ("a1/b", ("a1", "b")),
        ("my_org/x-y.z", ("my_org", "x-y.z")),
    ],
)
def test_parse_repository(repository: str, parsed: tuple[str, str]) -> None:
    assert parse_repository(repository) == parsed


SEPARATORS = "use lowercase letters and digits, separated by single '.', '_' or '-'"


@pytest.mark.parametrize(
    ("repository", "message"),
    [
        ("acme", "repository 'acme' must be NAMESPACE/NAME with exactly one '/', e.g. acme/web"),
        (
            "acme/web/x",
            "repository 'acme/web/x' must be NAMESPACE/NAME with exactly one '/', e.g. acme/web",
        ),
        ("", "repository '' must be NAMESPACE/NAME with exactly one '/', e.g. acme/web"),
        ("/web", f"invalid repository namespace '' in '/web': {SEPARATORS}"),
        ("acme/", f"invalid repository name '' in 'acme/': {SEPARATORS}"),
        ("Acme/web", f"invalid repository namespace 'Acme' in 'Acme/web': {SEPARATORS}"),
        ("acme/Web", f"invalid repository name 'Web' in 'acme/Web': {SEPARATORS}"),
        ("acme/web-", f"invalid repository name 'web-' in 'acme/web-': {SEPARATORS}"),
        ("acme/we..b", f"invalid repository name 'we..b' in 'acme/we..b': {SEPARATORS}"),
        ("acme/we b", f"invalid repository name 'we b' in 'acme/we b': {SEPARATORS}"),
        (" acme/web", f"invalid repository namespace ' acme' in ' acme/web': {SEPARATORS}"),
        ("a/web", "repository namespace 'a' must be 2 to 255 characters"),
        (f"acme/{'w' * 256}", f"repository name '{'w' * 256}' must be 1 to 255 characters"),
    ],
)
def test_parse_repository_rejects(repository: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_repository(repository)
    assert str(caught.value) == message


def test_build_event_data_rejects_a_bad_repository() -> None:
    with pytest.raises(UsageError, match="must be NAMESPACE/NAME"):
        build_event_data(EVENTS["repo_push"], "acme", {"updated_tags": []}, **HOST)


@pytest.mark.parametrize(
    ("value", "index"),
    [
        ("Critical", 0),
        ("high", 1),
        ("MEDIUM", 2),
        (" Low ", 3),
        ("negligible", 4),
        ("Unknown", 5),
        (0, 0),
        (5, 5),
        ("1", 1),
        (" 4 ", 4),
    ],
)
def test_priority_index(value: str | int, index: int) -> None:
    assert priority_index(value) == index


@pytest.mark.parametrize("value", ["severe", "", "-1", "6", -1, 6, "1.5", True])
def test_priority_index_rejects(value: str | int) -> None:
    with pytest.raises(ValidationError) as caught:
        priority_index(value)
    assert str(caught.value) == (
        f"unknown vulnerability level {value!r}: use a name or index: {LEVEL_CHOICES}"
    )


def test_get_event() -> None:
    assert get_event("build_success") is EVENTS["build_success"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "build_sucess",
            "unknown event 'build_sucess' (did you mean 'build_success'?): "
            "run `quaynotify events` to list them",
        ),
        (
            "REPO_PUSH",
            "unknown event 'REPO_PUSH' (did you mean 'repo_push'?): "
            "run `quaynotify events` to list them",
        ),
        ("quota_warning", "unknown event 'quota_warning': run `quaynotify events` to list them"),
        ("x", "unknown event 'x': run `quaynotify events` to list them"),
    ],
)
def test_get_event_rejects_unknown_names(name: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        get_event(name)
    assert str(caught.value) == message
    assert caught.value.exit_code == ExitCode.USAGE


# --- import cost ---------------------------------------------------------------------------------


def test_importing_the_catalogue_loads_only_the_standard_library() -> None:
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "import quaynotify.catalogue.events\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert "quaynotify.catalogue.events" in loaded
    outside = [
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "quaynotify"
    ]
    assert outside == []
    assert sorted(m for m in loaded if m.startswith("quaynotify")) == [
        "quaynotify",
        "quaynotify.catalogue",
        "quaynotify.catalogue.builds",
        "quaynotify.catalogue.event",
        "quaynotify.catalogue.events",
        "quaynotify.catalogue.expiry",
        "quaynotify.catalogue.fields",
        "quaynotify.catalogue.filters",
        "quaynotify.catalogue.mirrors",
        "quaynotify.catalogue.push",
        "quaynotify.catalogue.vulnerability",
        "quaynotify.errors",
    ]
    assert "difflib" not in loaded  # imported only for an unknown event's suggestion
