"""The `email` method and e-mail authorization (Quay's confirmation flow and messages),
against a real SMTP server: aiosmtpd in a thread, STARTTLS or implicit TLS with a trustme CA,
AUTH required. What keeps or reads authorizations, codes or the journal runs on both backends."""

from __future__ import annotations

import email
import json
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from helpers.cli import Cli, Result
from helpers.configs import rule_add
from helpers.state import created, on_both_backends, rows, stored_bytes

from quaynotify.catalogue.data import build_event_data
from quaynotify.catalogue.events import get_event
from quaynotify.errors import ConfigError, DeliveryError, ExitCode, ValidationError
from quaynotify.methods import parse_method_settings
from quaynotify.methods.base import Notification, SendContext
from quaynotify.methods.email import NOT_AUTHORIZED, Email
from quaynotify.methods.smtp import Mail, parse_smtp, send_mail
from quaynotify.render.messages import messages
from quaynotify.services.authorization import authorizations, checker, confirm, verification_mail
from quaynotify.store import Store

# aiosmtpd warns when AUTH is allowed without STARTTLS; the ssl variant is all TLS from the start.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER = "quay-bot"
PASSWORD = "s3cret-Pa55word-xyzzy"
ENV = "QN_TEST_SMTP_PASSWORD"
SENDER = "Quay Bot <quay@example.com>"
ADDRESS = "dev@example.com"
REPO = "acme/web"
NO_TABLES = parse_method_settings({})  # a config without [smtp]: its defaults
CODE = re.compile(r"quaynotify email confirm ([A-Z0-9]{16})\b")


# -- a real SMTP server -------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    authenticated: bool
    tls: bool

    def part(self, subtype: str) -> str:
        body = self.message.get_body((subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content()).replace("\r\n", "\n")


@dataclass
class Handler:
    """Accepts mail unless told otherwise: `data_replies` are used, in order, for DATA."""

    messages: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_calls: int = 0

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.data_calls += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        raw = bytes(envelope.original_content)
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                email.message_from_bytes(raw, policy=policy.default),
                raw,
                bool(session.authenticated),
                # STARTTLS or implicit TLS: either way the transport is encrypted
                server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 Ok: queued"


@dataclass
class Authenticator:
    """Checks the credentials that arrive, and keeps them for the test to look at."""

    logins: list[tuple[str, str]] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)


@dataclass
class Server:
    port: int
    security: str
    handler: Handler
    auth: Authenticator
    ca_bundle: Path

    def smtp_table(self, **overrides: Any) -> dict[str, Any]:
        table: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.security,
            "username": USER,
            "password": f"env:{ENV}",
            "sender": SENDER,
            "timeout": 5,
            "ca_bundle": str(self.ca_bundle),
        }
        table.update(overrides)
        return {k: v for k, v in table.items() if v is not None}

    def config_text(self, **overrides: Any) -> str:
        # backoff 0: the retry loop's waits are zero, so retries cost no time in tests
        lines = ["[delivery]", "backoff = 0", "max_backoff = 0", "", "[smtp]"]
        for key, value in self.smtp_table(**overrides).items():
            lines.append(f"{key} = {value}" if isinstance(value, int) else f'{key} = "{value}"')
        return "\n".join(lines) + "\n"

    @property
    def last(self) -> Received:
        assert self.handler.messages, "no message arrived"
        return self.handler.messages[-1]


def subject(msg: EmailMessage) -> str:
    # Python folds a 70-77 character subject onto its own continuation line ("Subject:" CRLF
    # SP value), which is valid; its parser then keeps the folding space, mail clients do not.
    return str(msg["Subject"]).lstrip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Server]]:
    """Start servers on demand: `smtp_server("starttls")` or `smtp_server("ssl")`."""
    monkeypatch.setenv(ENV, PASSWORD)
    ca_bundle = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
    controllers: list[Controller] = []

    def start(security: str = "starttls", **smtp_kwargs: Any) -> Server:
        handler, auth, port = Handler(), Authenticator(), _free_port()
        common: dict[str, Any] = {"authenticator": auth, "auth_required": True}
        kwargs: dict[str, Any]
        if security == "ssl":
            # implicit TLS: the whole session is encrypted, which aiosmtpd's
            # auth_require_tls check (meant for STARTTLS) does not see
            kwargs = {"ssl_context": tls, "auth_require_tls": False}
        else:
            kwargs = {"tls_context": tls, "require_starttls": True, "auth_require_tls": True}
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, **common, **kwargs, **smtp_kwargs
        )
        controller.start()
        controllers.append(controller)
        return Server(port, security, handler, auth, ca_bundle)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def server(smtp_server: Callable[..., Server], config_file: Path) -> Server:
    """A STARTTLS server, and a config whose [smtp] table points at it."""
    s = smtp_server("starttls")
    config_file.write_text(s.config_text())
    return s


def authorize_and_confirm(
    cli: Cli, server: Server, repo: str = REPO, address: str = ADDRESS
) -> str:
    assert cli("email", "authorize", repo, address).code == 0
    code = code_in(server.last)
    assert cli("email", "confirm", code).code == 0
    return code


