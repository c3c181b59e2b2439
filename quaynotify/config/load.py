"""The config file: load it (tomllib) into typed settings and rules, check it, and validate
rules as Quay does.

Editing it in place is config/edit.py's."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quaynotify.config.settings import Settings, parse_settings
from quaynotify.errors import ConfigError, NotFoundError, QuaynotifyError
from quaynotify.paths import NotAFileError, file_kind, read_file

if TYPE_CHECKING:
    from quaynotify.methods.base import Authorized

# Top-level tables the file holds besides those the methods read; anything else is most
# likely a typo.
OWN_TABLES = ("server", "delivery", "journal", "state")
RULE_KEYS = ("id", "repository", "event", "method", "title", "config", "event_config", "enabled")
# A config larger than this is a mistake (or /dev/zero), not rules: 10,000 rules are ~3 MiB.
MAX_CONFIG_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Rule:
    """One notification: repository + event + method + method config + event config."""

    id: str
    repository: str
    event: str
    method: str
    config: Mapping[str, Any]
    event_config: Mapping[str, Any] = field(default_factory=dict)
    title: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Config:
    path: Path
    exists: bool
    settings: Settings = field(default_factory=Settings)
    rules: tuple[Rule, ...] = ()

    def find_rule(self, id_or_prefix: str) -> Rule:
        return find_rule(self.rules, id_or_prefix)

    def matching(self, repository: str, event: str) -> list[Rule]:
        return [r for r in self.rules if r.repository == repository and r.event == event]


# -- loading ------------------------------------------------------------------------------------


def load(path: Path) -> Config:
    """Read and check the config file; a missing file is an empty config."""
    data = read_bytes(path)
    if data is None:
        return Config(path=path, exists=False)
    return parse(data, path)


def check_regular(path: Path, mode: int) -> None:
    """Refuse anything but a regular file: a FIFO would block forever, /dev/zero never end."""
    kind = file_kind(mode)
    if kind is not None:
        raise _not_regular(path, kind)


def _not_regular(path: Path, kind: str) -> ConfigError:
    if kind == "a directory":
        return ConfigError(f"config {path} is a directory: point --config at a file")
    return ConfigError(
        f"config {path} is {kind}, not a regular file: point --config at a TOML file"
    )


def read_bytes(path: Path) -> bytes | None:
    """The config file's bytes (at most MAX_CONFIG_BYTES), or None when it does not exist."""
    try:
        data = read_file(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None
    except NotAFileError as exc:
        raise _not_regular(path, exc.kind) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config {path} is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB: "
            "point --config at the TOML file of your rules"
        )
    return data


def parse(data: bytes, path: Path) -> Config:
    from quaynotify.inputs import MAX_DEPTH, too_deep

    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config {path} is not UTF-8 text (byte {exc.start}): fix its encoding"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from None
    except RecursionError:
        doc = None
    # Arrays and inline tables nested thousands deep exhaust tomllib's stack; dotted keys
    # (a.b.c...) nest without limit and would exhaust everything that walks the document later.
    if doc is None or too_deep(doc, MAX_DEPTH):
        raise ConfigError(
            f"config {path} nests tables or arrays more than {MAX_DEPTH} levels deep: "
            "no setting or rule needs that, fix the file"
        )
    return _from_document(doc, path)


def known_tables() -> tuple[str, ...]:
    """The top-level tables a config file may hold: its own, the methods', and its rules."""
    from quaynotify.methods import TABLE_KEYS

    return (*OWN_TABLES, *TABLE_KEYS, "rule")


def _from_document(doc: dict[str, Any], path: Path) -> Config:
    where = f"config {path}"
    known = known_tables()
    for key in doc:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown table or key {key!r}: expected one of {', '.join(known)}"
            )
    settings = parse_settings(doc, where)
    rules = _rules(doc, where)
    return Config(path, True, settings, rules)


def _rules(doc: Mapping[str, Any], where: str) -> tuple[Rule, ...]:
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{where}: 'rule' must be an array of tables, written [[rule]]")
    from quaynotify.catalogue.events import EVENTS
    from quaynotify.methods import METHODS

    rules = tuple(_rule(raw, i, where, EVENTS, METHODS) for i, raw in enumerate(raw_rules, start=1))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ConfigError(f"{where}: two rules have the id {rule.id}: give one a new id")
        seen.add(rule.id)
    return rules


_RULE_KEY_SET = frozenset(RULE_KEYS)
_RULE_STRINGS = ("id", "repository", "event", "method")


