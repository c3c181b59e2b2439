"""The one HTTP helper every HTTP method posts through (Quay's JSON POST, the answer
classified for the retry loop, secrets kept out of messages), TLS settings, and the clients
of one run."""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from quaynotify import __version__
from quaynotify.errors import DeliveryError
from quaynotify.masking import mask_url
from quaynotify.methods.base import (
    MASK,
    Method,
    Notification,
    Preview,
    Secret,
    SendContext,
    Sent,
    resolve_secret,
)
from quaynotify.methods.blocklist import BLOCKLIST, BlocklistError
from quaynotify.methods.tables import Table
from quaynotify.output import visible

if TYPE_CHECKING:
    import httpx

    from quaynotify.methods.blocklist import Blocklist

USER_AGENT = f"quaynotify/{__version__}"


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
    defaults (the trust of methods/trust.py, no client certificate). Verification is never
    turned off. `client_key_password` is as written (a literal, env:NAME or file:PATH),
    resolved only when the key is loaded, and never shown."""

    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    client_key_password: str | None = field(default=None, repr=False)

    def ssl_context(self) -> Any:
        """An ssl.SSLContext for these settings; a DeliveryError when a file is unusable."""
        import ssl

        from quaynotify.methods import trust

        chosen = trust.choose(self.ca_bundle)
        try:
            return trust.context(chosen, self.client_cert, self.client_key, self._password())
        except trust.ClientCertError as exc:
            raise DeliveryError(str(exc), retryable=False) from None
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise DeliveryError(
                f"cannot load TLS files (trusting {chosen.source}, client_cert="
                f"{self.client_cert}, client_key={self.client_key}): {reason}",
                retryable=False,
            ) from None

    def client_cert_problem(self) -> str | None:
        """Why the client certificate and key do not load together (None: they do, or
        there is none), found without prompting. A pass phrase given as a reference that
        cannot be resolved now (an env: variable set only in CI) is checked when sending."""
        if not self.client_cert:
            return None
        paths = [p for p in (self.client_cert, self.client_key) if p]
        try:
            stamps = tuple(os.stat(os.path.expanduser(p)).st_mtime_ns for p in paths)
        except OSError:
            return None  # reported as "no such file" by the caller
        return _client_cert_problem(
            self.client_cert, self.client_key, self.client_key_password, stamps
        )

    def _password(self) -> Callable[[], bytes] | None:
        if self.client_key_password is None:
            return None
        value = self.client_key_password

        def password() -> bytes:
            return resolve_secret(value, "client_key_password").encode()

        return password


class _Unresolved(Exception):
    """A pass phrase reference that cannot be resolved at validation time."""


@functools.lru_cache(maxsize=64)
def _client_cert_problem(
    cert: str, key: str | None, password: str | None, stamps: tuple[int, ...]
) -> str | None:
    # Cached per files (and their modification times): a run plans every webhook rule, and
    # most share the [webhook] table's certificate.
    import ssl

    from quaynotify.methods import trust

    def resolved() -> bytes:
        try:
            return resolve_secret(password or "", "client_key_password").encode()
        except DeliveryError:
            raise _Unresolved from None

    try:
        trust.load_client_cert(
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), cert, key, resolved if password else None
        )
    except trust.ClientCertError as exc:
        return str(exc)
    except _Unresolved:
        return None
    except OSError as exc:
        return f"cannot read client_cert {cert} or client_key {key}: {exc.strerror or exc}"
    return None


def default_ssl_context() -> Any:
    """The context of clients with default settings, its trust loaded before the first TLS
    handshake (methods/trust.py)."""
    from quaynotify.methods import trust

    return trust.deferred()


class HttpMethod(Method):
    """A method that sends one JSON POST per attempt through the shared client."""

    tables: ClassVar[tuple[Table[Any], ...]] = (BLOCKLIST,)

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
        return post_json(ctx, req, notification.delivery_id, blocklist=self.blocklist())

    def blocklist(self) -> Blocklist | None:
        """[webhook] hostname_blocklist, which every HTTP method keeps to."""
        try:
            return self.settings[BLOCKLIST]
        except BlocklistError as exc:
            raise DeliveryError(str(exc), retryable=False) from None


MAX_BODY = 64 * 1024  # bytes of a response body read at most: raw, never decompressed
MAX_SHOWN = 500  # characters of a Location header shown in a message at most


def post_json(
    ctx: SendContext, req: HttpRequest, delivery_id: str, *, blocklist: Blocklist | None = None
) -> Sent:
    """POST `req.body` as Quay does (json.dumps, default separators, ASCII) and classify the
    answer: 2xx is success, anything else a DeliveryError saying whether to retry.

    The attempt ends within `ctx.timeout` in all (connecting, TLS, sending, the response),
    and reads at most MAX_BODY bytes of the body, as they came (never decompressed): enough
    to keep the connection for the next request when the body is small, and nothing a
    receiver can use to fill memory. `blocklist` refuses a host before anything is sent."""
    import httpx

    from quaynotify.methods import blocklist as blocklists
    from quaynotify.methods import network

    assert ctx.client is not None, "HTTP methods need the shared client"
    content = json.dumps(req.body).encode("ascii")
    try:
        with network.attempt(ctx.timeout, blocklist):
            if blocklist:
                _check_host(blocklist, req)
            with ctx.client.stream(
                "POST",
                req.url,
                content=content,
                headers=req.all_headers(delivery_id),
                timeout=ctx.timeout,
            ) as response:
                _read_prefix(response)
    except blocklists.Blocked as exc:
        raise _refused(str(exc), req) from None
    except httpx.HTTPError as exc:
        raise _transport_error(exc, req, ctx.timeout) from None
    status = response.status_code
    if 200 <= status < 300:
        return Sent(status, f"{status} {visible(response.reason_phrase)}".strip())
    where = f"{req.label} to url: {req.display_url}"  # built only on failure: it masks
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        target = mask_url(location, req.secrets) if location else "no Location header"
        if len(target) > MAX_SHOWN:
            target = target[:MAX_SHOWN] + "..."
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


def _read_prefix(response: httpx.Response) -> None:
    """Read the body up to MAX_BODY raw bytes; a longer one is left unread (closing the
    response then closes the connection, which is what a receiver sending more deserves)."""
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read >= MAX_BODY:
            break


def _check_host(blocklist: Blocklist, req: HttpRequest) -> None:
    from urllib.parse import urlsplit

    from quaynotify.methods import blocklist as blocklists

    try:
        host = urlsplit(req.url).hostname or ""
    except ValueError:
        return  # httpx reports the URL itself
    reason = blocklist.refuses_host(host)
    if reason is not None:
        raise blocklists.Blocked(reason)


def _refused(reason: str, req: HttpRequest) -> DeliveryError:
    return DeliveryError(
        f"refused by [webhook] hostname_blocklist ({_scrub(reason, req)}):"
        f" {req.label} to url: {req.display_url}",
        retryable=False,
    )


def _transport_error(exc: Exception, req: HttpRequest, timeout: float) -> DeliveryError:
    import httpx

    where = f"{req.label} to url: {req.display_url}"
    if isinstance(exc, httpx.TimeoutException):
        return DeliveryError(
            f"timed out after {timeout:g}s: {where}", transient=True, timed_out=timeout
        )
    if isinstance(exc, httpx.TransportError):
        reason = _scrub(visible(str(exc) or type(exc).__name__), req)
        return DeliveryError(f"{reason}: {where}", transient=True)
    # e.g. an invalid URL caught late
    return DeliveryError(f"{_scrub(visible(str(exc)), req)}: {where}", retryable=False)


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


class Clients:
    """The HTTP clients of one run: one shared by every request with default TLS settings,
    and one per distinct client certificate / CA bundle, made when first needed."""

    def __init__(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._clients: dict[TlsSettings, httpx.Client] = {}
        self._lock = threading.Lock()

    def get(self, tls: TlsSettings) -> httpx.Client:
        with self._lock:
            client = self._clients.get(tls)
            if client is None:
                import httpx

                n = self._concurrency
                from quaynotify.methods import network

                client = httpx.Client(
                    # TLS is always verified; a redirect is reported as the outcome, never followed.
                    verify=default_ssl_context() if tls == TlsSettings() else tls.ssl_context(),
                    limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                    follow_redirects=False,
                    trust_env=True,
                )
                network.install(client)  # every attempt ends within its timeout
                self._clients[tls] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
