"""What an event is: its fields, the Event declaration every family module fills in, and the
checks, summaries and samples computed from a declaration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from quaynotify.catalogue.filters import FILTERS
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
    nested_strings: tuple[str, ...] = ()  # keys of an "object" field that hold strings


class ViewValues(Protocol):
    """What the renderer hands a message view: every string it shows goes through `text`."""

    def text(self, value: Any) -> str:
        """`value` as text safe to show ("" for None)."""
        ...

    def tags(self, names: Any) -> list[tuple[str, str]]:
        """Tag names (anything but a list gives none), each with its link on the host."""
        ...


View = Callable[[Mapping[str, Any], ViewValues], dict[str, Any]]


@dataclass(frozen=True)
class Message:
    """An event's HTML and text message: a template of render/templates and the values it
    lays out, computed from the event data (URLs left as given: the templates check them)."""

    template: str
    view: View


Bell = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True, kw_only=True)
class Event:
    """One repository event: Quay's event classes differ only in these values."""

    name: str
    title: str
    description: str
    required: tuple[Field, ...]
    optional: tuple[Field, ...] = ()
    filter_key: str | None = None
    fixed_level: str | None = None  # None: computed from the vulnerability's priority
    summary_format: str  # over the event data, short_build_id and tag_count
    many_summary_format: str | None = None  # when the data holds a `vulnerabilities` list
    message: Message
    # The notification area's one-line message for a record of this event (Quay's bell);
    # None: the notification area has no kind for it.
    bell: Bell | None
    # A function in a template is a value computed when the sample is made (Quay's "now").
    sample_template: Mapping[str, Any] = field(default_factory=dict, compare=False)
    default_template: Mapping[str, Any] = field(default_factory=dict, compare=False)
    subpage_format: str | None = None
    repo_key: str | None = None  # build_queued's data repeats the repository name as `repo`
    # The order Quay's producer writes the fields in, when it is not required then optional.
    field_order: tuple[str, ...] = ()

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

    def ordered_fields(self) -> tuple[str, ...]:
        return self.field_order or tuple(f.name for f in (*self.required, *self.optional))

    def string_paths(self) -> frozenset[str]:
        """Dotted paths of the fields that hold strings: `--set build_id=12345` keeps "12345"
        a string there instead of reading it as a JSON number."""
        paths = set()
        for f in (*self.required, *self.optional):
            if f.kind == "string":
                paths.add(f.name)
            paths.update(f"{f.name}.{key}" for key in f.nested_strings)
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

    def why_not_performed(self, event_config: Mapping[str, Any], data: Mapping[str, Any]) -> str:
        """Why the rule's event filter stopped this event (`should_perform` said no)."""
        assert self.filter_key is not None  # only a filter says no
        return FILTERS[self.filter_key].why_not(event_config, data)


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


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is an object, else an empty one: views read hand-made data safely."""
    return value if isinstance(value, Mapping) else {}
