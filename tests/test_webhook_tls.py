"""Webhooks over HTTPS: verified TLS, a configured CA bundle, and a client certificate
presented as Quay presents its own, against a real TLS receiver that requires one."""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import Cli


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(ca: trustme.CA, tmp_path: Path) -> dict[str, Path]:
    client = ca.issue_cert("quaynotify-client@example.com")
    files = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "client.pem",
        "key": tmp_path / "client.key",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    client.cert_chain_pems[0].write_to_path(str(files["cert"]))
    client.private_key_pem.write_to_path(str(files["key"]))
    return files


@contextlib.contextmanager
def https_server(
    ca: trustme.CA, *hostnames: str, client_cert: bool = False
) -> Iterator[HTTPServer]:
    """A real HTTPS receiver with a certificate from `ca` for `hostnames`; with `client_cert`,
    its TLS handshake fails unless the client presents a certificate from `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(hostnames or ("127.0.0.1", "localhost"))).configure_cert(context)
    if client_cert:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def mtls_server(ca: trustme.CA) -> Iterator[HTTPServer]:
    with https_server(ca, client_cert=True) as server:
        yield server


def _config(path: Path, table: str) -> None:
    path.write_text(table)


def _rule(cli: Cli, url: str, *extra: str) -> str:
    result = cli(
        "rule", "add", "--repo", "acme/web", "--event", "repo_push",
        "--method", "webhook", "--url", url, *extra,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result.out.strip()


def _emit(cli: Cli) -> tuple[int, str]:
    result = cli(
        "emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]',
        "--max-attempts", "1",
    )  # fmt: skip
    return result.code, result.err


def test_client_certificate_from_webhook_table_is_presented(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path]
) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: Request) -> Response:
        seen.append(json.loads(request.get_data()))
        return Response("", status=200)

    mtls_server.expect_request("/hook", method="POST").respond_with_handler(handler)
    _config(
        config_file,
        "[webhook]\n"
        f'ca_bundle = "{tls_files["ca"]}"\n'
        f'client_cert = "{tls_files["cert"]}"\n'
        f'client_key = "{tls_files["key"]}"\n',
    )
    _rule(cli, mtls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 0, err
    assert seen and seen[0]["updated_tags"] == ["latest"]


def test_per_rule_client_certificate_overrides_the_table(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path]
) -> None:
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    _config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n')
    _rule(
        cli, mtls_server.url_for("/hook"),
        "--client-cert", str(tls_files["cert"]), "--client-key", str(tls_files["key"]),
    )  # fmt: skip
    code, err = _emit(cli)
    assert code == 0, err
    assert len(mtls_server.log) == 1


def test_without_client_certificate_the_handshake_fails(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path]
) -> None:
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    _config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n')
    _rule(cli, mtls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 1
    assert "failed after 1 attempt" in err
    assert len(mtls_server.log) == 0


def test_tls_is_verified_against_public_cas_by_default(
    cli: Cli, mtls_server: HTTPServer, tls_files: dict[str, Path], config_file: Path
) -> None:
    """A server certificate from a private CA is refused unless that CA is configured."""
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    _config(
        config_file,
        f'[webhook]\nclient_cert = "{tls_files["cert"]}"\nclient_key = "{tls_files["key"]}"\n',
    )
    _rule(cli, mtls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in err or "certificate verify failed" in err
    assert len(mtls_server.log) == 0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[webhook]\nclient_cert = "/nonexistent/cert.pem"\n',
            "client_cert /nonexistent/cert.pem: no such file",
        ),
        (
            '[webhook]\nca_bundle = "/nonexistent/ca.pem"\n',
            "ca_bundle /nonexistent/ca.pem: no such file",
        ),
        ('[webhook]\nclient_certificate = "x"\n', "'client_certificate' is not one of them"),
    ],
)  # fmt: skip
def test_bad_tls_settings_are_refused_when_the_rule_is_added(
    cli: Cli, config_file: Path, table: str, message: str
) -> None:
    _config(config_file, table)
    before = config_file.read_bytes()
    result = cli(
        "rule", "add", "--repo", "acme/web", "--event", "repo_push",
        "--method", "webhook", "--url", "https://hooks.example.com/x",
    )  # fmt: skip
    assert result.code == 2
    assert message in result.err
    assert len(result.err.splitlines()) == 1
    assert config_file.read_bytes() == before


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[HTTPServer]:
    with https_server(ca) as server:
        yield server


def test_default_tls_trusts_only_public_cas(cli: Cli, tls_server: HTTPServer) -> None:
    """With no TLS settings the CA bundle is loaded at the first handshake (not when the
    client is made); a private CA's certificate is refused, and nothing is received."""
    tls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    _rule(cli, tls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in err or "certificate verify failed" in err
    assert len(tls_server.log) == 0


def test_default_tls_honours_ssl_cert_file(
    cli: Cli, tls_server: HTTPServer, tls_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
    tls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    _rule(cli, tls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 0, err
    assert len(tls_server.log) == 1


def test_default_tls_checks_the_host_name(
    cli: Cli, ca: trustme.CA, tls_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with https_server(ca, "elsewhere.example") as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
        server.expect_request("/hook", method="POST").respond_with_data("ok")
        _rule(cli, server.url_for("/hook"))
        code, err = _emit(cli)
        assert code == 1
        assert "match" in err or "mismatch" in err
        assert len(server.log) == 0


# -- one rule for what is trusted: ca_bundle, else SSL_CERT_FILE/SSL_CERT_DIR, else the system ---


def test_a_client_certificate_does_not_change_what_is_trusted(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """With a client certificate and no ca_bundle, SSL_CERT_FILE is honoured as it is
    without one (it used to be replaced by certifi's bundle)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    _config(
        config_file,
        f'[webhook]\nclient_cert = "{tls_files["cert"]}"\nclient_key = "{tls_files["key"]}"\n',
    )
    _rule(cli, mtls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 0, err
    assert len(mtls_server.log) == 1


@pytest.mark.parametrize("client_cert", [False, True], ids=["plain", "client-cert"])
def test_ca_bundle_comes_before_ssl_cert_file(
    cli: Cli, config_file: Path, ca: trustme.CA, tls_files: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, client_cert: bool,
) -> None:  # fmt: skip
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    cert = (
        f'client_cert = "{tls_files["cert"]}"\nclient_key = "{tls_files["key"]}"\n'
        if client_cert
        else ""
    )
    with https_server(ca, client_cert=client_cert) as server:
        server.expect_request("/hook", method="POST").respond_with_data("ok")
        monkeypatch.setenv("SSL_CERT_FILE", str(other))
        _config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n{cert}')
        _rule(cli, server.url_for("/hook"))
        code, err = _emit(cli)
        assert code == 0, err
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
        _config(config_file, f'[webhook]\nca_bundle = "{other}"\n{cert}')
        _rule(cli, server.url_for("/hook"))
        code, err = _emit(cli)
        assert code == 1
        assert "certificate verify failed" in err
        assert len(server.log) == 1


def test_ssl_cert_dir_is_honoured(
    cli: Cli, tls_server: HTTPServer, ca: trustme.CA, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to name the hashed certificate")
    directory = tmp_path / "certs"
    directory.mkdir()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    subject_hash = subprocess.run(
        ["openssl", "x509", "-noout", "-subject_hash", "-in", str(directory / "ca.pem")],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    (directory / f"{subject_hash}.0").symlink_to(directory / "ca.pem")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    tls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    _rule(cli, tls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 0, err


def test_an_unusable_ssl_cert_file_is_named(
    cli: Cli, tls_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    _rule(cli, tls_server.url_for("/hook"))
    code, err = _emit(cli)
    assert code == 1
    assert "cannot load SSL_CERT_FILE /nonexistent/ca.pem: No such file or directory" in err
    assert len(tls_server.log) == 0
