"""The `slack` method: Quay's incoming-webhook payload (summary + one mrkdwn attachment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from quaynotify.errors import DeliveryError, ValidationError
from quaynotify.methods.base import (
    MASK,
    NOT_HTTP,
    FieldSpec,
    Notification,
    RuleContext,
    Secret,
    is_reference,
    url_problem,
)
from quaynotify.methods.http import HttpMethod, HttpRequest

# Quay's SlackMethod colours; anything else (info included) is white.
COLORS = {"warning": "warning", "error": "danger", "success": "good", "primary": "good"}
DEFAULT_COLOR = "#ffffff"
# Quay posts as "quayiobot"; messages sent by this tool say so.
USERNAME = "quaynotify"
EXAMPLE = "https://hooks.slack.com/services/T000/B000/XXXX"


class Slack(HttpMethod):
    name = "slack"
    title = "Slack Notification"
    fields = (
        FieldSpec(
            "url",
            f"Slack incoming-webhook URL, e.g. {EXAMPLE} (it holds the token: "
            "prefer env:NAME or file:PATH)",
            secret=True,
            option_help="incoming-webhook URL.",
        ),
    )

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        url = config.get("url")
        if not url:
            raise ValidationError("Missing Slack Callback URL")
        # Quay checks nothing more, and a non-http URL then fails on every send; rejecting it
        # now costs nothing, since no Slack URL is anything but https. A reference is checked
        # once resolved, at send time. The URL is a secret: the message never repeats it.
        problem = None if is_reference(str(url)) else url_problem(str(url))
        if problem is not None:
            raise ValidationError(f"Invalid Slack Callback URL: {_explained(problem)}")

    def request(self, notification: Notification, secret: Secret) -> HttpRequest:
        url = secret("url")
        secrets: tuple[str, ...] = ()
        # In a preview `secret` gives the mask or the reference itself: shown as they are.
        if url != MASK and not is_reference(url):
            problem = url_problem(url)
            if problem is not None:
                raise DeliveryError(
                    f"Invalid Slack Callback URL from {self.masked('url')}: {_explained(problem)}",
                    retryable=False,
                )
            # The token is the path: show the scheme and host, mask everything after them.
            secrets = (_after_host(url),)
        # Slack acts on "<!channel>" and "<https://x|y>" in any text field: event data in the
        # summary is escaped as Slack documents (the attachment's mrkdwn is escaped already).
        summary = slack_text(notification.summary)
        body = {
            "text": summary,
            "username": USERNAME,
            "attachments": [
                {
                    "fallback": summary,
                    "text": notification.mrkdwn,
                    "color": COLORS.get(notification.level, DEFAULT_COLOR),
                    "mrkdwn_in": ["text"],
                }
            ],
        }
        return HttpRequest(url=url, body=body, label="Slack", secrets=secrets)


def slack_text(value: str) -> str:
    """`value` with &, < and > escaped, as Slack asks of every text it should not act on."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _explained(problem: str) -> str:
    return f"{problem}, e.g. {EXAMPLE}" if problem == NOT_HTTP else problem


def _after_host(url: str) -> str:
    """What follows `scheme://host/`; the whole URL when it has no such shape."""
    parts = urlsplit(url)
    prefix = f"{parts.scheme}://{parts.netloc}/"
    tail = url[len(prefix) :]
    return tail if url[: len(prefix)].lower() == prefix.lower() and tail else url
