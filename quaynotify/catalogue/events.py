"""The event catalogue: each repository event's title, level, summary, fields, sample and filter."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from quaynotify.catalogue.filters import FILTERS, PRIORITIES, priority_index
from quaynotify.errors import UsageError, ValidationError

LEVELS = ("info", "primary", "success", "warning", "error")

# Quay's VulnerabilityFoundEvent.get_level, not PRIORITY_LEVELS (where Low is a warning).
_PRIORITY_LEVEL = {"Critical": "error", "High": "warning", "Medium": "warning"}


def _is_list_of(item_type: type) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list | tuple) and all(isinstance(i, item_type) for i in v)


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, Mapping),
    "list of strings": _is_list_of(str),
    "list of objects": _is_list_of(Mapping),
}


@dataclass(frozen=True)
class Field:
    """One field of an event's data: its JSON kind and how to pass it on the command line."""

    name: str
    kind: str  # a key of _KIND_CHECKS
    example: str
    description: str
    required_keys: tuple[Field, ...] = ()  # what an "object" field must hold


@dataclass(frozen=True)
class Event:
    """One repository event: Quay's event classes differ only in these values."""

    name: str
    title: str
    description: str
    required: tuple[Field, ...]
    optional: tuple[Field, ...]
    filter_key: str | None
    fixed_level: str | None = None  # None: computed from the vulnerability's priority
    summary_format: str = ""  # over the event data, short_build_id and tag_count
    many_summary_format: str | None = None  # when the data holds a `vulnerabilities` list
    # A function in a template is a value computed when the sample is made (Quay's "now").
    sample_template: Mapping[str, Any] = field(default_factory=dict, compare=False)
    default_template: Mapping[str, Any] = field(default_factory=dict, compare=False)
    subpage_format: str | None = None
    repo_key: str | None = None  # build_queued's data repeats the repository name as `repo`

    def level(self, data: Mapping[str, Any]) -> str:
        if self.fixed_level is not None:
            return self.fixed_level
        self.check(data)
        return _PRIORITY_LEVEL.get(data["vulnerability"]["priority"], "info")

    def summary(self, data: Mapping[str, Any]) -> str:
        self.check(data)
        values = dict(data)
        if "build_id" in data:
            values["short_build_id"] = data["build_id"][0:7]
        if "tags" in data:
            values["tag_count"] = len(data["tags"])
        many = data.get("vulnerabilities")
        # Quay raises IndexError on an empty list; the single-vulnerability form is kinder.
        if self.many_summary_format is None or not many:
            return self.summary_format.format_map(values)
        # Quay takes the list as sorted, most severe first, and counts the first priority only.
        top = many[0].get("priority", "Unknown")
        count = sum(1 for v in many if v.get("priority", "Unknown") == top)
        more = f" and {len(many) - count} more" if count < len(many) else ""
        extra = {"count": count, "top_priority": top, "more": more}
        return self.many_summary_format.format_map(values | extra)

    def sample(self, event_config: Mapping[str, Any]) -> dict[str, Any]:
        return _fill_mapping(self.sample_template, event_config)

    def defaults(self) -> dict[str, Any]:
        return _fill_mapping(self.default_template, {})

    def subpage(self, data: Mapping[str, Any]) -> str | None:
        if self.subpage_format is None or data.get("build_id") is None:
            return None
        return self.subpage_format.format_map(data)

    def string_paths(self) -> frozenset[str]:
        """Dotted paths of the fields that hold strings: `--set build_id=12345` keeps "12345"
        a string there instead of reading it as a JSON number."""
        paths = set()
        for f in (*self.required, *self.optional):
            if f.kind == "string":
                paths.add(f.name)
            paths.update(f"{f.name}.{key}" for key in _NESTED_STRINGS.get(f.name, ()))
        return frozenset(paths)

    def check(self, data: Mapping[str, Any]) -> None:
        for f in self.required:
            _check_field(self.name, f, data, f.name)
        for f in self.optional:
            if data.get(f.name) is not None:  # null is how defaults say "no trigger"
                _check_field(self.name, f, data, f.name)

    def validate_config(self, event_config: Mapping[str, Any]) -> dict[str, Any]:
        for key in event_config:
            if key != self.filter_key:
                allowed = f"the only key is '{self.filter_key}'"
                if self.filter_key is None:
                    allowed = "this event has no filter"
                raise ValidationError(
                    f"unknown event config key '{key}' for {self.name}: {allowed}"
                )
        if self.filter_key is None or self.filter_key not in event_config:
            return {}
        value = FILTERS[self.filter_key].normalise(event_config[self.filter_key])
        return {} if value is None else {self.filter_key: value}

    def should_perform(self, event_config: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
        if self.filter_key is None or not event_config:
            return True
        return FILTERS[self.filter_key].perform(event_config, data)


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


_JSON_TYPES: tuple[tuple[Any, str], ...] = (
    (type(None), "null"),
    (bool, "a boolean"),
    (int | float, "a number"),
    (str, "a string"),
    (Mapping, "an object"),
)


def _describe(value: Any) -> str:
    """A value's JSON type for a message: 'a number', 'null', 'a list holding an object'."""
    if isinstance(value, list | tuple):
        odd = [_describe(v) for v in value if not isinstance(v, str)]
        return f"a list holding {odd[0]}" if odd else "a list of strings"
    return next((name for t, name in _JSON_TYPES if isinstance(value, t)), _a(type(value).__name__))


def _check_field(event: str, f: Field, data: Mapping[str, Any], path: str) -> None:
    if f.name not in data:
        raise UsageError(f"{event} needs field '{path}' ({_a(f.kind)}): pass it with {f.example}")
    value = data[f.name]
    if not _KIND_CHECKS[f.kind](value):
        raise UsageError(
            f"{event} field '{path}' must be {_a(f.kind)}, not {_describe(value)}: "
            f"pass it with {f.example}"
        )
    for key in f.required_keys:
        _check_field(event, key, value, f"{path}.{key.name}")


def _fill(template: Any, event_config: Mapping[str, Any]) -> Any:
    """A fresh deep copy of a template, its functions called with the event config."""
    if callable(template):
        return template(event_config)
    if isinstance(template, Mapping):
        return _fill_mapping(template, event_config)
    if isinstance(template, list | tuple):
        return [_fill(v, event_config) for v in template]
    return template


def _fill_mapping(template: Mapping[str, Any], event_config: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _fill(value, event_config) for key, value in template.items()}


# Keys inside object fields that hold strings (see Event.string_paths).
_NESTED_STRINGS = {
    "trigger_metadata": ("ref", "commit", "default_branch", "git_url"),
    "vulnerability": ("id", "description", "link", "priority"),
}
_PRIORITY = Field("priority", "string", "--set vulnerability.priority=High", "/".join(PRIORITIES))
# fmt: off
_FIELDS: dict[str, Field] = {f.name: f for f in (
    Field("updated_tags", "list of strings", """--set 'updated_tags=["latest"]'""",
          "the tags the push updated"),
    Field("message", "string", """--set "message='quay.io/acme/web' with tag pattern 'latest'\"""",
          "what the mirror did: '<source>' with tag pattern '<patterns>'[: <error>]"),
    Field("tags", "list of strings", """--set 'tags=["latest"]'""", "the tags concerned"),
    Field("vulnerability", "object",
          """--set 'vulnerability={"id": "CVE-2024-3094", "priority": "Critical"}'""",
          "id, description, link, priority, has_fix", (_PRIORITY,)),
    Field("image", "string", "--set image=sha256:...", "the affected image"),
    Field("vulnerabilities", "list of objects",
          """--set 'vulnerabilities=[{"id": "CVE-2024-3094", "priority": "High"}]'""",
          "several vulnerabilities, most severe first"),
    Field("vulnerable_index_report_created", "string",
          """--set 'vulnerable_index_report_created="true"'""",
          "a new index report: fires whatever the rule's level"),
    Field("build_id", "string", "--set build_id=4b8f1c2e-5d7a-4e0b-9a3c-1f2e3d4c5b6a",
          "the build's UUID"),
    Field("build_name", "string", "--set build_name=42d4a62", "the build's display name"),
    Field("docker_tags", "list of strings", """--set 'docker_tags=["latest"]'""",
          "the tags the build pushes"),
    Field("trigger_id", "string", "--set trigger_id=1245634", "the build trigger's id"),
    Field("trigger_kind", "string", "--set trigger_kind=github",
          "github, gitlab, bitbucket or custom-git"),
    Field("trigger_metadata", "object", "--set trigger_metadata.ref=refs/heads/main",
          "ref (matched by ref-regex), commit, default_branch, commit_info"),
    Field("image_id", "string", "--set image_id=sha256:...", "the built image"),
    Field("manifest_digests", "list of strings", """--set 'manifest_digests=["sha256:..."]'""",
          "the pushed manifests"),
    Field("error_message", "string", "--set 'error_message=Step 3 failed'", "why it failed"),
    Field("is_manual", "boolean", "--set is_manual=true", "started by a user, not a trigger"),
    Field("manual_user", "string", "--set manual_user=alice", "the user who started it"),
    Field("trigger_manual", "boolean", "--set trigger_manual=true", "a trigger run by hand"),
    Field("expiring_in", "string", "--set 'expiring_in=7 days'", 'Quay\'s form: "<days> days"'),
    Field("notification_uuid", "string", "--set notification_uuid=...", "the rule it is for"),
)}
# fmt: on


def _fields(names: str) -> tuple[Field, ...]:
    return tuple(_FIELDS[name] for name in names.split())


def _sample_priority(event_config: Mapping[str, Any]) -> str:
    """Quay's get_priority_for_index(event_config.get("level", "Critical"))."""
    if "level" not in event_config:
        return "Unknown"  # Quay's default "Critical" is a name, not an index
    try:
        return PRIORITIES[priority_index(event_config["level"])]
    except ValidationError:
        return "Unknown"


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
# build_queued's data is Quay's audit-log metadata, not the builder's: no build_name, trigger
# keys only when a trigger started it, and repo, is_manual and manual_user besides.
_BUILD_OPTIONAL = _fields(
    "build_name docker_tags trigger_id trigger_kind trigger_metadata image_id manifest_digests"
    " error_message"
)
_QUEUED_OPTIONAL = _fields(
    "docker_tags is_manual manual_user trigger_id trigger_kind trigger_metadata trigger_manual"
)
_BuildRow = tuple[str, str, str, str, str, dict[str, Any], bool, dict[str, Any]]
# fmt: off
_BUILDS: tuple[_BuildRow, ...] = (
    # name, New-UI title, summary word, level, description, sample: lead, commit_info?, tail
    ("build_queued", "Image build queued", "queued", "info", "a build was queued",
     {"is_manual": False}, True, {}),
    ("build_start", "Image build started", "started", "info", "a build started", {}, False, {}),
    ("build_success", "Image build success", "succeeded", "success", "a build succeeded",
     {}, False, {"image_id": "1245657346"}),
    ("build_failure", "Image build failed", "failure", "error", "a build failed",
     {}, True, {"error_message": "This is a fake error message"}),
    ("build_cancelled", "Image build cancelled", "cancelled", "info", "a build was cancelled",
     {}, False, {"image_id": "1245657346"}),
)
_MIRRORS: tuple[tuple[str, str, str, str, str], ...] = (
    # name, New-UI title, summary word, level, description
    ("repo_mirror_sync_started", "Repository mirror started", "started", "info",
     "a repository mirror sync started"),
    ("repo_mirror_sync_success", "Repository mirror successful", "success", "success",
     "a repository mirror sync succeeded"),
    ("repo_mirror_sync_failed", "Repository mirror unsuccessful", "failed", "error",
     "a repository mirror sync failed"),
)
# fmt: on


def _build_event(row: _BuildRow) -> Event:
    name, title, word, level, description, lead, commit_info, tail = row
    queued = name == "build_queued"
    metadata: dict[str, Any] = {
        "default_branch": "master",
        "ref": "refs/heads/somebranch",
        "commit": "42d4a62c53350993ea41069e9f2cfdefb0df097d",
    }
    if commit_info:
        metadata["commit_info"] = _SAMPLE_COMMIT_INFO
    sample = lead | {
        "build_id": "fake-build-id",
        "build_name": "some-fake-build",
        "docker_tags": ["latest", "foo", "bar"],
        "trigger_id": "1245634",
        "trigger_kind": "GitHub",
        "trigger_metadata": metadata,
    }
    defaults: dict[str, Any] = {"docker_tags": ["latest"]}
    if queued:
        defaults |= {"is_manual": False, "manual_user": None}
    else:
        defaults |= {"trigger_id": None, "trigger_kind": None, "trigger_metadata": {}}
    return Event(
        name=name,
        title=title,
        description=description,
        required=_fields("build_id"),
        optional=_QUEUED_OPTIONAL if queued else _BUILD_OPTIONAL,
        filter_key="ref-regex",
        fixed_level=level,
        summary_format=f"Build {word} for repository {{repository}} [{{short_build_id}}]",
        sample_template=MappingProxyType(sample | tail),
        default_template=MappingProxyType(defaults),
        subpage_format="build/{build_id}",
        repo_key="repo" if queued else None,
    )


def _mirror_event(name: str, title: str, word: str, level: str, description: str) -> Event:
    return Event(
        name=name,
        title=title,
        description=description,
        required=_fields("message"),
        optional=(),
        filter_key=None,
        fixed_level=level,
        summary_format=f"Repository Mirror {word} for {{message}}",
        sample_template=MappingProxyType({"message": "TEST NOTIFICATION"}),
    )


_ALL: tuple[Event, ...] = (
    Event(
        name="repo_push",
        title="Push to Repository",
        description="tags were pushed to the repository",
        required=_fields("updated_tags"),
        optional=(),
        filter_key=None,
        fixed_level="primary",
        summary_format="Repository {repository} updated",
        sample_template=MappingProxyType(
            {"updated_tags": ["latest", "foo"], "pruned_image_count": 3}
        ),
    ),
    *(_build_event(row) for row in _BUILDS),
    Event(
        name="vulnerability_found",
        title="Package Vulnerability Found",
        description="a package vulnerability was found in the repository's images",
        required=_fields("tags vulnerability"),
        optional=_fields("image vulnerabilities vulnerable_index_report_created"),
        filter_key="level",
        summary_format="{vulnerability[priority]} vulnerability detected in repository"
        " {repository} in {tag_count} tags",
        many_summary_format="{count} {top_priority}{more} vulnerabilities were detected in"
        " repository {repository} in {tag_count} tags",
        sample_template=MappingProxyType(
            {
                "tags": ["latest", "prod", "foo", "bar", "baz"],
                "image": "some-image-id",
                "vulnerability": {
                    "id": "CVE-FAKE-CVE",
                    "description": "A futurist vulnerability",
                    "link": "https://security-tracker.debian.org/tracker/CVE-FAKE-CVE",
                    "priority": _sample_priority,
                },
            }
        ),
    ),
    *(_mirror_event(*row) for row in _MIRRORS),
    Event(
        name="repo_image_expiry",
        title="Image expiry trigger",
        description="tags are due to expire within the rule's number of days",
        required=_fields("tags expiring_in"),
        optional=_fields("notification_uuid"),
        filter_key="days",
        fixed_level="info",
        summary_format="Repository {repository} image(s) expiring",
        sample_template=MappingProxyType(
            # without days this is "None days", as in Quay
            {"tags": ["latest", "v1"], "expiring_in": lambda config: f"{config.get('days')} days"}
        ),
    ),
)
EVENTS: dict[str, Event] = {event.name: event for event in _ALL}


def get_event(name: str) -> Event:
    event = EVENTS.get(name)
    if event is not None:
        return event
    import difflib  # only on this error path, to keep start-up cheap

    close = difflib.get_close_matches(name.lower(), EVENTS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UsageError(f"unknown event '{name}'{hint}: run `quaynotify events` to list them")
