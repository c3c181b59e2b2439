"""Hostile receivers: ones that drip bytes, send endless or compressed bodies, put control
characters and Rich markup where text is expected, or hang in the middle of TLS. Each case
runs the installed command in a subprocess and must end within its timeout (with slack for a
noisy machine) with a one-line failure, journaled, and a peak RSS under 100 MB."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from helpers.cli import CONSOLE, Cli
from helpers.configs import rule_toml, webhook_toml, write_config
from helpers.receivers import Connection, Hanging, Hostile, server_context
from helpers.state import rows
from helpers.terminal import run_in_terminal

from quaynotify.store import open_store

RULE_ID = "11111111-1111-4111-8111-111111111111"
TIMEOUT = 2  # [delivery] timeout, seconds per attempt
SLACK = 10  # for a shared, noisy machine; a receiver that is not bounded takes hours
LIMIT = 45  # the subprocess is killed after this: the case has failed
PEAK_MB = 100
EMIT = ("emit", "repo_push", "--repo", "acme/web", "--set", 'updated_tags=["latest"]')
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str
    seconds: float
    peak_mb: float


# A fresh, small process between the test and the command: the peak RSS the kernel reports
# for a child counts the memory of the process it was forked from, here pytest's own.
MEASURE = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code if code >= 0 else 128 - code)
"""