def code_in(received: Received) -> str:
    match = CODE.search(received.part("plain"))
    assert match, received.part("plain")
    return match.group(1)


RULE_ADD = rule_add("email", repo=REPO)


def add_email_rule(
    cli: Cli, event: str = "repo_push", address: str = ADDRESS, repo: str = REPO
) -> Result:
    return cli(*rule_add("email", "--email", address, event=event, repo=repo))


# -- authorization ------------------------------------------------------------------------------


@on_both_backends
def test_authorize_mails_the_code_and_the_confirm_command(cli: Cli, server: Server) -> None:
    result = cli("email", "authorize", REPO, ADDRESS)
    assert result.code == 0, result.err
    assert f"sent the confirmation code to {ADDRESS} for {REPO}" in result.err
    (received,) = server.handler.messages
    msg = received.message
    assert subject(msg) == "[quaynotify] Please verify your e-mail address for repository acme/web"
    assert msg["To"] == ADDRESS
    assert msg["From"] == SENDER
    assert received.rcpt_tos == [ADDRESS]
    assert received.mail_from == "quay@example.com"
    assert msg.get_content_type() == "multipart/alternative"
    code = code_in(received)
    text, body = received.part("plain"), received.part("html")
    assert "Verify e-mail to receive acme/web notifications" in text
    assert (
        "A request has been made to send notifications to this email address for the"
        " repository acme/web." in text
    )
    assert f"quaynotify email confirm {code}" in body
    assert "<h3>Verify e-mail to receive acme/web notifications</h3>" in body
    # the credentials arrived, over TLS; the code is the mailbox owner's, never printed
    assert server.auth.logins == [(USER, PASSWORD)]
    assert received.authenticated and received.tls
    assert code not in result.out + result.err


@on_both_backends
def test_authorize_again_resends_the_same_code_until_confirmed(cli: Cli, server: Server) -> None:
    assert cli("email", "authorize", REPO, ADDRESS).code == 0
    first = code_in(server.last)
    again = cli("email", "authorize", REPO, ADDRESS)
    assert again.code == 0
    assert "sent the confirmation code again" in again.err
    assert len(server.handler.messages) == 2
    assert code_in(server.last) == first
    # another repository is another record, with another code
    assert cli("email", "authorize", "acme/api", ADDRESS).code == 0
    assert code_in(server.last) != first

    assert cli("email", "confirm", first).code == 0
    done = cli("email", "authorize", REPO, ADDRESS)
    assert done.code == 0
    assert done.err == f"quaynotify: {ADDRESS} is already authorized for {REPO}: nothing sent\n"
    assert len(server.handler.messages) == 3


@on_both_backends
def test_confirm_is_idempotent_and_rejects_unknown_codes(cli: Cli, server: Server) -> None:
    assert cli("email", "authorize", REPO, ADDRESS).code == 0
    code = code_in(server.last)
    first = cli("email", "confirm", code)
    assert first.code == 0
    assert first.err == (
        f"quaynotify: {ADDRESS} is now authorized to receive notifications for repository {REPO}\n"
    )
    again = cli("email", "confirm", code.lower())  # typed in lower case: still the code
    assert again.code == 0
    assert "was already authorized" in again.err

    for bad in ("AAAAAAAAAAAAAAAA", "short", code + "X"):
        result = cli("email", "confirm", bad)
        assert result.code == ExitCode.USAGE
        assert result.err == (
            "quaynotify: error: Invalid confirmation code. Copy the 16-character code from the"
            " e-mail, or run `quaynotify email authorize NS/NAME ADDRESS` to have it sent again\n"
        )


@on_both_backends
def test_confirm_without_a_database_does_not_create_one(cli: Cli, store: Store) -> None:
    assert cli("email", "confirm", "ABCDEFGHIJKLMNOP").code == ExitCode.USAGE
    assert cli("email", "list").out == ""
    assert not created(store)


@on_both_backends
def test_list_shows_authorizations_without_codes(cli: Cli, server: Server) -> None:
    code = authorize_and_confirm(cli, server)
    assert cli("email", "authorize", "acme/api", "ops@example.com").code == 0
    other = code_in(server.last)
    listed = cli("email", "list")
    assert listed.lines == ["acme/api\tops@example.com\tno", f"{REPO}\t{ADDRESS}\tyes"]
    only = cli("email", "list", "--repo", REPO, "--json")
    assert only.code == 0
    (view,) = json.loads(only.out)
    assert {k: view[k] for k in ("repository", "email", "confirmed")} == {
        "repository": REPO,
        "email": ADDRESS,
        "confirmed": True,
    }
    assert set(view) == {"repository", "email", "confirmed", "created", "confirmed_at"}
    for out in (listed.out, only.out):
        assert code not in out and other not in out
    bad = cli("email", "list", "--repo", "Acme/Web")
    assert bad.code == ExitCode.USAGE and "invalid repository namespace 'Acme'" in bad.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("acme", ADDRESS), "repository 'acme' must be NAMESPACE/NAME"),
        ((REPO, "not-an-address"), "Invalid e-mail address 'not-an-address'"),
        ((REPO, "a@b.com, c@d.com"), "Invalid e-mail address 'a@b.com, c@d.com'"),
    ],
)
def test_authorize_rejects_bad_input(
    cli: Cli, server: Server, args: tuple[str, str], message: str
) -> None:
    result = cli("email", "authorize", *args)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("quaynotify: error: ") and message in result.err
    assert server.handler.messages == []


