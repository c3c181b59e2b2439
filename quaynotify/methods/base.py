"""The method contract (validate a config, make one attempt), secret references, and the
one HTTP helper every HTTP method posts through."""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from quaynotify import __version__
from quaynotify.errors import DeliveryError

if TYPE_CHECKING:
    import httpx

MASK = "********"
USER_AGENT = f"quaynotify/{__version__}"


@dataclass(frozen=True)
class FieldSpec:
    """One key of a method's config, as Quay names it."""

    name: str
    help: str
    required: bool = True
    secret: bool = False  # masked in every output; may be written env:NAME or file:PATH


@dataclass(frozen=True)
class Notification:
    """What a method delivers: the event data and its rendered messages, ready to send."""

    delivery_id: str
    event: str
    repository: str
    data: Mapping[str, Any]
    summary: str
    level: str
    html: str = ""
    text: str = ""
    mrkdwn: str = ""  # the HTML message in Slack's mrkdwn
    performer: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Preview:
    """What would be sent (`--dry-run`), with secrets masked."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class SendContext:
    """What a method may use for one attempt: handed in, never looked up."""

    timeout: float
    client: httpx.Client | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    """A successful attempt: the status code (HTTP or SMTP) and a short description."""

    status: int | None
    message: str


Secret = Callable[[str], str]
Authorized = Callable[[str, str], bool]  # (repository, e-mail address) -> confirmed?


@dataclass(frozen=True)
class RuleContext:
    """What validating a method config may look at besides the config itself."""

    settings: Mapping[str, Any]  # the whole config document: methods read their own tables
    repository: str
    # Given only when a rule is being added: is an e-mail address confirmed for the
    # repository? (Quay checks that at creation only, and so do we.)
    authorized: Authorized | None = None


class Method(ABC):
    """A delivery method: Quay's wire name, config fields, validation and one attempt."""

    name: ClassVar[str]
    title: ClassVar[str]
    fields: ClassVar[tuple[FieldSpec, ...]]
    needs_http: ClassVar[bool] = False
    # Whether send() uses the rendered messages (html, text, mrkdwn); rendering loads Jinja2,
    # so a run whose methods all send event data (webhooks) skips it.
    needs_messages: ClassVar[bool] = True

    def __init__(self, config: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        self.config = config
        self.settings = settings

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        settings: Mapping[str, Any],
        *,
        repository: str,
        authorized: Authorized | None = None,
    ) -> Self:
        """Validate `config` with Quay's messages (ValidationError) and build the method.

        `settings` is the whole config document (methods read their own tables from it).
        `authorized` is given when a rule is being added: it answers whether an e-mail address
        is confirmed for the repository (Quay checks that only at creation, and so do we)."""
        unknown = sorted(set(config) - {f.name for f in cls.fields})
        if unknown:
            from quaynotify.errors import ValidationError

            known = ", ".join(f.name for f in cls.fields)
            raise ValidationError(
                f"unknown config key {unknown[0]!r} for method {cls.name}: expected {known}"
            )
        cls.validate(config, RuleContext(settings, repository, authorized))
        return cls(config, settings)

    @classmethod
    def for_sending(
        cls, config: Mapping[str, Any], settings: Mapping[str, Any], *, repository: str
    ) -> Self:
        """Build the method for a delivery; by default exactly `from_config`. A method may
        be more lenient here than when a rule is added (Quay re-checks nothing at send time)."""
        return cls.from_config(config, settings, repository=repository)

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """Check this method's own tables of the config document ([smtp], [webhook], ...),
        whether or not a rule uses them yet (`config check`). By default there are none."""
        return

    @classmethod
    def check_event(cls, event: str) -> None:
        """Raise ValidationError when this method cannot deliver `event` (by default it can)."""
        return

    @classmethod
    @abstractmethod
    def validate(cls, config: Mapping[str, Any], ctx: RuleContext) -> None:
        """Raise ValidationError, with Quay's message where Quay has one."""

    @abstractmethod
    def preview(self, notification: Notification) -> Preview: ...

    @abstractmethod
    def send(self, notification: Notification, ctx: SendContext) -> Sent:
        """Make exactly one attempt: return Sent, or raise DeliveryError."""

    def secret(self, key: str) -> str:
        """The value of a config key, with an env:/file: reference resolved."""
        return resolve_secret(str(self.config.get(key, "")), key)

    def masked(self, key: str) -> str:
        return mask_secret(str(self.config.get(key, "")))


# -- secrets ------------------------------------------------------------------------------------


def resolve_secret(value: str, key: str = "value") -> str:
    """`env:NAME` reads the environment, `file:PATH` reads a file; anything else is literal."""
    if value.startswith("env:"):
        name = value[4:]
        resolved = os.environ.get(name)
        if not resolved:
            raise DeliveryError(
                f"{key} refers to environment variable {name}, which is not set",
                retryable=False,
            )
        return resolved
    if value.startswith("file:"):
        path = os.path.expanduser(value[5:])
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise DeliveryError(f"{key} refers to file {path}: {reason}", retryable=False) from None
    return value


def is_reference(value: str) -> bool:
    return value.startswith(("env:", "file:"))


def mask_secret(value: str) -> str:
    """A reference names where the secret is and is safe to show; a literal never is."""
    if not value or is_reference(value):
        return value
    return MASK


