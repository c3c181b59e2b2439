"""The `hipchat` method: Quay's HipChat v2 room notification (HipChat Server via `api_url`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from quaynotify.errors import DeliveryError, ValidationError
from quaynotify.masking import mask_url
from quaynotify.methods.base import (
    HEADER_TOKEN,
    HEADER_TOKEN_RULE,
    NOT_HTTP,
    FieldSpec,
    Notification,
    RuleContext,
    Secret,
    unsendable_token,
    url_problem,
)
from quaynotify.methods.http import HttpMethod, HttpRequest

DEFAULT_API_URL = "https://api.hipchat.com"
# Quay's HipchatMethod colours by event level.
COLORS = {
    "info": "gray",
    "warning": "yellow",
    "error": "red",
    "success": "green",
    "primary": "purple",
}
DEFAULT_COLOR = "gray"


class Hipchat(HttpMethod):
    name = "hipchat"
    title = "HipChat Room Notification"
    fields = (
        FieldSpec(
            "room_id",
            "Room ID #: the HipChat room number, not its name",
            option_help="the room number.",
        ),
        FieldSpec(
            "notification_token",
            "Room Notification Token (or env:NAME, file:PATH)",
            secret=True,
            option_help="room notification token (or env:NAME, file:PATH).",
        ),
        FieldSpec(
            "api_url",
            f"HipChat Server base URL [default: {DEFAULT_API_URL}, which has shut down]",
            required=False,
            option_help="API base URL [default: public API].",
        ),
    )

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        # Quay's order: the token first, then the room.
        token = config.get("notification_token")
        if not token:
            raise ValidationError("Missing Hipchat Room Notification Token")
        if not isinstance(token, str) or unsendable_token(token, HEADER_TOKEN):
            raise ValidationError(
                f"Invalid Hipchat Room Notification Token: it must be {HEADER_TOKEN_RULE}"
            )
        room_id = config.get("room_id")
        if room_id is None or room_id == "":
            raise ValidationError("Missing Hipchat Room ID")
        # Quay's UI pattern ^[0-9]+$ (its API accepts a name and then posts to a wrong URL).
        if isinstance(room_id, bool) or not re.fullmatch(r"[0-9]+", str(room_id)):
            raise ValidationError(
                f"Invalid Hipchat Room ID {str(room_id)!r}: We require the HipChat room number, "
                "not name (digits only, e.g. 12345)."
            )
        api_base(config, "Hipchat")

    def request(self, notification: Notification, secret: Secret) -> HttpRequest:
        token = secret("notification_token")
        if not token:
            raise DeliveryError(
                f"notification_token {self.masked('notification_token')} is empty",
                retryable=False,
            )
        if unsendable_token(token, HEADER_TOKEN):  # an Authorization header cannot carry it
            raise DeliveryError(
                f"notification_token {self.masked('notification_token')} is not a valid token:"
                f" it must be {HEADER_TOKEN_RULE}",
                retryable=False,
            )
        url = f"{api_base(self.config, 'Hipchat')}/v2/room/{self.config['room_id']}/notification"
        body = {
            "color": COLORS.get(notification.level, DEFAULT_COLOR),
            "message": notification.html,
            "notify": notification.level == "error",
            "message_format": "html",
        }
        # Quay puts the token in the query string (?auth_token=), where proxies and server
        # logs keep it; HipChat's v2 API takes it as a bearer token too.
        return HttpRequest(
            url=url,
            body=body,
            label="hipchat",
            headers={"Authorization": f"Bearer {token}"},
            secrets=(token,),
        )


def api_base(config: Mapping[str, Any], label: str, default: str = DEFAULT_API_URL) -> str:
    """The configured `api_url` (else `default`) without trailing slashes; a ValidationError
    naming the key when it is not an http(s) base URL with a host. Flowdock uses it too."""
    value = config.get("api_url")
    if value is None or value == "":
        return default
    problem = f"Invalid {label} API URL {mask_url(str(value))!r}: api_url must be"
    if not isinstance(value, str):
        raise ValidationError(f"{problem} a string, e.g. {default}")
    reason = url_problem(value)
    if reason == NOT_HTTP:
        raise ValidationError(f"{problem} an http(s) URL with a host, e.g. {default}")
    if reason is not None:
        raise ValidationError(f"Invalid {label} API URL {mask_url(value)!r}: {reason}")
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise ValidationError(f"{problem} a base URL without a query or fragment, e.g. {default}")
    return value.rstrip("/")
