"""The [smtp] settings and the one SMTP helper that sends a mail (an event's, or the
authorization e-mail) over verified TLS, classifying replies for the retry loop."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quaynotify.errors import ConfigError, DeliveryError
from quaynotify.methods.base import MASK, Sent, resolve_secret
from quaynotify.methods.tables import Table

if TYPE_CHECKING:
    import smtplib
    import ssl
    from email.message import EmailMessage

    from quaynotify.methods.network import Watchdog

SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
SMTP_KEYS = ("host", "port", "security", "username", "password", "sender", "timeout", "ca_bundle")
# One address, nothing that could smuggle a second one or a header in: not RFC 5322's whole
# grammar (Quay's server checks nothing), but every obviously malformed value is caught.
ADDRESS = re.compile(r"[^@\s,;:<>()\[\]\"\\]+@[^@\s,;:<>()\[\]\"\\]+")
# Control characters (and Unicode line breaks) would end a header line: never let one through.
_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
PERMANENT = "(permanent: not retried)"
TEMPORARY = "(temporary)"


# -- the [smtp] table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """The [smtp] table, checked. `password` is as written (maybe env:/file:), resolved only
    when sending."""

    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    sender: str = ""
    timeout: float = 10.0
    ca_bundle: str = ""

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def sending_problem(self) -> str | None:
        """Why mail cannot be sent with these settings (None: it can be tried)."""
        missing = [k for k in ("host", "sender") if not getattr(self, k)]
        if missing:
            return (
                f"[smtp] {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set:"
                " add the [smtp] table to the config (host, sender; see the README)"
            )
        if self.ca_bundle and not os.path.isfile(os.path.expanduser(self.ca_bundle)):
            return f"[smtp] ca_bundle {self.ca_bundle} is not a file: give the CA's PEM file"
        return None

    def require_sending(self) -> None:
        problem = self.sending_problem()
        if problem:
            raise ConfigError(problem)


def parse_smtp(table: Any) -> SmtpSettings:
    """The [smtp] table (the document's value for "smtp"), checked; raises ConfigError (one
    line)."""
    if not isinstance(table, Mapping):
        raise ConfigError("'smtp' must be a table, written [smtp]")
    for key in table:
        if key not in SMTP_KEYS:
            raise ConfigError(f"[smtp] unknown key {key!r}: expected one of {', '.join(SMTP_KEYS)}")
    for key in ("host", "security", "username", "sender", "ca_bundle"):
        if not isinstance(table.get(key, ""), str):
            raise ConfigError(f"[smtp] {key} must be a string, got {table[key]!r}")
    if not isinstance(table.get("password", ""), str):
        # never echo the value: it is the password
        raise ConfigError("[smtp] password must be a string: a literal, env:NAME or file:PATH")
    security = table.get("security", "starttls")
    if security not in SECURITY_PORTS:
        raise ConfigError(f'[smtp] security must be "starttls", "ssl" or "none", got {security!r}')
    port = table.get("port", SECURITY_PORTS[security])
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError(f"[smtp] port must be a whole number from 1 to 65535, got {port!r}")
    timeout = table.get("timeout", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"[smtp] timeout must be a number of seconds > 0, got {timeout!r}")
    if not timeout <= 86400:  # inf, nan or 1e308 would overflow the socket's timeout
        raise ConfigError(f"[smtp] timeout must be at most 86400 seconds (a day), got {timeout!r}")
    username, password = table.get("username", ""), table.get("password", "")
    if bool(username) != bool(password):
        raise ConfigError("[smtp] username and password go together: set both, or neither")
    if password and security == "none":
        raise ConfigError(
            '[smtp] security = "none" would send the password in clear text:'
            ' use "starttls" or "ssl", or remove username and password'
        )
    sender = table.get("sender", "")
    if sender:
        from email.utils import parseaddr

        if _HEADER_BREAKS.search(sender) or not ADDRESS.fullmatch(parseaddr(sender)[1]):
            raise ConfigError(
                f"[smtp] sender {sender!r} is not an e-mail address:"
                ' write it like "quay@example.com" or "Quay <quay@example.com>"'
            )
    return SmtpSettings(
        host=table.get("host", ""),
        port=port,
        security=security,
        username=username,
        password=password,
        sender=sender,
        timeout=float(timeout),
        ca_bundle=table.get("ca_bundle", ""),
    )


def _smtp_of(doc: Mapping[str, Any]) -> SmtpSettings:
    return parse_smtp(doc.get("smtp", {}))


SMTP = Table(("smtp",), _smtp_of)


# -- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One e-mail to one address: a text part and an HTML part."""

    to: str
    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()


