"""The `webhook` method: POST the event data, or a rendered JSON body template."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from quaynotify.errors import DeliveryError, QuaynotifyError, ValidationError
from quaynotify.methods import blocklist as blocklists
from quaynotify.methods.base import (
    NOT_HTTP,
    FieldSpec,
    Notification,
    RuleContext,
    Secret,
    url_problem,
)
from quaynotify.methods.blocklist import Blocklist
from quaynotify.methods.http import HttpMethod, HttpRequest, TlsSettings
from quaynotify.methods.tables import MethodSettings, Table

WEBHOOK_TABLE_KEYS = (
    "ca_bundle",
    "client_cert",
    "client_key",
    "client_key_password",
    "hostname_blocklist",
)
TLS_KEYS = ("client_cert", "client_key", "client_key_password")


# -- the [webhook] table ------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookSettings:
    """The [webhook] table, checked: the TLS settings of every webhook rule that has no
    client certificate of its own, and hostname_blocklist (methods/blocklist.py)."""

    tls: TlsSettings = field(default_factory=TlsSettings)
    blocklist: Blocklist | None = None  # None: no hostname_blocklist

    def tls_for(self, config: Mapping[str, Any]) -> TlsSettings:
        """Quay presents its own certificate on HTTPS webhooks; here it is configured in
        [webhook] client_cert/client_key (or per rule), with an optional private CA bundle.
        A rule's certificate comes with the rule's key and pass phrase, the table's with
        the table's."""
        if not config.get("client_cert"):
            return self.tls
        return TlsSettings(
            ca_bundle=self.tls.ca_bundle,
            client_cert=config.get("client_cert") or None,
            client_key=config.get("client_key") or None,
            client_key_password=config.get("client_key_password") or None,
        )


def parse_webhook(table: Any) -> WebhookSettings:
    """The [webhook] table (the document's value for "webhook"), checked; raises
    ValidationError. Whether its files exist and load is checked by Webhook.check_settings."""
    unknown = sorted(set(table) - set(WEBHOOK_TABLE_KEYS)) if isinstance(table, dict) else []
    if not isinstance(table, dict) or unknown:
        raise ValidationError(
            f"[webhook] takes the keys {', '.join(WEBHOOK_TABLE_KEYS)}"
            + (f"; {unknown[0]!r} is not one of them" if unknown else "")
        )
    entries = table.get("hostname_blocklist", [])
    if not isinstance(entries, list) or not all(isinstance(h, str) for h in entries):
        raise ValidationError(
            "[webhook] hostname_blocklist must be a list of host names, addresses"
            ' and networks, e.g. ["metadata.internal", "169.254.169.254", "10.0.0.0/8"]'
        )
    try:
        blocklist = blocklists.blocklist(entries)
    except blocklists.BlocklistError as exc:
        raise ValidationError(str(exc)) from None
    for key in ("ca_bundle", *TLS_KEYS):
        if not isinstance(table.get(key, ""), str):
            shown = "" if key == "client_key_password" else f", got {table[key]!r}"
            raise ValidationError(f"[webhook] {key} must be a string{shown}")
    _check_pair(table, "[webhook] ")
    tls = TlsSettings(
        ca_bundle=table.get("ca_bundle") or None,
        client_cert=table.get("client_cert") or None,
        client_key=table.get("client_key") or None,
        client_key_password=table.get("client_key_password") or None,
    )
    return WebhookSettings(tls, blocklist)


def _webhook_of(doc: Mapping[str, Any]) -> WebhookSettings:
    return parse_webhook(doc.get("webhook", {}))


WEBHOOK = Table(("webhook",), _webhook_of)


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

    tables = (*HttpMethod.tables, WEBHOOK)

    @classmethod
    def check_settings(cls, settings: MethodSettings) -> None:
        # The files are checked here, not when the table is parsed: that would load ssl
        # for every command.
        _check_tls(settings[WEBHOOK].tls, "[webhook] ")

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
        cls.check_settings(ctx.settings)  # every webhook rule needs a sound [webhook] table
        webhook = ctx.settings[WEBHOOK]
        # Quay blocks localhost and 127.0.0.1 because its webhooks run on a shared server; here
        # they run on the user's machine, where a local receiver is normal: the list is opt-in.
        # A literal address is refused here however it is written; a name's addresses are
        # checked when it is sent to (every HTTP method is).
        blocklist = webhook.blocklist
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
        _check_tls(webhook.tls_for(config), "")
        template = config.get("template")
        if template:
            if not isinstance(template, str):
                raise ValidationError("template must be a string holding a JSON document")
            from quaynotify.render import jsontemplate

            jsontemplate.validate(template)

    def tls(self) -> TlsSettings:
        return self.settings[WEBHOOK].tls_for(self.config)

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
