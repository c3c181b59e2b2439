"""The config's settings, typed: its own tables ([server], [delivery], [journal], [state])
checked here,
and the tables the methods own ([smtp], [webhook], [teams], [orgs]) parsed by the methods
(methods/tables.py); all of them once, when the config is loaded."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quaynotify.errors import ConfigError

if TYPE_CHECKING:
    from quaynotify.methods.tables import MethodSettings

RETRY_ON = ("any", "transient")
# The most any [delivery] duration may be, in seconds: a day. More is a typo, and inf or 1e308
# would overflow the clock arithmetic of the retry loop.
MAX_SECONDS = 86400.0


@dataclass(frozen=True)
class Server:
    """Quay's SERVER_HOSTNAME and PREFERRED_URL_SCHEME: they build docker_url and homepage."""

    hostname: str = "quay.io"
    scheme: str = "https"


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float = 10.0  # per attempt, as Quay's NOTIFICATION_SEND_TIMEOUT
    max_attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0
    concurrency: int = 8
    retry_on: str = "any"
    disable_after: int = 3


@dataclass(frozen=True)
class JournalSettings:
    keep_days: float = 30.0  # deliveries older than this are pruned; 0 keeps them all


@dataclass(frozen=True)
class StateSettings:
    """Where the state lives when no --state-url or QUAYNOTIFY_STATE_URL says: a PostgreSQL
    URL (or an env:/file: reference to one), and the schema that holds its tables."""

    url: str = ""
    schema: str = ""


def _method_defaults() -> MethodSettings:
    from quaynotify.methods import parse_method_settings

    return parse_method_settings({})


@dataclass(frozen=True)
class Settings:
    """The config's settings, typed, each table parsed once when the config is loaded: its
    own tables, and those the methods own (`methods[SMTP]`, handed to every method built)."""

    server: Server = Server()
    delivery: DeliverySettings = DeliverySettings()
    journal: JournalSettings = JournalSettings()
    methods: MethodSettings = field(default_factory=_method_defaults)
    state: StateSettings = StateSettings()


def parse_settings(doc: Mapping[str, Any], where: str) -> Settings:
    """The settings of the config document `doc`: its own tables checked (ConfigError,
    prefixed with `where`), and the methods' tables parsed by their methods. Those keep
    their problems until used: a bad [smtp] fails the e-mail rules and `config check`, not
    every command."""
    from quaynotify.methods import parse_method_settings

    server = _parse_table(doc, "server", Server, where)
    if server.scheme not in ("http", "https"):
        raise ConfigError(
            f'{where}: [server] scheme must be "http" or "https", got {server.scheme!r}'
        )
    delivery = _parse_table(doc, "delivery", DeliverySettings, where)
    _check_delivery(delivery, where)
    journal = _journal(doc, where)
    state = _state(doc, where)
    return Settings(server, delivery, journal, parse_method_settings(doc), state)


def _state(doc: Mapping[str, Any], where: str) -> StateSettings:
    from quaynotify.store.postgres import SCHEMA_NAME, is_state_url, mask_state_url

    state: StateSettings = _parse_table(doc, "state", StateSettings, where)
    url = state.url
    if url and not (is_state_url(url) or url.startswith(("env:", "file:"))):
        raise ConfigError(
            f"{where}: [state] url must be a PostgreSQL URL, "
            f"postgresql://USER:PASSWORD@HOST:PORT/DBNAME, or an env:/file: reference to one; "
            f"got {mask_state_url(url)!r}"
        )
    if state.schema and not SCHEMA_NAME.fullmatch(state.schema):
        raise ConfigError(
            f"{where}: [state] schema must be a PostgreSQL schema name (lower-case letters, "
            f"digits and _, not starting with a digit, at most 63), got {state.schema!r}"
        )
    return state


def _journal(doc: Mapping[str, Any], where: str) -> JournalSettings:
    journal = _table(doc, "journal", where)
    keep_days = journal.get("keep_days", 30)
    if (
        set(journal) - {"keep_days"}
        or not _is_number(keep_days)
        or not 0 <= keep_days < math.inf  # nan fails this too
    ):
        raise ConfigError(f"{where}: [journal] takes one key, keep_days, a number of days >= 0")
    return JournalSettings(float(keep_days))


def _table(doc: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {name!r} must be a table, written [{name}]")
    return table


def _parse_table(doc: Mapping[str, Any], name: str, cls: type[Any], where: str) -> Any:
    table = _table(doc, name, where)
    defaults = cls()
    values: dict[str, Any] = {}
    for key, value in table.items():
        if not hasattr(defaults, key):
            known = ", ".join(defaults.__dataclass_fields__)
            raise ConfigError(f"{where}: unknown key {key!r} in [{name}]: expected one of {known}")
        default = getattr(defaults, key)
        if isinstance(default, str):
            ok = isinstance(value, str)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = _is_number(value)
        if not ok:
            kind = {"str": "string", "int": "whole number", "float": "number"}
            raise ConfigError(
                f"{where}: [{name}] {key} must be a {kind[type(default).__name__]}, got {value!r}"
            )
        values[key] = float(value) if isinstance(default, float) else value
    return cls(**values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_delivery(d: DeliverySettings, where: str) -> None:
    day = f"at most {MAX_SECONDS:g} (a day)"
    # (ok, what the key must be); a comparison with nan is false, so nan is out of range too
    problems = {
        "timeout": (0 < d.timeout <= MAX_SECONDS, f"a number of seconds > 0 and {day}"),
        "max_attempts": (d.max_attempts >= 1, "a whole number >= 1"),
        "backoff": (0 <= d.backoff <= MAX_SECONDS, f"a number of seconds >= 0 and {day}"),
        "max_backoff": (0 <= d.max_backoff <= MAX_SECONDS, f"a number of seconds >= 0 and {day}"),
        "concurrency": (d.concurrency >= 1, "a whole number >= 1"),
        "disable_after": (d.disable_after >= 0, "a whole number >= 0"),
    }
    for key, (ok, expected) in problems.items():
        if not ok:
            raise ConfigError(
                f"{where}: [delivery] {key} is out of range: {getattr(d, key)!r}: "
                f"it must be {expected}"
            )
    if d.retry_on not in RETRY_ON:
        raise ConfigError(
            f'{where}: [delivery] retry_on must be "any" or "transient", got {d.retry_on!r}'
        )