@on_both_backends
def test_authorize_needs_an_smtp_table(cli: Cli, config_file: Path, store: Store) -> None:
    result = cli("email", "authorize", REPO, ADDRESS)
    assert result.code == ExitCode.CONFIG
    assert result.err == (
        "quaynotify: error: [smtp] host and sender are not set: add the [smtp] table to the"
        " config (host, sender; see the README)\n"
    )
    config_file.write_text('[smtp]\nhost = "127.0.0.1"\nsecurity = "tls"\n')
    result = cli("email", "authorize", REPO, ADDRESS)
    assert result.code == ExitCode.CONFIG
    assert result.err == (
        'quaynotify: error: [smtp] security must be "starttls", "ssl" or "none", got \'tls\'\n'
    )
    assert not created(store)


@on_both_backends
def test_authorize_reports_a_failed_send_and_keeps_the_code(
    cli: Cli, server: Server, store: Store
) -> None:
    server.handler.rcpt_reply = "550 5.1.1 Mailbox unavailable"
    result = cli("email", "authorize", REPO, ADDRESS)
    assert result.code == ExitCode.FAILED
    assert result.err == (
        f"quaynotify: error: could not send the confirmation e-mail to {ADDRESS}: SMTP 550"
        f" recipient {ADDRESS} refused: 5.1.1 Mailbox unavailable (127.0.0.1:{server.port},"
        " starttls) (permanent: not retried); once fixed, run"
        f" `quaynotify email authorize {REPO} {ADDRESS}` again\n"
    )
    server.handler.rcpt_reply = None
    assert cli("email", "authorize", REPO, ADDRESS).code == 0
    (record,) = authorizations(store)
    assert not record.confirmed


# -- rule add -----------------------------------------------------------------------------------


@on_both_backends
def test_rule_add_refuses_an_unconfirmed_address_then_accepts(cli: Cli, server: Server) -> None:
    expected = (
        "quaynotify: error: The specified e-mail address is not authorized to receive"
        " notifications for this repository: run"
        f" `quaynotify email authorize {REPO} {ADDRESS}`\n"
    )
    refused = add_email_rule(cli)
    assert (refused.code, refused.err) == (ExitCode.USAGE, expected)
    assert cli("email", "authorize", REPO, ADDRESS).code == 0
    pending = add_email_rule(cli)  # mailed but not confirmed yet
    assert (pending.code, pending.err) == (ExitCode.USAGE, expected)
    assert cli("email", "confirm", code_in(server.last)).code == 0
    added = add_email_rule(cli)
    assert added.code == 0, added.err
    (listed,) = cli("rule", "list").lines
    assert listed.split("\t")[1:4] == [REPO, "repo_push", "email"]
    # Quay's check is per repository and exact
    other = add_email_rule(cli, repo="acme/api")
    assert other.code == ExitCode.USAGE and NOT_AUTHORIZED in other.err
    assert add_email_rule(cli, address="Dev@example.com").code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("email_arg", "message"),
    [
        ("", "Missing e-mail address"),
        ("dev.example.com", "Invalid e-mail address 'dev.example.com': give one address, such as"),
    ],
)
def test_rule_add_checks_the_address(
    cli: Cli, server: Server, email_arg: str, message: str
) -> None:
    result = add_email_rule(cli, address=email_arg)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith(f"quaynotify: error: {message}")


# -- validation (table-driven, exact messages) --------------------------------------------------

SMTP_ERRORS = [
    ({"hots": "x"}, "[smtp] unknown key 'hots': expected one of host, port, security, username,"
     " password, sender, timeout, ca_bundle"),
    ({"host": 25}, "[smtp] host must be a string, got 25"),
    ({"port": "587"}, "[smtp] port must be a whole number from 1 to 65535, got '587'"),
    ({"port": 0}, "[smtp] port must be a whole number from 1 to 65535, got 0"),
    ({"port": True}, "[smtp] port must be a whole number from 1 to 65535, got True"),
    ({"security": "TLS"}, '[smtp] security must be "starttls", "ssl" or "none", got \'TLS\''),
    ({"timeout": 0}, "[smtp] timeout must be a number of seconds > 0, got 0"),
    ({"timeout": "10"}, "[smtp] timeout must be a number of seconds > 0, got '10'"),
    ({"username": "u"}, "[smtp] username and password go together: set both, or neither"),
    ({"password": 12345}, "[smtp] password must be a string: a literal, env:NAME or file:PATH"),
    ({"username": "u", "password": "p", "security": "none"},
     '[smtp] security = "none" would send the password in clear text: use "starttls" or "ssl",'
     " or remove username and password"),
    ({"sender": "quay"}, "[smtp] sender 'quay' is not an e-mail address: write it like"
     ' "quay@example.com" or "Quay <quay@example.com>"'),
    ({"sender": "q@example.com\nBcc: x@example.com"}, "[smtp] sender 'q@example.com\\nBcc:"
     " x@example.com' is not an e-mail address: write it like \"quay@example.com\" or"
     ' "Quay <quay@example.com>"'),
]  # fmt: skip


