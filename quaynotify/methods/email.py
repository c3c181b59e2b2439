"""The `email` method: a multipart text + HTML message of an event to an address that is
authorized for the repository, sent through the SMTP helper (smtp.py)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from quaynotify.errors import DeliveryError, ValidationError
from quaynotify.hints import authorize_command
from quaynotify.methods.base import (
    MASK,
    FieldSpec,
    Method,
    Notification,
    Preview,
    RuleContext,
    SendContext,
    Sent,
)
from quaynotify.methods.smtp import (
    ADDRESS,
    PERMANENT,
    SMTP,
    Mail,
    header_text,
    send_mail,
)
from quaynotify.methods.tables import MethodSettings

NOT_AUTHORIZED = (
    "The specified e-mail address is not authorized to receive notifications for this repository"
)


def check_address(address: Any) -> str:
    """The address of an `email` rule or authorization, or ValidationError (Quay's message
    when it is missing)."""
    if address is None or address == "":
        raise ValidationError("Missing e-mail address")
    if not isinstance(address, str) or not ADDRESS.fullmatch(address):
        raise ValidationError(
            f"Invalid e-mail address {address!r}: give one address, such as dev@example.com"
        )
    return address


# -- the method ---------------------------------------------------------------------------------


class Email(Method):
    name = "email"
    title = "E-mail"
    fields = (
        FieldSpec(
            "email",
            "E-mail address; authorize it for the repository first"
            " (`quaynotify email authorize NS/NAME ADDRESS`)",
            option_help="the address (authorize it first: `email authorize`).",
        ),
    )

    tables = (SMTP,)

    @classmethod
    def check_settings(cls, settings: MethodSettings) -> None:
        settings[SMTP]  # raises the [smtp] table's problem, if it has one

    @classmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        address = check_address(config.get("email"))
        ctx.settings[SMTP]  # a rule needs a sound [smtp] table
        # As in Quay, authorization is checked when the rule is created, never at send time.
        if ctx.authorized is not None and not ctx.authorized(ctx.repository, address):
            raise ValidationError(
                f"{NOT_AUTHORIZED}: run `{authorize_command(ctx.repository, address)}`"
            )

    def mail(self, notification: Notification) -> Mail:
        text = notification.text or notification.summary
        # A multipart/alternative needs both parts; until a message is rendered, the HTML
        # part is the text, escaped.
        body = notification.html or "<p>{}</p>".format(html.escape(text).replace("\n", "<br>\n"))
        return Mail(
            to=self.config["email"],
            subject=notification.summary,
            text=text,
            html=body,
            headers=(("X-Quaynotify-Delivery-Id", notification.delivery_id),),
        )

    def preview(self, notification: Notification) -> Preview:
        smtp = self.settings[SMTP]
        mail = self.mail(notification)
        target = f"SMTP {smtp.host or '(no [smtp] host)'}:{smtp.port} ({smtp.security})"
        if smtp.username:
            target += f" as {smtp.username} (password {MASK})"
        headers = {
            "From": smtp.sender or "(no [smtp] sender)",
            "To": mail.to,
            "Subject": header_text(mail.subject),
            "Content-Type": "multipart/alternative (text/plain, text/html)",
            **dict(mail.headers),
        }
        return Preview(self.name, target, headers, mail.text)

    def send(self, notification: Notification, ctx: SendContext) -> Sent:
        smtp = self.settings[SMTP]
        problem = smtp.sending_problem()
        if problem:
            raise DeliveryError(f"{problem} {PERMANENT}", retryable=False)
        return send_mail(smtp, self.mail(notification), timeout=min(ctx.timeout, smtp.timeout))