def run(*args: str, limit: float = LIMIT) -> Ran:
    """The installed command, with its wall time and its own peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        peak = Path(scratch) / "peak"
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", MEASURE, str(peak), CONSOLE, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group started here, and only it
            out, err = proc.communicate()
        seconds = time.monotonic() - started
        kib = int(peak.read_text()) if peak.exists() else 0
    return Ran(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
               seconds, kib / 1024)  # fmt: skip


def config(url: str, *, extra: str = "", timeout: float = TIMEOUT, attempts: int = 1) -> str:
    delivery = f"[delivery]\ntimeout = {timeout}\nmax_attempts = {attempts}\nbackoff = 0\n"
    return f"{delivery}{extra}\n" + webhook_toml(url, id=RULE_ID)


def journaled(cli: Cli) -> dict[str, object]:
    """The one delivery of the run, as `log show --json` gives it."""
    (delivery,) = json.loads(cli("log", "--json").out)
    shown = cli("log", "show", str(delivery["id"]), "--json")
    assert shown.code == 0, shown.err
    document: dict[str, object] = json.loads(shown.out)
    return document


_RETRY = re.compile(r"quaynotify: rule [-0-9a-f]+: attempt \d+/\d+ .*; retrying in [0-9.]+ s")


def assert_failed_in_time(
    ran: Ran, cli: Cli, fragment: str, *, within: float = TIMEOUT + SLACK
) -> str:
    """One failed delivery, ended in time, one line on stderr (after those of its retries,
    told as they happened), journaled with a message."""
    assert ran.seconds < within, f"took {ran.seconds:.1f}s: {ran.err[-500:]}"
    assert ran.code == 1, ran.err[-2000:]
    assert "Traceback" not in ran.err
    lines = [line for line in ran.err.splitlines() if not _RETRY.fullmatch(line)]
    assert len(lines) == 1, ran.err
    assert fragment in lines[0], lines[0]
    assert ran.peak_mb < PEAK_MB, f"peak RSS {ran.peak_mb:.0f} MB"
    delivery = journaled(cli)
    assert delivery["status"] == "failed"
    assert isinstance(delivery["error"], str) and fragment in delivery["error"]
    attempts = delivery["attempts"]
    assert isinstance(attempts, list) and attempts and all(not a["ok"] for a in attempts)
    assert all(a["message"] for a in attempts)
    return lines[0]


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def hostile() -> Iterator[Callable[..., Hostile]]:
    started: list[Hostile] = []

    def start(script: Callable[[Connection], None], **kwargs: object) -> Hostile:
        receiver = Hostile(script, **kwargs)  # type: ignore[arg-type]
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.close()


# -- scripts ----------------------------------------------------------------------------------


def drip_body(conn: Connection) -> None:
    """Headers at once, then the promised 100,000 bytes one at a time."""
    conn.read_request()
    if conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"):
        conn.drip(b"x" * 100_000)


def drip_headers(conn: Connection) -> None:
    """The status line and an endless header, one byte at a time."""
    conn.read_request()
    conn.drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000)


def fast_then_drip(conn: Connection) -> None:
    """A quick 500 on a kept-alive connection, then a drip for the retry on the same one."""
    conn.read_request()
    conn.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
    conn.read_request()
    conn.drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000)


# -- 6: a timeout bounds the whole attempt, the deadline the whole run --------------------------


@pytest.mark.parametrize("script", [drip_body, drip_headers], ids=["body", "headers"])
def test_a_drip_ends_within_the_timeout(
    cli: Cli,
    config_file: Path,
    hostile: Callable[..., Hostile],
    script: Callable[[Connection], None],
) -> None:
    receiver = hostile(script)
    config_file.write_text(config(receiver.url("/hook")))
    ran = run(*EMIT)
    line = assert_failed_in_time(ran, cli, f"timed out after {TIMEOUT}s: webhook to url: ")
    assert receiver.url("/hook") in line


def test_a_drip_on_a_kept_alive_connection_ends_within_the_timeout(
    cli: Cli, config_file: Path, hostile: Callable[..., Hostile]
) -> None:
    receiver = hostile(fast_then_drip)
    config_file.write_text(config(receiver.url("/hook"), attempts=2))
    ran = run(*EMIT)
    assert_failed_in_time(ran, cli, f"timed out after {TIMEOUT}s", within=2 * TIMEOUT + SLACK)
    assert receiver.accepted == 1  # the retry went over the same connection
    attempts = journaled(cli)["attempts"]
    assert isinstance(attempts, list)
    assert [a["status"] for a in attempts] == [500, None]


def test_the_deadline_bounds_the_whole_run(
    cli: Cli, config_file: Path, hostile: Callable[..., Hostile]
) -> None:
    receiver = hostile(drip_body)
    config_file.write_text(config(receiver.url("/hook"), timeout=3, attempts=10))
    ran = run(*EMIT, "--deadline", "5")
    assert_failed_in_time(ran, cli, "timed out after", within=5 + SLACK)


def test_a_receiver_that_never_completes_the_tls_handshake(cli: Cli, config_file: Path) -> None:
    with Hanging() as hanging:
        config_file.write_text(config(f"https://127.0.0.1:{hanging.port}/hook"))
        ran = run(*EMIT)
        assert_failed_in_time(ran, cli, f"timed out after {TIMEOUT}s: webhook to url: https://")
        assert hanging.accepted == 1


def test_a_receiver_that_completes_the_handshake_then_drips(
    cli: Cli, config_file: Path, hostile: Callable[..., Hostile], ca: trustme.CA, ca_file: Path
) -> None:
    receiver = hostile(drip_body, tls=server_context(ca))
    config_file.write_text(
        config(receiver.url("/hook"), extra=f'[webhook]\nca_bundle = "{ca_file}"\n')
    )
    ran = run(*EMIT)
    assert_failed_in_time(ran, cli, f"timed out after {TIMEOUT}s: webhook to url: https://")


# -- SMTP: a server dripping its replies ends within the timeout too ------------------------------


def drip_greeting(conn: Connection) -> None:
    conn.drip(b"220 " + b"s" * 100_000)


def smtp_config(port: int) -> str:
    return (
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'sender = "quay@example.com"\ntimeout = {TIMEOUT}\n'
    )


def test_an_smtp_server_dripping_its_greeting_ends_within_the_timeout(
    cli: Cli, config_file: Path, state_dir: Path, hostile: Callable[..., Hostile]
) -> None:
    server = hostile(drip_greeting)
    config_file.write_text(smtp_config(server.port))
    ran = run("email", "authorize", "acme/web", "dev@example.com")
    assert ran.seconds < TIMEOUT + SLACK, f"took {ran.seconds:.1f}s"
    assert ran.code == 1, ran.err
    assert ran.err.count("\n") == 1 and f"timed out after {TIMEOUT}s" in ran.err, ran.err
    assert ran.peak_mb < PEAK_MB
    # The code was kept: confirm it by hand, then an e-mail rule's delivery meets the drip.
    # (About a hostile SMTP server, not the state, and its memory bound is SQLite's: the
    # default state only. Authorizations on both backends are test_email's.)
    with closing(open_store(state_dir)) as store:
        ((code,),) = rows(store, "SELECT code FROM authorized_email")
    assert cli("email", "confirm", code).code == 0
    write_config(
        config_file,
        smtp_config(server.port) + "[delivery]\nmax_attempts = 1\nbackoff = 0\n",
        rule_toml("email", id=RULE_ID, email="dev@example.com"),
    )
    ran = run(*EMIT)
    assert_failed_in_time(ran, cli, f"SMTP timed out after {TIMEOUT}s")


# -- 7: a body is read only as far as a small prefix, never decompressed ---------------------------


def endless_chunked(conn: Connection) -> None:
    """A 500 whose chunked body goes on for 200 MB."""
    conn.read_request()
    if not conn.send(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"):
        return
    chunk = b"%x\r\n%s\r\n" % (65536, b"e" * 65536)
    for _ in range(200 * 16):
        if not conn.send(chunk):
            return
    conn.send(b"0\r\n\r\n")


@functools.cache
def bomb(megabytes: int) -> bytes:
    """A gzip stream of `megabytes` MB of zeros (about 1 KB each), made without holding them.
    Cached: making it takes seconds, which must not count against the client's timeout."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


