"""Which certificates a TLS connection trusts, one rule for every method (webhook, Slack,
HipChat, Flowdock, SMTP): an explicit `ca_bundle`, else SSL_CERT_FILE / SSL_CERT_DIR, else
the operating system's trust store, else certifi's bundle; and the client certificate it
presents, loaded without ever letting OpenSSL prompt for a pass phrase."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

# Where Linux and BSD keep the system's CA certificates when OpenSSL's compiled-in defaults
# do not point at them: the list truststore searches (after Christian Heimes's
# certifi-system-store), in its order.
SYSTEM_CA_FILES = (
    "/etc/ssl/cert.pem",  # Alpine, Arch, Fedora 34-43, OpenWRT, RHEL 9-10, BSD
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # Fedora 44+, RHEL 11+
    "/etc/pki/tls/cert.pem",  # Fedora <= 34, RHEL <= 9, CentOS <= 9
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu
    "/etc/ssl/ca-bundle.pem",  # SUSE
)
PLATFORM_VERIFIERS = ("darwin", "win32")  # where truststore asks the OS to verify


@dataclass(frozen=True)
class Trust:
    """What a connection trusts: `source` says it in words (for messages and the docs)."""

    source: str
    cafile: str | None = None
    capath: str | None = None
    platform: bool = False  # the OS verifies (truststore): macOS, Windows
    default_paths: bool = False  # OpenSSL's default locations hold the system's CAs


def choose(ca_bundle: str | None = None) -> Trust:
    """The trust for a connection, in the documented order. Cheap: nothing is read."""
    if ca_bundle:
        path = os.path.expanduser(ca_bundle)
        return Trust(f"ca_bundle {path}", cafile=path)
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile or capath:
        names = " and ".join(
            f"{name} {value}"
            for name, value in (("SSL_CERT_FILE", cafile), ("SSL_CERT_DIR", capath))
            if value
        )
        return Trust(names, cafile=cafile, capath=capath)
    if sys.platform in PLATFORM_VERIFIERS:
        return Trust("the system trust store", platform=True)
    import ssl

    found = system_store(ssl.get_default_verify_paths(), SYSTEM_CA_FILES)
    if found is not None:
        return found
    import certifi

    return Trust(f"certifi's bundle {certifi.where()} (no system trust store found)",
                 cafile=certifi.where())  # fmt: skip


def system_store(defaults: Any, candidates: Sequence[str]) -> Trust | None:
    """Where the system's CA certificates are on Linux and BSD, found as truststore finds
    them: OpenSSL's default locations when they hold certificates, else the first of the
    known files that exists; None when there is none."""
    capath = defaults.capath
    if defaults.cafile or (capath and os.path.isdir(capath) and _holds_hashed_certs(capath)):
        return Trust("the system trust store", default_paths=True)
    for path in candidates:
        if os.path.isfile(path):
            return Trust(f"the system trust store ({path})", cafile=path)
    return None


def _holds_hashed_certs(directory: str) -> bool:
    import re

    hashed = re.compile(r"[0-9a-fA-F]{8}\.[0-9]")
    return any(hashed.fullmatch(name) for name in os.listdir(directory))


class KeyPasswordNeeded(Exception):
    """The client key is encrypted and no client_key_password is set."""


class ClientCertError(ValueError):
    """A client certificate and key that do not load together, saying why in words."""


def context(
    trust: Trust,
    client_cert: str | None = None,
    client_key: str | None = None,
    key_password: Callable[[], bytes] | None = None,
) -> ssl.SSLContext:
    """A client context: certificates verified against `trust`, host names checked, and the
    client certificate loaded (see load_client_cert). Raises OSError or ssl.SSLError when a
    file is unusable, ClientCertError when the certificate and key do not go together."""
    import ssl

    if trust.platform:
        import truststore

        made: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        made = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        if trust.default_paths:
            made.set_default_verify_paths()
        else:
            made.load_verify_locations(cafile=trust.cafile, capath=trust.capath)
    if client_cert:
        load_client_cert(made, client_cert, client_key, key_password)
    return made


def load_client_cert(
    made: ssl.SSLContext,
    client_cert: str,
    client_key: str | None,
    key_password: Callable[[], bytes] | None,
) -> None:
    """Load the certificate and its key (from `client_key`, else from the certificate's
    file) into `made`. OpenSSL is always given a pass phrase callback, so it never prompts
    on the terminal for an encrypted key (which blocked `emit` and ignored Ctrl-C): without
    `key_password` the callback refuses. Raises ClientCertError, or OSError for a missing
    file; whatever `key_password` raises goes through."""
    import ssl

    certfile = os.path.expanduser(client_cert)
    keyfile = os.path.expanduser(client_key) if client_key else None
    try:
        made.load_cert_chain(certfile, keyfile, password=key_password or _no_password)
    except KeyPasswordNeeded:
        raise ClientCertError(
            f"client_key {client_key or client_cert} is encrypted: set client_key_password"
            " to its pass phrase (a literal, env:NAME or file:PATH)"
        ) from None
    except ssl.SSLError as exc:
        raise ClientCertError(_why(exc, client_cert, client_key)) from None


def _no_password() -> bytes:
    # Called by OpenSSL only for an encrypted key; without a callable it would prompt.
    raise KeyPasswordNeeded


def _why(exc: ssl.SSLError, cert: str, key: str | None) -> str:
    """OpenSSL says "PEM lib" for most of what can be wrong: look at the files to say which."""
    if exc.reason == "KEY_VALUES_MISMATCH":
        return f"client_key {key} is not the private key of client_cert {cert}"
    cert_text = _read(cert)
    if "-----BEGIN CERTIFICATE-----" not in cert_text:
        return f"client_cert {cert} is not a PEM certificate"
    key_text = _read(key) if key else cert_text
    if "PRIVATE KEY-----" not in key_text:
        if key:
            return f"client_key {key} is not a PEM private key"
        return f"client_cert {cert} holds no private key: set client_key to the file of its key"
    if "ENCRYPTED" in key_text:
        return f"client_key_password does not decrypt client_key {key or cert}"
    return f"cannot load client_cert {cert} with client_key {key or cert}: {exc}"


def _read(path: str) -> str:
    try:
        with open(os.path.expanduser(path), encoding="ascii", errors="replace") as f:
            return f.read(1024 * 1024)
    except OSError:
        return ""


def deferred() -> ssl.SSLContext:
    """The context of the clients with default settings: the trust is chosen and loaded
    only before the first TLS handshake (reading a CA bundle costs 20-40 ms, and a run that
    only posts to http:// URLs never needs it), and it may be the platform's verifier."""
    import ssl

    class DeferredContext(ssl.SSLContext):
        """An SSLContext for httpx whose handshakes are made by the real context, built
        once on first use; ALPN, which httpcore sets per connection, is passed on."""

        def __new__(cls) -> DeferredContext:
            return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)

        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._inner: ssl.SSLContext | None = None
            self._alpn: list[str] | None = None

        def _context(self) -> ssl.SSLContext:
            with self._lock:
                if self._inner is None:
                    trust = choose()
                    try:
                        inner = context(trust)
                    except OSError as exc:  # ssl.SSLError included
                        reason = getattr(exc, "strerror", None) or str(exc)
                        raise OSError(f"cannot load {trust.source}: {reason}") from None
                    if self._alpn is not None:
                        inner.set_alpn_protocols(self._alpn)
                    self._inner = inner
                return self._inner

        def set_alpn_protocols(self, alpn_protocols: Any) -> None:
            self._alpn = list(alpn_protocols)
            with self._lock:
                if self._inner is not None:
                    self._inner.set_alpn_protocols(self._alpn)

        def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
            return self._context().wrap_socket(*args, **kwargs)

        def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
            return self._context().wrap_bio(*args, **kwargs)

    return DeferredContext()
