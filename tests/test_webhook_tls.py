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
from helpers.cli import Cli
from helpers.configs import add_webhook, rule_add, webhook_toml, write_config
from helpers.terminal import on_a_terminal
from helpers.tools import need
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


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


def _emit(cli: Cli) -> tuple[int, str]:
    result = cli(
        "emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]',
        "--max-attempts", "1",
    )  # fmt: skip
    return result.code, result.err


def deliver(cli: Cli, url: str) -> tuple[int, str]:
    """Add a webhook rule to `url` and emit once: the exit code and stderr."""
    add_webhook(cli, url)
    return _emit(cli)


def test_client_certificate_from_webhook_table_is_presented(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path]
) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: Request) -> Response:
        seen.append(json.loads(request.get_data()))
        return Response("", status=200)

    mtls_server.expect_request("/hook", method="POST").respond_with_handler(handler)
    write_config(
        config_file,
        "[webhook]\n"
        f'ca_bundle = "{tls_files["ca"]}"\n'
        f'client_cert = "{tls_files["cert"]}"\n'
        f'client_key = "{tls_files["key"]}"\n',
    )
    code, err = deliver(cli, mtls_server.url_for("/hook"))
    assert code == 0, err
    assert seen and seen[0]["updated_tags"] == ["latest"]