def gzip_bomb(conn: Connection) -> None:
    """A 500 whose 300 KB gzip body inflates to 300 MB."""
    body = bomb(300)
    conn.read_request()
    conn.send(
        b"HTTP/1.1 500 Oops\r\nContent-Encoding: gzip\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    conn.hold()


@pytest.mark.parametrize("script", [endless_chunked, gzip_bomb], ids=["chunked-200MB", "gzip-bomb"])
def test_a_huge_or_compressed_body_is_not_read(
    cli: Cli,
    config_file: Path,
    hostile: Callable[..., Hostile],
    script: Callable[[Connection], None],
) -> None:
    if script is gzip_bomb:
        bomb(300)  # made before the clock starts, not while the client waits for the reply
    receiver = hostile(script)
    config_file.write_text(config(receiver.url("/hook")))
    ran = run(*EMIT)
    assert_failed_in_time(ran, cli, "500 response for webhook to url: ")


# -- control characters and Rich markup where text is expected ----------------------------------

OSC_TITLE = b"\x1b]0;pwned\x07"
MARKUP = b"[/bold][link=https://evil.example/]x[/link]"


def evil_reason(conn: Connection) -> None:
    """A 200 whose reason phrase sets the terminal's title and holds Rich markup."""
    conn.read_request()
    conn.send(b"HTTP/1.1 200 OK " + OSC_TITLE + b" " + MARKUP + b"\r\nContent-Length: 0\r\n\r\n")
    conn.hold()


def evil_location(conn: Connection) -> None:
    conn.read_request()
    conn.send(b"HTTP/1.1 302 Found\r\nLocation: " + MARKUP + b"\r\nContent-Length: 0\r\n\r\n")
    conn.hold()


def evil_header(conn: Connection) -> None:
    conn.read_request()
    conn.send(b"HTTP/1.1 500 Oops\r\nX-Evil: " + OSC_TITLE + b"\r\nContent-Length: 0\r\n\r\n")
    conn.hold()


def test_a_reason_phrase_cannot_drive_the_terminal(
    cli: Cli, config_file: Path, hostile: Callable[..., Hostile]
) -> None:
    receiver = hostile(evil_reason)
    config_file.write_text(config(receiver.url("/hook")))
    ran = run(*EMIT)
    assert ran.code == 0, ran.err
    assert ran.seconds < TIMEOUT + SLACK and ran.peak_mb < PEAK_MB
    assert not CONTROL.search(ran.out + ran.err), repr(ran.out + ran.err)
    attempts = journaled(cli)["attempts"]
    assert isinstance(attempts, list)
    message = attempts[0]["message"]
    assert message == "200 OK \\x1b]0;pwned\\x07 " + MARKUP.decode()  # escaped, kept


def test_a_location_with_markup_is_reported_as_it_is(
    cli: Cli, config_file: Path, hostile: Callable[..., Hostile]
) -> None:
    receiver = hostile(evil_location)
    config_file.write_text(config(receiver.url("/hook")))
    ran = run(*EMIT)
    line = assert_failed_in_time(ran, cli, "302 response for webhook to url: ")
    assert line.endswith(f"(redirects are not followed; it points to {MARKUP.decode()})")


def test_a_control_character_in_a_header_is_a_one_line_failure(
    cli: Cli, config_file: Path, hostile: Callable[..., Hostile]
) -> None:
    receiver = hostile(evil_header)
    config_file.write_text(config(receiver.url("/hook")))
    ran = run(*EMIT)
    line = assert_failed_in_time(ran, cli, "500 response for webhook to url: ")
    assert not CONTROL.search(ran.out + ran.err), repr(line)


def test_the_journal_of_hostile_text_shows_on_a_terminal_as_text(
    cli: Cli, config_file: Path, hostile: Callable[..., Hostile]
) -> None:
    """`log` draws a Rich table on a terminal: the receiver's markup must show as written
    (today `[/bold]` makes Rich raise, an internal error)."""
    for script in (evil_reason, evil_location):
        receiver = hostile(script)
        config_file.write_text(config(receiver.url("/hook")))
        run(*EMIT)
    shown = run_in_terminal("log")
    assert not CONTROL.search(shown), repr(shown)
    assert shown.count(MARKUP.decode()) == 2, shown


def test_emit_on_a_terminal_shows_a_hostile_reason_phrase_as_text(
    config_file: Path, hostile: Callable[..., Hostile]
) -> None:
    """`emit` draws its results as a table on a terminal (today: delivered, then exit 4)."""
    receiver = hostile(evil_reason)
    config_file.write_text(config(receiver.url("/hook")))
    shown = run_in_terminal(*EMIT)
    assert not CONTROL.search(shown), repr(shown)
    assert MARKUP.decode() in shown, shown
