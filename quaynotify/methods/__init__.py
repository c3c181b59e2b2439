"""The method registry: Quay's wire name -> class. Adding a method is one line here."""

from __future__ import annotations

from quaynotify.errors import UsageError
from quaynotify.methods.base import Method
from quaynotify.methods.email import Email
from quaynotify.methods.flowdock import Flowdock
from quaynotify.methods.hipchat import Hipchat
from quaynotify.methods.quay_notification import QuayNotification
from quaynotify.methods.slack import Slack
from quaynotify.methods.webhook import Webhook

METHODS: dict[str, type[Method]] = {
    Webhook.name: Webhook,
    QuayNotification.name: QuayNotification,
    Flowdock.name: Flowdock,
    Hipchat.name: Hipchat,
    Slack.name: Slack,
    Email.name: Email,
}


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