def header_text(value: str) -> str:
    """A value safe for one header line: event data may hold newlines, which must not start
    a header of their own."""
    return " ".join(_HEADER_BREAKS.sub(" ", value).split())


def build_message(sender: str, mail: Mail) -> EmailMessage:
    """The multipart/alternative message, 7-bit clean (quoted-printable parts, RFC 2047
    headers) so that any server takes it."""
    from email import policy
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid, parseaddr

    msg = EmailMessage(policy=policy.SMTP.clone(cte_type="7bit"))
    msg["Subject"] = header_text(mail.subject)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Date"] = formatdate(localtime=True)
    # The sender's domain: make_msgid's default asks DNS for this host's FQDN.
    msg["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to notifications
    for name, value in mail.headers:
        msg[name] = header_text(value)
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


def send_mail(smtp: SmtpSettings, mail: Mail, *, timeout: float) -> Sent:
    """Send `mail` in one SMTP session: TLS always verified, AUTH when a username is set.
    Returns the final reply, or raises a DeliveryError whose `status` is the SMTP reply code:
    4xx and network trouble are temporary (retryable), 5xx permanent.

    The whole session ends within `timeout`: smtplib's own timeout bounds each socket
    operation only, so a server dripping its replies would never trip it; a watchdog shuts
    the connection down when the time is up."""
    from quaynotify.methods.network import Watchdog

    password = resolve_secret(smtp.password, "[smtp] password") if smtp.username else ""
    secrets = (password,)
    msg = build_message(smtp.sender, mail)
    with Watchdog(timeout) as watchdog:
        try:
            return _session(smtp, mail, msg, password, watchdog)
        except DeliveryError:
            raise
        except Exception as exc:
            if watchdog.expired:
                reason = f"timed out after {timeout:g}s"
                raise _error(reason, smtp, None, True, secrets) from None
            raise _classify(exc, smtp, secrets, timeout) from None


def _session(
    smtp: SmtpSettings, mail: Mail, msg: EmailMessage, password: str, watchdog: Watchdog
) -> Sent:
    client: smtplib.SMTP | None = None
    sent = False
    try:
        context = _tls_context(smtp) if smtp.security != "none" else None
        client = _client(smtp, context, watchdog)
        client.ehlo_or_helo_if_needed()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()  # the capabilities offered before TLS no longer count
        if smtp.username:
            try:
                client.login(smtp.username, password)
            except UnicodeError:
                raise _Failed(
                    None, "[smtp] username and password must be ASCII for SMTP AUTH", False
                ) from None
        code, reply = _transfer(client, smtp, mail.to, msg)
        sent = True
    finally:
        if client is not None:
            _close(client, polite=sent)
    return Sent(code, f"{code} {reply}".strip())


def _client(smtp: SmtpSettings, context: ssl.SSLContext | None, watchdog: Watchdog) -> smtplib.SMTP:
    """A connected client whose socket the watchdog can shut down, the name looked up within
    the session's time as well."""
    import smtplib

    from quaynotify.methods import network

    def connect(host: str, port: int, timeout: float, source: Any) -> Any:
        sock = network.connect(host, port, max(0.001, min(timeout, watchdog.left())), source)
        watchdog.watch(sock)
        return sock

    class Client(smtplib.SMTP):
        def _get_socket(self, host: str, port: int, timeout: float) -> Any:
            return connect(host, port, timeout, self.source_address)

    class SslClient(smtplib.SMTP_SSL):
        def _get_socket(self, host: str, port: int, timeout: float) -> Any:
            sock = connect(host, port, timeout, self.source_address)
            return self.context.wrap_socket(sock, server_hostname=smtp.host)

    if smtp.security == "ssl":
        return SslClient(smtp.host, smtp.port, timeout=watchdog.timeout, context=context)
    return Client(smtp.host, smtp.port, timeout=watchdog.timeout)


def _classify(
    exc: Exception, smtp: SmtpSettings, secrets: tuple[str, ...], timeout: float
) -> DeliveryError:
    import smtplib
    import ssl

    if isinstance(exc, _Failed):
        return _error(exc.reason, smtp, exc.code, exc.retryable, secrets)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        reason = f"authentication as {smtp.username} failed: {_reply(exc.smtp_error)}"
        hint = ": check [smtp] username and password"
        return _error(reason, smtp, exc.smtp_code, False, secrets, hint)
    if isinstance(exc, smtplib.SMTPResponseException):
        retryable = not 500 <= exc.smtp_code < 600
        return _error(_reply(exc.smtp_error), smtp, exc.smtp_code, retryable, secrets)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        reason = f"the server closed the connection ({exc or 'no reason given'})"
        return _error(reason, smtp, None, True, secrets)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        hint = ": check [smtp] security (STARTTLS and AUTH must be offered)"
        return _error(str(exc), smtp, None, False, secrets, hint)
    if isinstance(exc, smtplib.SMTPException):
        return _error(str(exc), smtp, None, False, secrets)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = f"TLS certificate not trusted ({exc.verify_message or exc.reason})"
        hint = ": for a private CA, set [smtp] ca_bundle"
        return _error(reason, smtp, None, False, secrets, hint)
    if isinstance(exc, ssl.SSLError):
        reason = f"TLS failed ({exc.reason or exc})"
        hint = ": check [smtp] security and port (465 is usually ssl, 587 starttls)"
        return _error(reason, smtp, None, False, secrets, hint)
    if isinstance(exc, TimeoutError):
        return _error(f"timed out after {timeout:g}s", smtp, None, True, secrets)
    if isinstance(exc, OSError):
        reason = f"connection failed ({exc.strerror or exc})"
        return _error(reason, smtp, None, True, secrets)
    raise exc


class _Failed(Exception):
    """A refusal found in the middle of the exchange, classified by its reply code."""

    def __init__(self, code: int | None, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.code, self.reason, self.retryable = code, reason, retryable


def _transfer(
    client: smtplib.SMTP, smtp: SmtpSettings, to: str, msg: EmailMessage
) -> tuple[int, str]:
    """MAIL, RCPT, DATA step by step (sendmail() hides the final reply code)."""
    from email import policy
    from email.utils import parseaddr

    envelope_from = parseaddr(smtp.sender)[1]
    options: list[str] = []
    data = msg.as_bytes()
    if not (to.isascii() and envelope_from.isascii()):
        # An address that is not ASCII cannot be encoded in a header: only SMTPUTF8 carries it.
        if not client.has_extn("smtputf8"):
            raise _Failed(None, f"the server does not offer SMTPUTF8, needed for {to}", False)
        options = ["SMTPUTF8", "BODY=8BITMIME"]
        data = msg.as_bytes(policy=policy.SMTPUTF8)
    code, reply = client.mail(envelope_from, options)
    _check(code, reply, (250,), f"sender {envelope_from} refused")
    code, reply = client.rcpt(to)
    _check(code, reply, (250, 251), f"recipient {to} refused")
    code, reply = client.data(data)
    _check(code, reply, (250,), "message refused")
    return code, _reply(reply)


def _check(code: int, reply: bytes, ok: tuple[int, ...], what: str) -> None:
    if code not in ok:
        raise _Failed(code, f"{what}: {_reply(reply)}", not 500 <= code < 600)


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    import ssl

    from quaynotify.methods import trust

    chosen = trust.choose(smtp.ca_bundle or None)
    try:
        return trust.context(chosen)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        where = "[smtp] " if smtp.ca_bundle else ""
        raise _Failed(None, f"cannot load {where}{chosen.source}: {reason}", False) from None


def _close(client: smtplib.SMTP, *, polite: bool) -> None:
    import smtplib

    # QUIT only after a success, and a failing QUIT must not turn a sent message into a
    # failure (a retry would send it twice). After an error the session may be stuck: drop it.
    if polite:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
    client.close()


def _reply(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _error(
    reason: str,
    smtp: SmtpSettings,
    code: int | None,
    retryable: bool,
    secrets: tuple[str, ...],
    hint: str = "",
) -> DeliveryError:
    prefix = f"SMTP {code} " if code is not None and code > 0 else "SMTP "
    message = f"{prefix}{reason} ({smtp.where}, {smtp.security}){hint} "
    message += TEMPORARY if retryable else PERMANENT
    for secret in secrets:
        if secret:
            message = message.replace(secret, MASK)
    return DeliveryError(
        message,
        retryable=retryable,
        status=code if code is not None and code > 0 else None,
        transient=retryable,
    )