@pytest.mark.parametrize(("table", "message"), SMTP_ERRORS)
def test_smtp_table_validation(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Email.from_config(
            {"email": ADDRESS}, parse_method_settings({"smtp": table}), repository=REPO
        )
    assert raised.value.message == message


def test_smtp_table_defaults_and_not_a_table() -> None:
    assert parse_smtp({}).port == 587
    assert parse_smtp({"security": "ssl"}).port == 465
    assert parse_smtp({"security": "none"}).port == 25
    assert parse_smtp({"security": "ssl", "port": 2465}).port == 2465
    assert parse_smtp({}).timeout == 10.0
    with pytest.raises(ConfigError, match=r"^'smtp' must be a table, written \[smtp\]$"):
        parse_smtp("host")
    with pytest.raises(ConfigError, match="password must be a string") as raised:
        parse_smtp({"password": ["hunter2"]})
    assert "hunter2" not in raised.value.message


def yes(repository: str, address: str) -> bool:
    return True


def no(repository: str, address: str) -> bool:
    return False


@pytest.mark.parametrize(
    ("config", "authorized", "message"),
    [
        ({}, None, "Missing e-mail address"),
        ({"email": ""}, yes, "Missing e-mail address"),
        ({"email": None}, yes, "Missing e-mail address"),
        ({"email": "dev"}, yes, "Invalid e-mail address 'dev': give one address, such as"
         " dev@example.com"),
        ({"email": ["dev@example.com"]}, yes, "Invalid e-mail address ['dev@example.com']: give"
         " one address, such as dev@example.com"),
        ({"email": "dev@example.com\nBcc: x@y.z"}, yes, "Invalid e-mail address"
         " 'dev@example.com\\nBcc: x@y.z': give one address, such as dev@example.com"),
        ({"email": "<dev@example.com>"}, yes, "Invalid e-mail address '<dev@example.com>': give"
         " one address, such as dev@example.com"),
        ({"email": ADDRESS}, no, f"{NOT_AUTHORIZED}: run `quaynotify email authorize acme/web"
         " dev@example.com`"),
        ({"email": "o'neil@example.com"}, no, f"{NOT_AUTHORIZED}: run `quaynotify email authorize"
         " acme/web 'o'\"'\"'neil@example.com'`"),
        ({"email": ADDRESS, "url": "x"}, yes, "unknown config key 'url' for method email:"
         " expected email"),
    ],
)  # fmt: skip
def test_email_config_validation(
    config: dict[str, Any], authorized: Callable[[str, str], bool] | None, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Email.from_config(config, NO_TABLES, repository=REPO, authorized=authorized)
    assert raised.value.message == message


def test_authorization_is_not_checked_at_send_time() -> None:
    # as Quay: `authorized` is None when a delivery builds the method
    method = Email.from_config({"email": ADDRESS}, NO_TABLES, repository=REPO)
    assert method.config["email"] == ADDRESS
    seen: list[tuple[str, str]] = []

    def spy(repository: str, address: str) -> bool:
        seen.append((repository, address))
        return True

    Email.from_config({"email": ADDRESS}, NO_TABLES, repository=REPO, authorized=spy)
    assert seen == [(REPO, ADDRESS)]


@on_both_backends
def test_config_check_reports_a_bad_smtp_table(cli: Cli, server: Server, config_file: Path) -> None:
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    assert cli("config", "check").code == 0
    text = config_file.read_text().replace('security = "starttls"', 'security = "startls"')
    config_file.write_text(text)
    result = cli("config", "check")
    assert result.code == ExitCode.CONFIG
    assert '[smtp] security must be "starttls", "ssl" or "none", got \'startls\'' in result.err


# -- sending: the method itself -----------------------------------------------------------------


def notification(**overrides: Any) -> Notification:
    values: dict[str, Any] = {
        "delivery_id": "0f5a7c1e-1111-4222-8333-944455556666",
        "event": "build_failure",
        "repository": REPO,
        "data": {"repository": REPO},
        "summary": "Build failure for repository acme/web [abc123]",
        "level": "error",
        "html": "<p>Build <b>abc123</b> failed: &lt;script&gt;</p>",
        "text": "Build abc123 failed: <script>\nsee the build log",
    }
    values.update(overrides)
    return Notification(**values)


def method_for(server: Server, address: str = ADDRESS, **smtp: Any) -> Email:
    settings = parse_method_settings({"smtp": server.smtp_table(**smtp)})
    return Email.from_config({"email": address}, settings, repository=REPO)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_send_delivers_a_multipart_message(
    smtp_server: Callable[..., Server], security: str
) -> None:
    server = smtp_server(security)
    n = notification()
    sent = method_for(server).send(n, SendContext(timeout=5))
    assert sent.status == 250
    assert sent.message == "250 2.0.0 Ok: queued"
    received = server.last
    msg = received.message
    assert received.tls and received.authenticated
    assert server.auth.logins == [(USER, PASSWORD)]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert received.part("plain") == n.text + "\n"
    assert received.part("html") == n.html + "\n"
    assert subject(msg) == n.summary
    assert msg["From"] == SENDER and msg["To"] == ADDRESS
    assert re.fullmatch(r"<[^@<>\s]+@example\.com>", msg["Message-ID"])
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert msg["X-Quaynotify-Delivery-Id"] == n.delivery_id
    assert msg["Auto-Submitted"] == "auto-generated"
    assert received.raw.isascii()  # 7-bit clean: any server takes it


def test_send_without_rendered_messages_still_sends_both_parts(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    n = notification(html="", text="", summary="Mirror failed for <b>x</b> & y")
    method_for(server).send(n, SendContext(timeout=5))
    assert server.last.part("plain") == n.summary + "\n"
    assert server.last.part("html") == "<p>Mirror failed for &lt;b&gt;x&lt;/b&gt; &amp; y</p>\n"


def test_a_newline_in_the_summary_cannot_add_headers(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    hostile = "Mirror failed for x\r\nBcc: evil@example.com\nX-Evil: 1\u2028Y: 2"
    method_for(server).send(notification(summary=hostile), SendContext(timeout=5))
    received = server.last
    assert received.rcpt_tos == [ADDRESS]
    assert received.message["Bcc"] is None and received.message["X-Evil"] is None
    assert subject(received.message) == "Mirror failed for x Bcc: evil@example.com X-Evil: 1 Y: 2"


def test_non_ascii_text_is_encoded(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    n = notification(summary="Build ✓ für acme/web", text="Grüße ✓", html="<p>Grüße ✓</p>")
    method_for(server).send(n, SendContext(timeout=5))
    assert server.last.raw.isascii()
    assert subject(server.last.message) == n.summary
    assert server.last.part("plain") == "Grüße ✓\n"


def test_an_international_address_needs_smtputf8(smtp_server: Callable[..., Server]) -> None:
    address = "dév@exämple.com"
    plain = smtp_server(enable_SMTPUTF8=False)
    with pytest.raises(DeliveryError) as raised:
        method_for(plain, address=address).send(notification(), SendContext(timeout=5))
    assert raised.value.message == (
        f"SMTP the server does not offer SMTPUTF8, needed for {address}"
        f" (127.0.0.1:{plain.port}, starttls) (permanent: not retried)"
    )
    assert not raised.value.retryable
    utf8 = smtp_server()  # aiosmtpd's controller offers SMTPUTF8 by default
    method_for(utf8, address=address).send(notification(), SendContext(timeout=5))
    assert utf8.last.rcpt_tos == [address]
    assert utf8.last.message["To"] == address


@pytest.mark.parametrize(
    ("reply", "where", "status", "retryable", "message"),
    [
        ("451 4.3.0 Try again later", "data", 451, True,
         "SMTP 451 message refused: 4.3.0 Try again later (127.0.0.1:{port}, starttls)"
         " (temporary)"),
        ("554 5.7.1 Message rejected", "data", 554, False,
         "SMTP 554 message refused: 5.7.1 Message rejected (127.0.0.1:{port}, starttls)"
         " (permanent: not retried)"),
        ("550 5.1.1 Mailbox unavailable", "rcpt", 550, False,
         "SMTP 550 recipient dev@example.com refused: 5.1.1 Mailbox unavailable"
         " (127.0.0.1:{port}, starttls) (permanent: not retried)"),
        ("452 4.2.2 Mailbox full", "rcpt", 452, True,
         "SMTP 452 recipient dev@example.com refused: 4.2.2 Mailbox full"
         " (127.0.0.1:{port}, starttls) (temporary)"),
    ],
)  # fmt: skip
def test_smtp_replies_are_classified(
    smtp_server: Callable[..., Server],
    reply: str,
    where: str,
    status: int,
    retryable: bool,
    message: str,
) -> None:
    server = smtp_server()
    if where == "data":
        server.handler.data_replies.append(reply)
    else:
        server.handler.rcpt_reply = reply
    with pytest.raises(DeliveryError) as raised:
        method_for(server).send(notification(), SendContext(timeout=5))
    error = raised.value
    assert error.message == message.format(port=server.port)
    assert (error.status, error.retryable, error.transient) == (status, retryable, retryable)
    assert server.handler.messages == []


def test_connection_errors_are_temporary(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    closed = _free_port()
    with pytest.raises(DeliveryError) as raised:
        method_for(server, port=closed).send(notification(), SendContext(timeout=5))
    assert raised.value.message == (
        f"SMTP connection failed (Connection refused) (127.0.0.1:{closed}, starttls) (temporary)"
    )
    assert raised.value.retryable and raised.value.transient and raised.value.status is None


def test_tls_is_always_verified(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    with pytest.raises(DeliveryError) as raised:
        method_for(server, ca_bundle=None).send(notification(), SendContext(timeout=5))
    assert raised.value.message.startswith("SMTP TLS certificate not trusted (")
    assert raised.value.message.endswith(
        f"(127.0.0.1:{server.port}, starttls): for a private CA, set [smtp] ca_bundle"
        " (permanent: not retried)"
    )
    assert not raised.value.retryable
    assert server.auth.logins == []  # the password never left over an untrusted connection


def test_wrong_security_for_the_port_is_a_clear_tls_error(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server("starttls")
    with pytest.raises(DeliveryError) as raised:
        method_for(server, security="ssl").send(notification(), SendContext(timeout=5))
    assert raised.value.message.startswith("SMTP TLS failed (")
    assert "check [smtp] security and port (465 is usually ssl, 587 starttls)" in str(raised.value)
    assert not raised.value.retryable


def test_wrong_password_is_an_auth_failure(
    smtp_server: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server()
    monkeypatch.setenv(ENV, "wrong-Pa55word")
    with pytest.raises(DeliveryError) as raised:
        method_for(server).send(notification(), SendContext(timeout=5))
    assert raised.value.message == (
        "SMTP 535 authentication as quay-bot failed: 5.7.8 Authentication credentials invalid"
        f" (127.0.0.1:{server.port}, starttls): check [smtp] username and password"
        " (permanent: not retried)"
    )
    assert (raised.value.status, raised.value.retryable) == (535, False)
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN)
    assert server.auth.logins and set(server.auth.logins) == {(USER, "wrong-Pa55word")}


def test_an_unset_password_variable_is_reported_without_sending(
    smtp_server: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server()
    monkeypatch.delenv(ENV)
    with pytest.raises(DeliveryError) as raised:
        method_for(server).send(notification(), SendContext(timeout=5))
    assert raised.value.message == (
        f"[smtp] password refers to environment variable {ENV}, which is not set"
    )
    assert not raised.value.retryable
    assert server.handler.data_calls == 0


def test_send_without_host_or_sender_fails_permanently() -> None:
    method = Email.from_config({"email": ADDRESS}, NO_TABLES, repository=REPO)
    with pytest.raises(DeliveryError) as raised:
        method.send(notification(), SendContext(timeout=5))
    assert raised.value.message == (
        "[smtp] host and sender are not set: add the [smtp] table to the config (host, sender;"
        " see the README) (permanent: not retried)"
    )
    assert not raised.value.retryable


def test_send_mail_is_the_helper_authorization_uses(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server("ssl")
    smtp = parse_smtp(server.smtp_table())
    mail = verification_mail(REPO, ADDRESS, "ABCDEFGHJKLMNPQR")
    assert isinstance(mail, Mail)
    sent = send_mail(smtp, mail, timeout=5)
    assert sent.status == 250
    assert "quaynotify email confirm ABCDEFGHJKLMNPQR" in server.last.part("html")


CONFIRMATION_TEXT = """\
Verify e-mail to receive acme/web notifications

A request has been made to send notifications to this email address for the repository acme/web.

To confirm, run this command where quaynotify is set up:

    quaynotify email confirm ABCDEFGHJKLMNPQR

If you do not wish to receive notifications for acme/web, you can ignore this message.

Thank you,
quaynotify
"""
CONFIRMATION_HTML = """\
<!DOCTYPE html>
<html><body>
<h3>Verify e-mail to receive acme/web notifications</h3>
<p>A request has been made to send notifications to this email address for the repository \
acme/web.</p>
<p>To confirm, run this command where quaynotify is set up:</p>
<pre style="padding:8px;background:#f4f4f4"><code>quaynotify email confirm ABCDEFGHJKLMNPQR\
</code></pre>
<p>If you do not wish to receive notifications for acme/web, you can ignore this message.</p>
<p>Thank you,<br>quaynotify</p>
</body></html>
"""


def test_the_confirmation_mail_is_word_for_word_what_users_know() -> None:
    mail = verification_mail(REPO, ADDRESS, "ABCDEFGHJKLMNPQR")
    assert mail.to == ADDRESS
    assert mail.subject == (
        "[quaynotify] Please verify your e-mail address for repository acme/web"
    )
    assert mail.text == CONFIRMATION_TEXT
    assert mail.html == CONFIRMATION_HTML


def test_the_confirmation_mail_escapes_its_html_part_only() -> None:
    # A repository name cannot hold markup (it is checked first); the template escapes anyway.
    mail = verification_mail("a<b>/&c", ADDRESS, "ABCDEFGHJKLMNPQR")
    assert "<h3>Verify e-mail to receive a&lt;b&gt;/&amp;c notifications</h3>" in mail.html
    assert "<b>" not in mail.html
    assert mail.text.startswith("Verify e-mail to receive a<b>/&c notifications\n")


def test_preview_shows_the_target_and_message_but_no_password(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    n = notification(summary="Build failure\nBcc: x")
    for password in (PASSWORD, f"env:{ENV}"):
        preview = method_for(server, password=password).preview(n)
        assert preview.method == "email"
        assert preview.target == (
            f"SMTP 127.0.0.1:{server.port} (starttls) as quay-bot (password ********)"
        )
        assert preview.headers == {
            "From": SENDER,
            "To": ADDRESS,
            "Subject": "Build failure Bcc: x",
            "Content-Type": "multipart/alternative (text/plain, text/html)",
            "X-Quaynotify-Delivery-Id": n.delivery_id,
        }
        assert preview.body == n.text
        assert PASSWORD not in repr(preview)
    assert server.handler.data_calls == 0


# -- end to end through the CLI -----------------------------------------------------------------


@on_both_backends
def test_emit_delivers_to_an_email_rule(cli: Cli, server: Server, store: Store) -> None:
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    result = cli("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]')
    assert result.code == 0, result.err
    (delivery,) = store.journal.deliveries()
    assert delivery.status == "succeeded"
    assert [(a.ok, a.status) for a in delivery.attempts] == [(True, 250)]
    received = server.last
    msg = received.message
    fields = {"updated_tags": ["latest"]}
    data = build_event_data(
        get_event("repo_push"), REPO, fields, hostname="quay.io", scheme="https"
    )
    assert subject(msg) == get_event("repo_push").summary(data) == "Repository acme/web updated"
    assert msg["From"] == SENDER and msg["To"] == ADDRESS
    assert received.rcpt_tos == [ADDRESS]
    assert msg["Message-ID"] and parsedate_to_datetime(msg["Date"])
    assert msg["X-Quaynotify-Delivery-Id"] == delivery.id
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    # the parts are quaynotify.render.messages's messages for the event, as they are
    rendered = messages("repo_push", data, performer=None, hostname="quay.io", scheme="https")
    assert received.part("plain") == rendered.text + "\n"
    assert received.part("html") == rendered.html + "\n"
    assert 'in repository <a href="https://quay.io/repository/acme/web">acme/web</a>' in (
        received.part("html")
    )


@on_both_backends
def test_hostile_event_data_is_escaped_and_injects_no_header(cli: Cli, server: Server) -> None:
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli, event="repo_mirror_sync_failed").code == 0
    hostile = "x\r\nBcc: evil@example.com\n<script>alert(1)</script>"
    result = cli("emit", "repo_mirror_sync_failed", "--repo", REPO, "--set", f"message={hostile}")
    assert result.code == 0, result.err
    received = server.last
    msg = received.message
    assert received.rcpt_tos == [ADDRESS]
    assert msg["Bcc"] is None
    assert "\n" not in subject(msg) and "Bcc: evil@example.com" in subject(msg)
    html_part = received.part("html")
    assert "<script>" not in html_part
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part
    # the line break stays in the body, where it is harmless
    assert "x\nBcc: evil@example.com\n<script>alert(1)</script>" in received.part("plain")


@on_both_backends
def test_a_temporary_reply_is_retried(cli: Cli, server: Server, store: Store) -> None:
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    server.handler.data_replies.append("451 4.3.0 Try again later")
    result = cli("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]')
    assert result.code == 0, result.err
    (delivery,) = store.journal.deliveries()
    assert delivery.status == "succeeded"
    first, second = delivery.attempts
    assert (first.ok, first.status, second.ok, second.status) == (False, 451, True, 250)
    assert first.message.startswith("SMTP 451 message refused: 4.3.0 Try again later")
    assert first.message.endswith("(temporary)")
    assert len(server.handler.messages) == 2  # the authorization e-mail, then this one


@on_both_backends
def test_a_permanent_reply_is_not_retried(cli: Cli, server: Server, store: Store) -> None:
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    server.handler.rcpt_reply = "550 5.1.1 Mailbox unavailable"
    result = cli("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]')
    assert result.code == ExitCode.FAILED
    (delivery,) = store.journal.deliveries()
    assert delivery.status == "failed"
    (attempt,) = delivery.attempts
    assert (attempt.ok, attempt.status) == (False, 550)
    assert delivery.error == (
        f"SMTP 550 recipient {ADDRESS} refused: 5.1.1 Mailbox unavailable"
        f" (127.0.0.1:{server.port}, starttls) (permanent: not retried)"
    )
    assert "failed after 1 attempt: SMTP 550" in result.err


@on_both_backends
def test_emit_dry_run_sends_nothing(cli: Cli, server: Server) -> None:
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    sent_before = server.handler.data_calls
    result = cli(
        "emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]', "--dry-run"
    )
    assert result.code == 0, result.err
    assert f"# email: SMTP 127.0.0.1:{server.port} (starttls) as quay-bot" in result.out
    assert "Subject: Repository acme/web updated" in result.out
    assert f"To: {ADDRESS}" in result.out
    assert server.handler.data_calls == sent_before


@on_both_backends
def test_wrong_password_through_the_cli(
    cli: Cli, server: Server, store: Store, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    wrong = "wrong-Pa55word"
    monkeypatch.setenv(ENV, wrong)
    result = cli("email", "authorize", "acme/api", ADDRESS)
    assert result.code == ExitCode.FAILED
    assert result.err.startswith(
        f"quaynotify: error: could not send the confirmation e-mail to {ADDRESS}: SMTP 535"
        " authentication as quay-bot failed: 5.7.8 Authentication credentials invalid"
    )
    assert "check [smtp] username and password (permanent: not retried)" in result.err
    emitted = cli("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]')
    assert emitted.code == ExitCode.FAILED
    (delivery,) = store.journal.deliveries()
    assert len(delivery.attempts) == 1  # an authentication failure is not retried
    assert delivery.attempts[0].status == 535
    for text in (result.out, result.err, emitted.out, emitted.err):
        assert wrong not in text
    assert wrong.encode() not in stored_bytes(store, state_dir)


@on_both_backends
@pytest.mark.parametrize("written", ["env", "literal"])
def test_the_smtp_password_never_appears(
    cli: Cli, server: Server, config_file: Path, store: Store, state_dir: Path, written: str
) -> None:
    if written == "literal":
        config_file.write_text(server.config_text(password=PASSWORD))
    outputs: list[Result] = []

    def run(*args: str) -> Result:
        outputs.append(cli(*args))
        return outputs[-1]

    run("email", "authorize", REPO, ADDRESS)
    run("email", "confirm", code_in(server.last))
    run("email", "list", "--json")
    assert run(*RULE_ADD, "--email", ADDRESS).code == 0
    rule_id = outputs[-1].out.strip()
    push = ("--repo", REPO, "--set", 'updated_tags=["latest"]')
    run("emit", "repo_push", *push)
    run("emit", "repo_push", *push, "--dry-run")
    run("emit", "repo_push", *push, "--dry-run", "--json")
    run("rule", "show", rule_id, "--json")
    run("config", "check")
    server.handler.data_replies.append("451 4.3.0 Try again later")
    server.handler.rcpt_reply = "550 5.1.1 no"
    run("emit", "repo_push", *push)
    run("log", "--json")
    assert server.auth.logins and all(p == PASSWORD for _, p in server.auth.logins)
    for result in outputs:
        assert PASSWORD not in result.out and PASSWORD not in result.err
    assert created(store)  # what was kept is looked at, not an empty state
    assert PASSWORD.encode() not in stored_bytes(store, state_dir)


# -- the domain functions -----------------------------------------------------------------------


@on_both_backends
def test_checker_reads_confirmed_authorizations(cli: Cli, server: Server, store: Store) -> None:
    is_ok = checker(store)
    assert not is_ok(REPO, ADDRESS)
    assert cli("email", "authorize", REPO, ADDRESS).code == 0
    assert not is_ok(REPO, ADDRESS)
    record, already = confirm(store, code_in(server.last))
    assert (record.repository, record.email, record.confirmed, already) == (
        REPO,
        ADDRESS,
        True,
        False,
    )
    assert record.confirmed_at is not None
    assert is_ok(REPO, ADDRESS)
    assert not is_ok("acme/api", ADDRESS)
    (code_row,) = rows(store, "SELECT code FROM authorized_email")
    assert re.fullmatch(r"[A-Z0-9]{16}", code_row[0])


@on_both_backends
def test_a_hostile_smtp_reply_reaches_no_terminal_raw(
    cli: Cli, server: Server, store: Store
) -> None:
    # The writer shows control characters as escapes (test_output_hostile.py); an SMTP reply
    # is one more way for them to arrive.
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    server.handler.rcpt_reply = "550 5.1.1 \x1b]0;pwned\x07[/bold]"
    result = cli("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]')
    assert result.code == ExitCode.FAILED
    (delivery,) = store.journal.deliveries()
    assert "\x1b]0;pwned\x07" in (delivery.error or "")  # journaled as received
    for text in (result.out, result.err, cli("log").out):
        assert "\x1b" not in text and "\x07" not in text
        assert r"5.1.1 \x1b]0;pwned\x07[/bold]" in text


@on_both_backends
def test_a_nul_in_an_smtp_reply_is_journaled(cli: Cli, server: Server, store: Store) -> None:
    """A NUL in a reply (journaled as received) is kept as U+FFFD on both backends: on
    PostgreSQL, whose text cannot hold a NUL, it once failed the whole journal batch (exit 3,
    the delivery not journaled)."""
    authorize_and_confirm(cli, server)
    assert add_email_rule(cli).code == 0
    server.handler.rcpt_reply = "550 5.1.1 no\x00such\x00user"
    result = cli("emit", "repo_push", "--repo", REPO, "--set", 'updated_tags=["latest"]')
    assert result.code == ExitCode.FAILED, result.err
    (delivery,) = store.journal.deliveries()
    assert delivery.status == "failed"
    assert "5.1.1 no\ufffdsuch\ufffduser" in (delivery.error or "")
    assert "5.1.1 no\ufffdsuch\ufffduser" in delivery.attempts[0].message
