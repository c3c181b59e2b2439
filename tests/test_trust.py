"""What TLS connections trust, one rule for every method: an explicit ca_bundle, else
SSL_CERT_FILE / SSL_CERT_DIR, else the operating system's trust store (truststore on macOS
and Windows, OpenSSL's system certificates found as truststore finds them elsewhere), else
certifi's bundle. Webhooks are covered in test_webhook_tls.py; here are the order itself and
SMTP."""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from quaynotify.errors import DeliveryError
from quaynotify.methods import trust
from quaynotify.methods.base import SendContext
from tests.test_email import Server, method_for, notification, smtp_server  # noqa: F401


@pytest.fixture(autouse=True)
def no_trust_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_the_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/env/ca.pem")
    assert trust.choose("~/ca.pem").source == f"ca_bundle {Path.home() / 'ca.pem'}"
    assert trust.choose(None).source == "SSL_CERT_FILE /env/ca.pem"
    monkeypatch.setenv("SSL_CERT_DIR", "/env/certs")
    assert trust.choose().source == "SSL_CERT_FILE /env/ca.pem and SSL_CERT_DIR /env/certs"
    monkeypatch.delenv("SSL_CERT_FILE")
    assert trust.choose() == trust.Trust("SSL_CERT_DIR /env/certs", capath="/env/certs")
    monkeypatch.delenv("SSL_CERT_DIR")
    assert trust.choose().source.startswith(("the system trust store", "certifi's bundle"))


def defaults(cafile: str | None = None, capath: str | None = None) -> ssl.DefaultVerifyPaths:
    return ssl.DefaultVerifyPaths(cafile, capath, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")


def test_the_system_store_is_found_as_truststore_finds_it(tmp_path: Path) -> None:
    hashed, empty = tmp_path / "hashed", tmp_path / "empty"
    hashed.mkdir()
    empty.mkdir()
    (hashed / "0123abcd.0").write_text("")
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    found = trust.system_store(defaults(cafile="/usr/lib/ssl/cert.pem"), [])
    assert found is not None and found.default_paths
    found = trust.system_store(defaults(capath=str(hashed)), [])
    assert found is not None and found.default_paths
    # OpenSSL's defaults hold nothing: the first known file that exists
    found = trust.system_store(defaults(capath=str(empty)), ["/nonexistent", str(bundle)])
    assert found == trust.Trust(f"the system trust store ({bundle})", cafile=str(bundle))
    assert trust.system_store(defaults(), ["/nonexistent"]) is None  # then certifi


@pytest.mark.skipif(sys.platform not in trust.PLATFORM_VERIFIERS, reason="macOS and Windows")
def test_the_platform_verifies_on_macos_and_windows() -> None:
    import truststore

    assert isinstance(trust.context(trust.choose()), truststore.SSLContext)


def test_smtp_honours_ssl_cert_file(
    smtp_server: Callable[..., Server],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = smtp_server("starttls")
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle))
    sent = method_for(server, ca_bundle=None).send(notification(), SendContext(timeout=5))
    assert sent.status == 250


def test_smtp_ca_bundle_comes_before_ssl_cert_file(
    smtp_server: Callable[..., Server],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import trustme

    server = smtp_server("ssl")
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_bundle))
    with pytest.raises(DeliveryError) as raised:
        method_for(server, ca_bundle=str(other)).send(notification(), SendContext(timeout=5))
    assert "TLS certificate not trusted" in raised.value.message


def test_an_unusable_smtp_ca_bundle_is_named(
    smtp_server: Callable[..., Server],  # noqa: F811
    tmp_path: Path,
) -> None:
    server = smtp_server("ssl")
    bundle = tmp_path / "not-pem.txt"
    bundle.write_text("not a certificate\n")
    with pytest.raises(DeliveryError) as raised:
        method_for(server, ca_bundle=str(bundle)).send(notification(), SendContext(timeout=5))
    assert f"cannot load [smtp] ca_bundle {bundle}" in raised.value.message
