"""The `webhook` method: POST the event data, or a rendered JSON body template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from quaynotify.errors import DeliveryError, QuaynotifyError, ValidationError
from quaynotify.methods.base import FieldSpec, HttpMethod, HttpRequest, Notification, Secret


class Webhook(HttpMethod):
    name = "webhook"
    title = "Webhook POST"
    fields = (
        FieldSpec("url", "Webhook URL: JSON metadata representing the event is POSTed to it"),
        FieldSpec(
            "template",
            "POST body template: a JSON document with ${jsonpath} expressions (Quay's language)",
            required=False,
        ),
    )

    @classmethod
    def validate(
        cls, config: Mapping[str, Any], settings: Mapping[str, Any], *, repository: str
    ) -> None:
        url = config.get("url")
        if not url:
            raise ValidationError("Missing webhook URL")
        if not isinstance(url, str):
            raise ValidationError("Invalid webhook URL")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            raise ValidationError("Invalid webhook URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("Invalid webhook URL")
        # Quay blocks localhost and 127.0.0.1 because its webhooks run on a shared server; here
        # they run on the user's machine, where a local receiver is normal: the list is opt-in.
        blocked = [h.lower() for h in _blocklist(settings)]
        if parts.hostname.lower() in blocked:
            raise ValidationError("Invalid webhook URL")
        template = config.get("template")
        if template:
            if not isinstance(template, str):
                raise ValidationError("template must be a string holding a JSON document")
            from quaynotify import jsontemplate

            jsontemplate.validate(template)

    def request(self, notification: Notification, secret: Secret) -> HttpRequest:
        body: Any = notification.data
        template = self.config.get("template")
        if template:
            from quaynotify import jsontemplate

            try:
                body = jsontemplate.render(template, notification.data)
            except QuaynotifyError as exc:  # the data does not fit the template: retry won't help
                raise DeliveryError(f"template: {exc}", retryable=False) from None
        return HttpRequest(url=self.config["url"], body=body, label="webhook")


def _blocklist(settings: Mapping[str, Any]) -> list[str]:
    table = settings.get("webhook", {})
    value = table.get("hostname_blocklist", []) if isinstance(table, dict) else []
    return [str(v) for v in value] if isinstance(value, list) else []
