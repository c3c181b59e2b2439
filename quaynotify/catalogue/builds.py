"""The build events: queued, started, succeeded, failed, cancelled (Quay's BuildQueueEvent and
its siblings), which share their fields, sample, filter and message."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from quaynotify.catalogue.event import Bell, Event, Message, ViewValues, mapping
from quaynotify.catalogue.fields import fields

_SAMPLE_COMMIT_INFO = {
    "url": "http://path/to/the/commit",
    "message": "Some commit message",
    "date": lambda event_config: float(int(time.time())),  # time.mktime(now): whole seconds
    "author": {
        "username": "fakeauthor",
        "url": "http://path/to/fake/author/in/scm",
        "avatar_url": "http://www.gravatar.com/avatar/fakehash",
    },
}
_OPTIONAL = fields(
    "build_name docker_tags trigger_id trigger_kind trigger_metadata image_id manifest_digests"
    " error_message"
)
_DEFAULTS: dict[str, Any] = {
    "docker_tags": ["latest"],
    "trigger_id": None,
    "trigger_kind": None,
    "trigger_metadata": {},
}


def _sample(lead: Mapping[str, Any], *, commit_info: bool, tail: Mapping[str, Any]) -> Any:
    metadata: dict[str, Any] = {
        "default_branch": "master",
        "ref": "refs/heads/somebranch",
        "commit": "42d4a62c53350993ea41069e9f2cfdefb0df097d",
    }
    if commit_info:
        metadata["commit_info"] = _SAMPLE_COMMIT_INFO
    sample = {
        "build_id": "fake-build-id",
        "build_name": "some-fake-build",
        "docker_tags": ["latest", "foo", "bar"],
        "trigger_id": "1245634",
        "trigger_kind": "GitHub",
        "trigger_metadata": metadata,
    }
    return MappingProxyType(dict(lead) | sample | dict(tail))


def _view(word: str) -> Message:
    """Quay's events/build_event.html, which its build_*.html templates extend with `word`."""

    def view(data: Mapping[str, Any], values: ViewValues) -> dict[str, Any]:
        text = values.text
        metadata = mapping(data.get("trigger_metadata"))
        commit_info = mapping(metadata.get("commit_info"))
        author = mapping(commit_info.get("author"))
        # Quay's four cases, tested in its order on the same truthiness.
        if not data.get("trigger_id"):
            trigger = "upload"
        elif not metadata:
            trigger = "kind"
        elif commit_info:
            trigger = "commit_info"
        else:
            trigger = "commit"
        # Quay shows ref.split('/')[2], so refs/heads/feature/x reads "feature"; where Quay
        # fails (no ref, or one with fewer than three parts), " to branch X" is left out.
        parts = text(metadata.get("ref")).split("/")
        has_ref = len(parts) > 2
        return {
            "word": word,
            "homepage": data.get("homepage"),
            "short_build_id": text(data.get("build_id"))[:7],
            "trigger": trigger,
            "trigger_kind": text(data.get("trigger_kind")),
            "short_commit": text(metadata.get("commit"))[:7],
            "commit_url": commit_info.get("url"),
            "ref_kind": ("tag" if parts[1] == "tags" else "branch") if has_ref else "",
            "ref_name": parts[2] if has_ref else "",
            "author_name": text(author.get("username")),
            "author_url": author.get("url"),
            "error_message": text(data.get("error_message")),
        }

    return Message("build.j2", view)


def _bell(words: str) -> Bell:
    return lambda data: f"{words} for repository {data.get('repository', '')}"


def _build(
    name: str, *, title: str, description: str, level: str, summary_word: str, **own: Any
) -> Event:
    """A build event: `own` holds what it does not share with the others."""
    shared: dict[str, Any] = {
        "required": fields("build_id"),
        "optional": _OPTIONAL,
        "filter_key": "ref-regex",
        "default_template": MappingProxyType(_DEFAULTS),
        "subpage_format": "build/{build_id}",
    }
    return Event(
        name=name,
        title=title,
        description=description,
        fixed_level=level,
        summary_format=f"Build {summary_word} for repository {{repository}} [{{short_build_id}}]",
        **(shared | own),
    )


# Titles are the New UI's; messages are Quay's ("canceled" with one l, although the summary
# says "cancelled"); bell wording is the old UI's (static/js/services/notification-service.js).
BUILD_QUEUED = _build(
    "build_queued",
    title="Image build queued",
    description="a build was queued",
    level="info",
    summary_word="queued",
    message=_view("queued"),
    bell=_bell("A build has been queued"),
    sample_template=_sample({"is_manual": False}, commit_info=True, tail={}),
    # Quay's audit-log metadata, not the builder's: no build_name, trigger keys only when a
    # trigger started it, and repo, is_manual and manual_user besides (endpoints/building.py).
    optional=fields(
        "docker_tags is_manual manual_user trigger_id trigger_kind trigger_metadata trigger_manual"
    ),
    default_template=MappingProxyType(
        {"docker_tags": ["latest"], "is_manual": False, "manual_user": None}
    ),
    repo_key="repo",
    field_order=(
        *("build_id", "docker_tags", "repo", "namespace", "is_manual", "manual_user"),
        *("trigger_id", "trigger_kind", "trigger_metadata", "trigger_manual"),
    ),
)
BUILD_START = _build(
    "build_start",
    title="Image build started",
    description="a build started",
    level="info",
    summary_word="started",
    message=_view("started"),
    bell=_bell("A build has been started"),
    sample_template=_sample({}, commit_info=False, tail={}),
)
BUILD_SUCCESS = _build(
    "build_success",
    title="Image build success",
    description="a build succeeded",
    level="success",
    summary_word="succeeded",
    message=_view("completed"),
    bell=_bell("A build has succeeded"),
    sample_template=_sample({}, commit_info=False, tail={"image_id": "1245657346"}),
)
BUILD_FAILURE = _build(
    "build_failure",
    title="Image build failed",
    description="a build failed",
    level="error",
    summary_word="failure",
    message=_view("failure"),
    bell=_bell("A build has failed"),
    sample_template=_sample(
        {}, commit_info=True, tail={"error_message": "This is a fake error message"}
    ),
)
BUILD_CANCELLED = _build(
    "build_cancelled",
    title="Image build cancelled",
    description="a build was cancelled",
    level="info",
    summary_word="cancelled",
    message=_view("canceled"),
    bell=_bell("A build was cancelled"),
    sample_template=_sample({}, commit_info=False, tail={"image_id": "1245657346"}),
)