def test_per_rule_client_certificate_overrides_the_table(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path]
) -> None:
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    write_config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n')
    add_webhook(
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
    write_config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n')
    code, err = deliver(cli, mtls_server.url_for("/hook"))
    assert code == 1
    assert "failed after 1 attempt" in err
    assert len(mtls_server.log) == 0


def test_tls_is_verified_against_public_cas_by_default(
    cli: Cli, mtls_server: HTTPServer, tls_files: dict[str, Path], config_file: Path
) -> None:
    """A server certificate from a private CA is refused unless that CA is configured."""
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    write_config(
        config_file,
        f'[webhook]\nclient_cert = "{tls_files["cert"]}"\nclient_key = "{tls_files["key"]}"\n',
    )
    code, err = deliver(cli, mtls_server.url_for("/hook"))
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
    write_config(config_file, table)
    before = config_file.read_bytes()
    result = cli(*rule_add("webhook", "--url", "https://hooks.example.com/x"))
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
    code, err = deliver(cli, tls_server.url_for("/hook"))
    assert code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in err or "certificate verify failed" in err
    assert len(tls_server.log) == 0


def test_default_tls_honours_ssl_cert_file(
    cli: Cli, tls_server: HTTPServer, tls_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
    tls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    code, err = deliver(cli, tls_server.url_for("/hook"))
    assert code == 0, err
    assert len(tls_server.log) == 1


def test_default_tls_checks_the_host_name(
    cli: Cli, ca: trustme.CA, tls_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with https_server(ca, "elsewhere.example") as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
        server.expect_request("/hook", method="POST").respond_with_data("ok")
        code, err = deliver(cli, server.url_for("/hook"))
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
    write_config(
        config_file,
        f'[webhook]\nclient_cert = "{tls_files["cert"]}"\nclient_key = "{tls_files["key"]}"\n',
    )
    code, err = deliver(cli, mtls_server.url_for("/hook"))
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
        write_config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n{cert}')
        code, err = deliver(cli, server.url_for("/hook"))
        assert code == 0, err
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
        write_config(config_file, f'[webhook]\nca_bundle = "{other}"\n{cert}')
        code, err = deliver(cli, server.url_for("/hook"))
        assert code == 1
        assert "certificate verify failed" in err
        assert len(server.log) == 1


def test_ssl_cert_dir_is_honoured(
    cli: Cli, tls_server: HTTPServer, ca: trustme.CA, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import subprocess

    need("openssl")  # names the hashed certificate
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
    code, err = deliver(cli, tls_server.url_for("/hook"))
    assert code == 0, err


def test_an_unusable_ssl_cert_file_is_named(
    cli: Cli, tls_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    code, err = deliver(cli, tls_server.url_for("/hook"))
    assert code == 1
    assert "cannot load SSL_CERT_FILE /nonexistent/ca.pem: No such file or directory" in err
    assert len(tls_server.log) == 0


# -- client certificates: encrypted keys, and a certificate with its key --------------------------

PASS_PHRASE = "correct horse battery staple"


def encrypted(key: Path, pass_phrase: str, out: Path) -> Path:
    from cryptography.hazmat.primitives import serialization

    loaded = serialization.load_pem_private_key(key.read_bytes(), None)
    out.write_bytes(
        loaded.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(pass_phrase.encode()),
        )
    )
    return out


@pytest.fixture
def encrypted_key(tls_files: dict[str, Path], tmp_path: Path) -> Path:
    return encrypted(tls_files["key"], PASS_PHRASE, tmp_path / "client-encrypted.key")


@pytest.mark.parametrize("how", ["literal", "env", "file"])
def test_an_encrypted_key_with_its_pass_phrase_is_presented(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path],
    encrypted_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("CLIENT_KEY_PASS", PASS_PHRASE)
    secret_file = tmp_path / "pass"
    secret_file.write_text(PASS_PHRASE + "\n")
    reference = {
        "literal": PASS_PHRASE,
        "env": "env:CLIENT_KEY_PASS",
        "file": f"file:{secret_file}",
    }
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    write_config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n')
    rule_id = add_webhook(
        cli, mtls_server.url_for("/hook"), "--client-cert", str(tls_files["cert"]),
        "--client-key", str(encrypted_key), "--client-key-password", reference[how],
    )  # fmt: skip
    code, err = _emit(cli)
    assert code == 0, err
    assert len(mtls_server.log) == 1
    shown = cli("rule", "show", rule_id, "--json")
    assert PASS_PHRASE not in shown.out + shown.err
    if how == "literal":
        assert json.loads(shown.out)["config"]["client_key_password"] == "********"


def test_the_table_takes_a_pass_phrase_too(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path],
    encrypted_key: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("CLIENT_KEY_PASS", PASS_PHRASE)
    mtls_server.expect_request("/hook", method="POST").respond_with_data("ok")
    write_config(
        config_file,
        f'[webhook]\nca_bundle = "{tls_files["ca"]}"\nclient_cert = "{tls_files["cert"]}"\n'
        f'client_key = "{encrypted_key}"\nclient_key_password = "env:CLIENT_KEY_PASS"\n',
    )
    add_webhook(cli, mtls_server.url_for("/hook"))
    assert cli("config", "check").code == 0
    code, err = _emit(cli)
    assert code == 0, err


def test_a_pass_phrase_from_an_unset_variable_fails_at_send_time(
    cli: Cli, config_file: Path, mtls_server: HTTPServer, tls_files: dict[str, Path],
    encrypted_key: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A reference that only CI sets is accepted when the rule is added; sending without it
    is a clear, unretried failure."""
    monkeypatch.delenv("CI_ONLY_PASS", raising=False)
    write_config(config_file, f'[webhook]\nca_bundle = "{tls_files["ca"]}"\n')
    add_webhook(
        cli, mtls_server.url_for("/hook"), "--client-cert", str(tls_files["cert"]),
        "--client-key", str(encrypted_key), "--client-key-password", "env:CI_ONLY_PASS",
    )  # fmt: skip
    code, err = _emit(cli)
    assert code == 1
    assert (
        "client_key_password refers to environment variable CI_ONLY_PASS, which is not set" in err
    )
    assert len(mtls_server.log) == 0


def _problem_files(tls_files: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    other = trustme.CA().issue_cert("other@example.com")
    files = {"other_key": tmp_path / "other.key", "junk": tmp_path / "junk.pem"}
    other.private_key_pem.write_to_path(str(files["other_key"]))
    files["junk"].write_text("not PEM at all\n")
    files["encrypted"] = encrypted(tls_files["key"], PASS_PHRASE, tmp_path / "enc.key")
    return files


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--client-key", "{encrypted}"),
         "client_key {encrypted} is encrypted: set client_key_password to its pass phrase"
         " (a literal, env:NAME or file:PATH)"),
        (("--client-key", "{encrypted}", "--client-key-password", "wrong"),
         "client_key_password does not decrypt client_key {encrypted}"),
        ((), "client_cert {cert} holds no private key: set client_key to the file of its key"),
        (("--client-key", "{other_key}"),
         "client_key {other_key} is not the private key of client_cert {cert}"),
        (("--client-key", "{junk}"), "client_key {junk} is not a PEM private key"),
    ],
)  # fmt: skip
def test_a_certificate_that_does_not_load_with_its_key_is_refused_at_rule_add(
    cli: Cli, config_file: Path, tls_files: dict[str, Path], tmp_path: Path,
    options: tuple[str, ...], message: str,
) -> None:  # fmt: skip
    names = {**{k: str(v) for k, v in _problem_files(tls_files, tmp_path).items()},
             "cert": str(tls_files["cert"])}  # fmt: skip
    write_config(config_file, "")
    result = cli(
        *rule_add("webhook", "--url", "https://hooks.example.com/x"),
        *("--client-cert", str(tls_files["cert"]), *(o.format(**names) for o in options)),
    )
    assert result.code == 2, result.err
    assert result.err == f"quaynotify: error: {message.format(**names)}\n"
    assert config_file.read_text() == ""


def test_config_check_and_send_refuse_a_certificate_without_its_key(
    cli: Cli, config_file: Path, tls_files: dict[str, Path], mtls_server: HTTPServer
) -> None:
    cert = tls_files["cert"]
    write_config(config_file, f'[webhook]\nclient_cert = "{cert}"\n')
    result = cli("config", "check")
    assert result.code == 3
    assert f"[webhook] client_cert {cert} holds no private key" in result.err
    write_config(
        config_file, f'[webhook]\nclient_cert = "{cert}"\n', webhook_toml(mtls_server.url_for("/"))
    )
    code, err = _emit(cli)
    assert code == 1
    assert "holds no private key" in err
    assert len(mtls_server.log) == 0


def test_a_client_key_without_a_client_cert_is_refused(
    cli: Cli, config_file: Path, tls_files: dict[str, Path]
) -> None:
    write_config(config_file, "")
    url = "https://hooks.example.com/x"
    result = cli(*rule_add("webhook", "--url", url, "--client-key", str(tls_files["key"])))
    assert result.code == 2
    assert "client_key (--client-key) is set without client_cert (--client-cert)" in result.err
    write_config(config_file, f'[webhook]\nclient_key = "{tls_files["key"]}"\n')
    result = cli("config", "check")
    assert result.code == 3
    assert "[webhook] client_key is set without [webhook] client_cert" in result.err


# OpenSSL prompts on the controlling terminal, so the command runs with one.
def test_an_encrypted_key_never_makes_openssl_prompt(
    config_file: Path, tls_files: dict[str, Path], encrypted_key: Path,
    mtls_server: HTTPServer,
) -> None:  # fmt: skip
    write_config(
        config_file,
        f'[delivery]\nmax_attempts = 1\n[webhook]\nca_bundle = "{tls_files["ca"]}"\n'
        f'client_cert = "{tls_files["cert"]}"\nclient_key = "{encrypted_key}"\n',
        webhook_toml(mtls_server.url_for("/hook")),
    )
    shown = on_a_terminal(
        ["emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]'],
        code=1,
        seconds=20,
    )
    assert "pass phrase:" not in shown.lower(), shown
    assert f"client_key {encrypted_key} is encrypted: set client_key_password" in shown
    assert len(mtls_server.log) == 0
