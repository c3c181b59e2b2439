"""The `webhook` method: POST the event data, or a rendered JSON body template."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from quaynotify.errors import DeliveryError, QuaynotifyError, ValidationError
from quaynotify.methods.base import (
    NOT_HTTP,
    FieldSpec,
    Notification,
    RuleContext,
    Secret,
    url_problem,
)
from quaynotify.methods.http import HttpMethod, HttpRequest, TlsSettings

WEBHOOK_TABLE_KEYS = (
    "ca_bundle",
    "client_cert",
    "client_key",
    "client_key_password",
    "hostname_blocklist",
)
TLS_KEYS = ("client_cert", "client_key", "client_key_password")


class Webhook(HttpMethod):
    name = "webhook"
    title = "Webhook POST"
    needs_messages = False
    fields = (
        FieldSpec(
            "url",
            "Webhook URL: JSON metadata representing the event is POSTed to it",
            option_help="URL to POST to.",
        ),
        FieldSpec(
            "template",
            "POST body template: a JSON document with ${jsonpath} expressions (Quay's language)",
            required=False,
            option_help="JSON body template with ${jsonpath} expressions "
            "(inline, or @FILE, or @- for stdin).",
            from_file=True,
        ),
        FieldSpec(
            "client_cert",
            "client certificate (PEM) presented over HTTPS, overriding [webhook] client_cert",
            required=False,
            option_help="client certificate (PEM) for this rule.",
        ),
        FieldSpec(
            "client_key",
            "private key (PEM) of client_cert, overriding [webhook] client_key",
            required=False,
            option_help="private key (PEM) of --client-cert.",
        ),
        FieldSpec(
            "client_key_password",
            "pass phrase of an encrypted client_key (or env:NAME, file:PATH)",
            required=False,
            secret=True,
            option_help="pass phrase of an encrypted --client-key; env:NAME or file:PATH "
            "keep it out of shell history.",
        ),
    )

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        table = settings.get("webhook", {})
        unknown = sorted(set(table) - set(WEBHOOK_TABLE_KEYS)) if isinstance(table, dict) else []
        if not isinstance(table, dict) or unknown:
            raise ValidationError(
                f"[webhook] takes the keys {', '.join(WEBHOOK_TABLE_KEYS)}"
                + (f"; {unknown[0]!r} is not one of them" if unknown else "")
            )
        blocklist = table.get("hostname_blocklist", [])
        if not isinstance(blocklist, list) or not all(isinstance(h, str) for h in blocklist):
            raise ValidationError(
                "[webhook] hostname_blocklist must be a list of host names, addresses"
                ' and networks, e.g. ["metadata.internal", "169.254.169.254", "10.0.0.0/8"]'
            )
        from quaynotify.methods import blocklist as blocklists

        try:
            blocklists.blocklist(settings)
        except blocklists.BlocklistError as exc:
            raise ValidationError(str(exc)) from None
        for key in ("ca_bundle", *TLS_KEYS):
            if not isinstance(table.get(key, ""), str):
                shown = "" if key == "client_key_password" else f", got {table[key]!r}"
                raise ValidationError(f"[webhook] {key} must be a string{shown}")
        _check_pair(table, "[webhook] ")
        _check_tls(_tls({}, settings), "[webhook] ")

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        url = config.get("url")
        if not url:
            raise ValidationError("Missing webhook URL")
        problem = url_problem(url) if isinstance(url, str) else NOT_HTTP
        if problem is not None:
            # Quay's message, and what is wrong when it is more than "not a URL"
            raise ValidationError(
                "Invalid webhook URL" + ("" if problem == NOT_HTTP else f": {problem}")
            )
        parts = urlsplit(url)
        assert parts.hostname is not None
        cls.check_settings(ctx.settings)
        # Quay blocks localhost and 127.0.0.1 because its webhooks run on a shared server; here
        # they run on the user's machine, where a local receiver is normal: the list is opt-in.
        # A literal address is refused here however it is written; a name's addresses are
        # checked when it is sent to (every HTTP method is).
        from quaynotify.methods import blocklist as blocklists

        blocklist = blocklists.blocklist(ctx.settings)
        reason = blocklist.refuses_host(parts.hostname) if blocklist else None
        if reason is not None:
            raise ValidationError(
                f"Invalid webhook URL: refused by [webhook] hostname_blocklist ({reason})"
            )
        for key in TLS_KEYS:
            if not isinstance(config.get(key, ""), str):
                raise ValidationError(f"{key} must be a string (a file name)")
        # The rule's key and pass phrase go with the rule's certificate: without it they
        # would be dropped in silence (the table's certificate has a key of its own).
        _check_pair(config, "")
        _check_tls(_tls(config, ctx.settings), "")
        template = config.get("template")
        if template:
            if not isinstance(template, str):
                raise ValidationError("template must be a string holding a JSON document")
            from quaynotify.render import jsontemplate

            jsontemplate.validate(template)

    def tls(self) -> TlsSettings:
        return _tls(self.config, self.settings)

    def request(self, notification: Notification, secret: Secret) -> HttpRequest:
        body: Any = notification.data
        template = self.config.get("template")
        if template:
            from quaynotify.render import jsontemplate

            try:
                body = jsontemplate.render(template, notification.data)
            except QuaynotifyError as exc:  # the data does not fit the template: retry won't help
                raise DeliveryError(f"template: {exc}", retryable=False) from None
        return HttpRequest(url=self.config["url"], body=body, label="webhook")


def _check_pair(table: Mapping[str, Any], where: str) -> None:
    if table.get("client_cert"):
        return
    for key in ("client_key", "client_key_password"):
        if table.get(key):
            if where:
                raise ValidationError(
                    f"{where}{key} is set without {where}client_cert: it would be ignored;"
                    f" set client_cert too, or remove {key}"
                )
            option = key.replace("_", "-")
            raise ValidationError(
                f"{key} (--{option}) is set without client_cert (--client-cert): it would be"
                " ignored; give both, or neither"
            )


def _check_tls(tls: TlsSettings, where: str) -> None:
    for key in ("ca_bundle", "client_cert", "client_key"):
        value = getattr(tls, key)
        if value and not os.path.isfile(os.path.expanduser(value)):
            raise ValidationError(f"{where}{key} {value}: no such file")
    problem = tls.client_cert_problem()
    if problem:
        raise ValidationError(f"{where}{problem}")


def _tls(config: Mapping[str, Any], settings: Mapping[str, Any]) -> TlsSettings:
    """Quay presents its own certificate on HTTPS webhooks; here it is configured in
    [webhook] client_cert/client_key (or per rule), with an optional private CA bundle.
    A rule's certificate comes with the rule's key and pass phrase, the table's with the
    table's."""
    table = settings.get("webhook", {})
    table = table if isinstance(table, dict) else {}
    own = config if config.get("client_cert") else table
    return TlsSettings(
        ca_bundle=table.get("ca_bundle") or None,
        client_cert=own.get("client_cert") or None,
        client_key=own.get("client_key") or None,
        client_key_password=own.get("client_key_password") or None,
    )
