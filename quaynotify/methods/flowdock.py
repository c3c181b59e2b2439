"""The `flowdock` method: Quay's team-inbox message (a compatible service via `api_url`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quaynotify.errors import DeliveryError, ValidationError
from quaynotify.methods.base import (
    PATH_TOKEN,
    PATH_TOKEN_RULE,
    FieldSpec,
    Notification,
    RuleContext,
    Secret,
    unsendable_token,
)
from quaynotify.methods.hipchat import api_base
from quaynotify.methods.http import HttpMethod, HttpRequest
from quaynotify.methods.tables import Table

DEFAULT_API_URL = "https://api.flowdock.com"
# Quay's MAIL_DEFAULT_SENDER, used when [smtp] has no sender.
DEFAULT_SENDER = "admin@example.com"
# Quay's value, kept so that a receiver sees the payload Quay sends: it names the kind of
# system the message comes from, and Flowdock shows it as the message's source.
SOURCE = "Quay"


def _sender(doc: Mapping[str, Any]) -> str:
    # Read leniently: an [smtp] table that is malformed otherwise fails the e-mail rules,
    # not Flowdock's payload, which only names the sender.
    smtp = doc.get("smtp")
    sender = smtp.get("sender") if isinstance(smtp, Mapping) else None
    return sender if isinstance(sender, str) and sender else DEFAULT_SENDER


SENDER = Table(("smtp",), _sender)


class Flowdock(HttpMethod):
    name = "flowdock"
    title = "Flowdock Team Notification"
    tables = (*HttpMethod.tables, SENDER)
    fields = (
        FieldSpec(
            "flow_api_token",
            "Flowdock API token, https://www.flowdock.com/account/tokens (or env:NAME, file:PATH)",
            secret=True,
            option_help="flow API token (or env:NAME, file:PATH).",
        ),
        FieldSpec(
            "api_url",
            f"Flowdock API base URL [default: {DEFAULT_API_URL}, which has shut down]",
            required=False,
            option_help="API base URL [default: public API].",
        ),
    )

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        token = config.get("flow_api_token")
        if not token:
            raise ValidationError("Missing Flowdock API Token")
        if not isinstance(token, str) or unsendable_token(token, PATH_TOKEN):
            raise ValidationError(f"Invalid Flowdock API Token: it must be {PATH_TOKEN_RULE}")
        api_base(config, "Flowdock", DEFAULT_API_URL)

    def request(self, notification: Notification, secret: Secret) -> HttpRequest:
        token = secret("flow_api_token")
        if not token:
            raise DeliveryError(
                f"flow_api_token {self.masked('flow_api_token')} is empty", retryable=False
            )
        if unsendable_token(token, PATH_TOKEN):  # it is a segment of the URL's path
            raise DeliveryError(
                f"flow_api_token {self.masked('flow_api_token')} is not a valid token: it must"
                f" be {PATH_TOKEN_RULE}",
                retryable=False,
            )
        base = api_base(self.config, "Flowdock", DEFAULT_API_URL)
        namespace, _, name = notification.repository.partition("/")
        body = {
            "source": SOURCE,
            "from_address": self.settings[SENDER],
            "subject": notification.summary,
            "content": notification.html,
            "from_name": namespace,
            "project": f"{namespace} {name}",
            "tags": [f"#{notification.event}"],
            "link": notification.data.get("homepage"),
        }
        # The token is part of the path (Flowdock's API): `secrets` masks it wherever the
        # URL is shown.
        return HttpRequest(
            url=f"{base}/v1/messages/team_inbox/{token}",
            body=body,
            label="flowdock",
            secrets=(token,),
        )
