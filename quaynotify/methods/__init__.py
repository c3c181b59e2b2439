"""The method registry: Quay's wire name -> class. Adding a method is one line in PLACES.

A method's module is imported when a command first asks for that method (`METHODS["slack"]`):
`emit` imports only the methods its rules use; listing the methods imports them all."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from quaynotify.errors import UsageError
from quaynotify.masking import mask_url
from quaynotify.methods.base import MASK, Method, mask_secret
from quaynotify.methods.tables import MethodSettings, Table

# Where each method's class lives, in the order the methods are listed.
PLACES: dict[str, str] = {
    "webhook": "quaynotify.methods.webhook:Webhook",
    "quay_notification": "quaynotify.methods.quay_notification:QuayNotification",
    "flowdock": "quaynotify.methods.flowdock:Flowdock",
    "hipchat": "quaynotify.methods.hipchat:Hipchat",
    "slack": "quaynotify.methods.slack:Slack",
    "email": "quaynotify.methods.email:Email",
}
# The top-level keys of the config document that the methods' tables read: what the loader
# accepts without importing a method. Each method's `tables` declares them (Table.keys);
# tests/test_settings.py checks that the two agree.
TABLE_KEYS: tuple[str, ...] = ("smtp", "webhook", "teams", "orgs")


class Registry(Mapping[str, type[Method]]):
    """Wire name -> method class, each class imported on first use. Names, order and
    membership are known without importing any; a class may also be registered directly
    (a test's throwaway method)."""

    def __init__(self, places: Mapping[str, str]) -> None:
        self._places = dict(places)
        self._loaded: dict[str, type[Method]] = {}

    def __getitem__(self, name: str) -> type[Method]:
        loaded = self._loaded.get(name)
        if loaded is None:
            module, _, attribute = self._places[name].partition(":")
            loaded = self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return loaded

    def __setitem__(self, name: str, method: type[Method]) -> None:
        self._places.setdefault(name, f"{method.__module__}:{method.__qualname__}")
        self._loaded[name] = method

    def __delitem__(self, name: str) -> None:
        del self._places[name]
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._places

    def __iter__(self) -> Iterator[str]:
        return iter(self._places)

    def __len__(self) -> int:
        return len(self._places)

    def loaded(self) -> tuple[str, ...]:
        """The names whose classes have been imported so far."""
        return tuple(name for name in self._places if name in self._loaded)


METHODS = Registry(PLACES)


def method_tables() -> tuple[Table[Any], ...]:
    """Every table of the config document that a registered method reads, in registry order
    (this imports every method)."""
    return tuple(dict.fromkeys(table for m in METHODS.values() for table in m.tables))


def parse_method_settings(doc: Mapping[str, Any]) -> MethodSettings:
    """The methods' tables of the config document `doc`, each parsed once, when a method
    built from the config first reads it (the loader hands the result to every method)."""
    return MethodSettings(doc)


def get_method(name: str) -> type[Method]:
    try:
        return METHODS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, METHODS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(
            f"unknown method {name!r}{hint}: run `quaynotify methods` to list them"
        ) from None


def mask_config(method: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Secret fields masked (references kept), and in every URL-valued field (`url`,
    `api_url`, ...) a userinfo password and the query values."""
    cls = METHODS.get(method)
    secret = {f.name for f in cls.fields if f.secret} if cls else set(config)
    masked = {}
    for key, value in config.items():
        if key in secret:
            masked[key] = mask_secret(str(value))
        elif isinstance(value, str) and "://" in value:
            masked[key] = _mask_url(value)
        else:
            masked[key] = value
    return masked


def _mask_url(value: str) -> str:
    """mask_url for a value that is a URL with a host; anything else (a webhook template
    that holds URLs, a reference) as it is."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. a stray bracket: its password cannot be told from its host
        return MASK
    return mask_url(value) if parts.scheme and parts.netloc else value
