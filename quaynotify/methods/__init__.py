"""The method registry: Quay's wire name -> class. Adding a method is one line here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quaynotify.errors import UsageError
from quaynotify.methods.base import MASK, Method, mask_secret, mask_url
from quaynotify.methods.email import Email
from quaynotify.methods.flowdock import Flowdock
from quaynotify.methods.hipchat import Hipchat
from quaynotify.methods.quay_notification import QuayNotification
from quaynotify.methods.slack import Slack
from quaynotify.methods.tables import MethodSettings, Table
from quaynotify.methods.webhook import Webhook

METHODS: dict[str, type[Method]] = {
    Webhook.name: Webhook,
    QuayNotification.name: QuayNotification,
    Flowdock.name: Flowdock,
    Hipchat.name: Hipchat,
    Slack.name: Slack,
    Email.name: Email,
}


def method_tables() -> tuple[Table[Any], ...]:
    """Every table of the config document that a registered method reads, in registry order."""
    return tuple(dict.fromkeys(table for m in METHODS.values() for table in m.tables))


def parse_method_settings(doc: Mapping[str, Any]) -> MethodSettings:
    """Every table the registered methods read, parsed from the config document `doc` (once:
    the config's loader does it, and hands the result to every method it builds)."""
    return MethodSettings.parse(doc, method_tables())


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