def _rule(
    raw: Any, index: int, where: str, events: Container[str], methods: Container[str]
) -> Rule:
    # The checks of _rule_problem, written to cost little: 10,000 rules are loaded on every
    # command, and the message is worth building only when something is wrong.
    if not (
        isinstance(raw, dict)
        and raw.keys() <= _RULE_KEY_SET
        and all(isinstance(raw.get(k), str) and raw[k] for k in _RULE_STRINGS)
        and isinstance(raw.get("config", {}), dict)
        and isinstance(raw.get("event_config", {}), dict)
        and isinstance(raw.get("title", ""), str)
        and isinstance(raw.get("enabled", True), bool)
        and raw["event"] in events
        and raw["method"] in methods
    ):
        raise ConfigError(_rule_problem(raw, index, where, events, methods))
    return Rule(
        id=raw["id"],
        repository=raw["repository"],
        event=raw["event"],
        method=raw["method"],
        config=raw.get("config", {}),
        event_config=raw.get("event_config", {}),
        title=raw.get("title") or None,
        enabled=raw.get("enabled", True),
    )


def _rule_problem(
    raw: Any, index: int, where: str, events: Container[str], methods: Container[str]
) -> str:
    at = f"{where}: rule #{index}"
    if not isinstance(raw, dict):
        return f"{at} must be a table"
    if isinstance(raw.get("id"), str):
        at += f" ({raw['id']})"
    for key in raw:
        if key not in RULE_KEYS:
            return f"{at}: unknown key {key!r}: expected one of {', '.join(RULE_KEYS)}"
    for key in _RULE_STRINGS:
        if not isinstance(raw.get(key), str) or not raw[key]:
            return f"{at}: {key!r} is missing or not a string"
    for key in ("config", "event_config"):
        if not isinstance(raw.get(key, {}), dict):
            return f"{at}: {key!r} must be a table, e.g. {key} = {{ ... }}"
    if not isinstance(raw.get("title", ""), str):
        return f"{at}: 'title' must be a string"
    if not isinstance(raw.get("enabled", True), bool):
        return f"{at}: 'enabled' must be true or false"
    if raw["event"] not in events:
        return f"{at}: unknown event {raw['event']!r}: run `quaynotify events` to list them"
    return f"{at}: unknown method {raw['method']!r}: run `quaynotify methods` to list them"


def find_rule(rules: Sequence[Rule], id_or_prefix: str) -> Rule:
    """The rule whose id is, or starts with, `id_or_prefix` (case-insensitive)."""
    prefix = id_or_prefix.strip().lower()
    found = [r for r in rules if prefix and r.id.lower().startswith(prefix)]
    exact = [r for r in found if r.id.lower() == prefix]
    if exact:
        return exact[0]
    if not found:
        raise NotFoundError(
            f"no rule with id {id_or_prefix!r}: run `quaynotify rule list` to see them"
        )
    if len(found) > 1:
        ids = ", ".join(r.id for r in found[:3])
        raise NotFoundError(
            f"rule id prefix {id_or_prefix!r} is ambiguous ({ids}...): give more of it"
        )
    return found[0]


# -- validation ---------------------------------------------------------------------------------


def new_rule(
    config: Config,
    *,
    repository: str,
    event: str,
    method: str,
    method_config: Mapping[str, Any],
    event_config: Mapping[str, Any],
    title: str | None = None,
    authorized: Authorized | None = None,
) -> Rule:
    """A new rule with a fresh id, validated as Quay validates it when it is created."""
    rule = Rule(
        id=str(uuid.uuid4()),
        repository=repository,
        event=event,
        method=method,
        config={k: v for k, v in method_config.items() if v is not None},
        event_config=dict(event_config),
        title=title or None,
    )
    return validate_rule(config, rule, authorized=authorized)


def validate_rule(config: Config, rule: Rule, *, authorized: Authorized | None = None) -> Rule:
    """Check a rule fully (method config with Quay's messages, event filter); returns it
    with its event config normalised as Quay stores it. Raises ValidationError."""
    from quaynotify.catalogue.data import parse_repository
    from quaynotify.catalogue.events import get_event
    from quaynotify.methods import get_method

    parse_repository(rule.repository)
    event = get_event(rule.event)
    method = get_method(rule.method)
    settings = config.settings.methods
    method.from_config(rule.config, settings, repository=rule.repository, authorized=authorized)
    method.check_event(rule.event)
    event_config = event.validate_config(rule.event_config)
    if event_config == rule.event_config:
        return rule
    return Rule(**{**rule.__dict__, "event_config": event_config})


def check(config: Config) -> list[str]:
    """Every problem in the methods' tables and in the rules, one line each."""
    from quaynotify.methods import METHODS

    problems = []
    for method in METHODS.values():
        try:
            method.check_settings(config.settings.methods)
        except QuaynotifyError as exc:
            problems.append(str(exc))
    for index, rule in enumerate(config.rules, start=1):
        try:
            validate_rule(config, rule)
        except QuaynotifyError as exc:
            problems.append(f"rule #{index} ({rule.id}): {exc}")
    return problems