def http_url(value: str) -> SplitResult | None:
    """The parts of an http(s) URL with a host (and a well-formed port), else None."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts


def mask_url(url: str, secrets: tuple[str, ...] = ()) -> str:
    """A URL safe to print: secrets, a userinfo password and query values replaced by a mask."""
    for secret in secrets:
        if secret:
            url = url.replace(secret, MASK)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        query = urlencode(
            [(k, MASK) for k, _ in parse_qsl(query, keep_blank_values=True)], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# -- the HTTP helper ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """A JSON POST. `label` is Quay's name for the method in messages; `secrets` are scrubbed
    from every message and every displayed URL."""

    url: str
    body: Any
    label: str
    headers: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    @property
    def display_url(self) -> str:
        return mask_url(self.url, self.secrets)

    def all_headers(self, delivery_id: str) -> dict[str, str]:
        # Quay sends "Content-type: application/json"; header names are case-insensitive.
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery_id,
            **self.headers,
        }


@dataclass(frozen=True)
class TlsSettings:
    """Which CA bundle to trust and which client certificate to present; all None means the
    defaults (the public CAs, no client certificate). Verification is never turned off."""

    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def ssl_context(self) -> Any:
        """An ssl.SSLContext for these settings; a DeliveryError when a file is unusable."""
        import ssl

        try:
            if self.ca_bundle:
                context = ssl.create_default_context(cafile=os.path.expanduser(self.ca_bundle))
            else:
                import certifi

                context = ssl.create_default_context(cafile=certifi.where())
            if self.client_cert:
                context.load_cert_chain(
                    os.path.expanduser(self.client_cert),
                    os.path.expanduser(self.client_key) if self.client_key else None,
                )
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise DeliveryError(
                f"cannot load TLS files (ca_bundle={self.ca_bundle}, client_cert="
                f"{self.client_cert}, client_key={self.client_key}): {reason}",
                retryable=False,
            ) from None
        return context


def default_ssl_context() -> Any:
    """The context httpx builds for verify=True, except that the CA bundle is read just
    before the first TLS handshake: reading it costs 20-40 ms, and a run that only posts to
    http:// URLs never needs it."""
    import ssl
    import threading

    class DeferredTrustContext(ssl.SSLContext):
        # PROTOCOL_TLS_CLIENT: CERT_REQUIRED and check_hostname, as create_default_context.
        _lock = threading.Lock()
        _trusted = False

        def _load_trust(self) -> None:
            with self._lock:
                if self._trusted:
                    return
                # httpx's order: SSL_CERT_FILE, SSL_CERT_DIR, else certifi's bundle.
                if os.environ.get("SSL_CERT_FILE"):
                    self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
                elif os.environ.get("SSL_CERT_DIR"):
                    self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
                else:
                    import certifi

                    self.load_verify_locations(cafile=certifi.where())
                self._trusted = True

        def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
            self._load_trust()
            return super().wrap_socket(*args, **kwargs)

        def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
            self._load_trust()
            return super().wrap_bio(*args, **kwargs)

    return DeferredTrustContext(ssl.PROTOCOL_TLS_CLIENT)


class HttpMethod(Method):
    """A method that sends one JSON POST per attempt through the shared client."""

    needs_http = True

    def tls(self) -> TlsSettings:
        """TLS settings for this method's requests; the default shares the common client."""
        return TlsSettings()

    @abstractmethod
    def request(self, notification: Notification, secret: Secret) -> HttpRequest:
        """Build the request; `secret(key)` gives a config value with references resolved."""

    def preview(self, notification: Notification) -> Preview:
        req = self.request(notification, self._preview_secret)
        headers = {
            k: (MASK if k.lower() == "authorization" else v)
            for k, v in req.all_headers(notification.delivery_id).items()
        }
        return Preview(self.name, f"POST {req.display_url}", headers, req.body)

    def _preview_secret(self, key: str) -> str:
        return self.masked(key) or MASK

    def send(self, notification: Notification, ctx: SendContext) -> Sent:
        req = self.request(notification, self.secret)
        return post_json(ctx, req, notification.delivery_id)


def post_json(ctx: SendContext, req: HttpRequest, delivery_id: str) -> Sent:
    """POST `req.body` as Quay does (json.dumps, default separators, ASCII) and classify the
    answer: 2xx is success, anything else a DeliveryError saying whether to retry."""
    import httpx

    assert ctx.client is not None, "HTTP methods need the shared client"
    content = json.dumps(req.body).encode("ascii")
    try:
        response = ctx.client.post(
            req.url,
            content=content,
            headers=req.all_headers(delivery_id),
            timeout=ctx.timeout,
        )
    except httpx.HTTPError as exc:
        raise _transport_error(exc, req, ctx.timeout) from None
    status = response.status_code
    if 200 <= status < 300:
        return Sent(status, f"{status} {response.reason_phrase}".strip())
    where = f"{req.label} to url: {req.display_url}"  # built only on failure: it masks
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        target = mask_url(location, req.secrets) if location else "no Location header"
        raise DeliveryError(
            f"{status} response for {where} (redirects are not followed; it points to {target})",
            status=status,
        )
    raise DeliveryError(
        f"{status} response for {where}",
        status=status,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        transient=status in (408, 425, 429) or status >= 500,
    )


def _transport_error(exc: Exception, req: HttpRequest, timeout: float) -> DeliveryError:
    import httpx

    where = f"{req.label} to url: {req.display_url}"
    if isinstance(exc, httpx.TimeoutException):
        return DeliveryError(f"timed out after {timeout:g}s: {where}", transient=True)
    if isinstance(exc, httpx.TransportError):
        reason = _scrub(str(exc) or type(exc).__name__, req)
        return DeliveryError(f"{reason}: {where}", transient=True)
    # e.g. an invalid URL caught late
    return DeliveryError(f"{_scrub(str(exc), req)}: {where}", retryable=False)


def _scrub(message: str, req: HttpRequest) -> str:
    message = message.replace(req.url, req.display_url)
    for secret in req.secrets:
        if secret:
            message = message.replace(secret, MASK)
    return message


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as delay-seconds or an HTTP-date, in seconds from now (never negative)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
