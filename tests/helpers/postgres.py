"""A PostgreSQL server of the suite's own: Debian's binaries, a cluster made by `initdb` in a
temporary directory, listening on 127.0.0.1 on a free port (and a unix socket in that
directory), tuned for tests rather than durability, with password (scram-sha-256) logins over
TCP for the role `quaynotify`.

The `postgres` fixture of conftest.py starts one, the first time a test asks for it, and
closes it at the end of the session. `initdb` and `postgres` refuse to run as root: when the
suite is root (as CI is), the server runs as `nobody`, which then owns the directory.

With `tls`, a certificate authority (trustme's), the server also speaks TLS, with a
certificate that authority issued for 127.0.0.1, and takes TCP logins over TLS alone
(`hostssl`): a client that connects without TLS is refused, so one that gets in used it.

The suite itself administers the server (creating and dropping databases) as the cluster's
superuser `postgres`, over the unix socket, where the server trusts local connections; tests
and quaynotify connect as `quaynotify` over TCP, with its password, like a CI runner would.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from helpers.tools import missing

if TYPE_CHECKING:
    import psycopg
    import trustme

DEBIAN = Path("/usr/lib/postgresql")
ROLE = "quaynotify"
SUPERUSER = "postgres"
UNPRIVILEGED = "nobody"  # who runs the server when the suite is root
HOST = "127.0.0.1"
STARTUP = 60.0  # seconds the server gets to start or stop before we give up on it
DROP_BATCH = 16  # databases discarded by tests, dropped together

SETTINGS = {
    "listen_addresses": HOST,
    # a test database need not survive a crash of the machine
    "fsync": "off",
    "full_page_writes": "off",
    # but it keeps what it acknowledged through a crash of the server (stop(immediate=True)):
    # with fsync off a commit's flush is one write() to the page cache, which costs nothing
    # measurable, while synchronous_commit = off would lose the last commits acknowledged
    # before the crash, and a fault test would see records lost that the client saw saved
    "synchronous_commit": "on",
    # 4 machines x 20 parallel emits x a few connections each
    "max_connections": "300",
    "log_min_messages": "warning",
}


@dataclass(frozen=True)
class Backend:
    """What the `backend` fixture gives a test: the backend's name, and for PostgreSQL the
    URL of the test's database (also in QUAYNOTIFY_STATE_URL)."""

    name: str  # "sqlite" or "postgres"
    url: str | None


def find_bindir() -> Path | None:
    """The directory of `initdb` and `postgres`: Debian's newest version, else where
    `pg_config` says, else where `initdb` is on PATH; None when there is none."""
    versions = sorted(
        (p for p in DEBIAN.glob("*/bin") if p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
        reverse=True,
    )
    candidates = list(versions)
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout
        candidates.append(Path(out.strip()))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "postgres")):
            return bindir
    return None


def need_postgres() -> Path:
    """The binaries' directory; skips the test when PostgreSQL or psycopg is missing (fails
    when tools are required)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg", "pip install -e '.[test]'")
    bindir = find_bindir()
    if bindir is None:
        missing("PostgreSQL (initdb and postgres)", "apt-get install postgresql")
    return bindir


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class PostgresServer:
    """One cluster in a temporary directory; `launch()` makes and starts it."""

    def __init__(self, bindir: Path, tls: trustme.CA | None = None) -> None:
        self.bindir = bindir
        self.tls = tls
        self.settings = dict(SETTINGS)
        self.password = secrets.token_urlsafe(24)
        self.port = 0
        self.account: pwd.struct_passwd | None = None  # the user the server runs as, if not us
        if os.geteuid() == 0:
            self.account = pwd.getpwnam(UNPRIVILEGED)
        self.root = Path(tempfile.mkdtemp(prefix="quaynotify-pg-", dir=_scratch(self.account)))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._admin: psycopg.Connection[Any] | None = None
        self._databases = 0
        self._discarded: list[str] = []
        atexit.register(self.close)

    @classmethod
    def launch(cls, bindir: Path, tls: trustme.CA | None = None) -> PostgresServer:
        """A new cluster, started; with `tls`, speaking TLS only over TCP (see above)."""
        server = cls(bindir, tls)
        try:
            server._initdb()
            if tls is not None:
                server._use_tls(tls)
            server._start_on_a_free_port()
            server._admin_sql(
                "CREATE ROLE {} LOGIN PASSWORD {}", _ident(ROLE), _literal(server.password)
            )
        except BaseException:
            server.close()
            raise
        return server

    # -- what tests use ---------------------------------------------------------------------

    def url(self, dbname: str, password: str | None = None) -> str:
        """The URL quaynotify is given: role `quaynotify` over TCP, with its password unless
        another one is given (to check that a wrong one is refused)."""
        secret = quote(self.password if password is None else password, safe="")
        return f"postgresql://{ROLE}:{secret}@{HOST}:{self.port}/{dbname}"

    def role(self, name: str, password: str) -> None:
        """Another login role, with `password` (any characters), that may connect to every
        database; dropped with the cluster. `url_as()` makes its URLs."""
        self._admin_sql("CREATE ROLE {} LOGIN PASSWORD {}", _ident(name), _literal(password))

    def url_as(self, user: str, password: str, dbname: str) -> str:
        """A URL for another role, its user and password percent-encoded as a URL needs."""
        userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}"
        return f"postgresql://{userinfo}@{HOST}:{self.port}/{dbname}"

    def database(self) -> str:
        """A fresh, empty database owned by `quaynotify`: its URL."""
        self._databases += 1
        name = f"test_{self._databases}"
        self._admin_sql("CREATE DATABASE {} OWNER {}", _ident(name), _ident(ROLE))
        return self.url(name)

    def discard(self, url: str) -> None:
        """A test is done with a database that `database()` made: it is dropped, with
        whoever is still connected to it, once a few have been discarded. One checkpoint
        before the batch makes each drop cheap, where alone each would wait for one."""
        self._discarded.append(urlsplit(url).path.lstrip("/"))
        if len(self._discarded) < DROP_BATCH or not self.running:
            return
        self._admin_sql("CHECKPOINT")
        while self._discarded:
            name = self._discarded.pop()
            self._admin_sql("DROP DATABASE IF EXISTS {} WITH (FORCE)", _ident(name))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, immediate: bool = False) -> None:
        """Stop the server: a fast shutdown (sessions are ended, then it exits), or with
        `immediate` an abrupt one, as if it crashed (the next start recovers). Idempotent."""
        self._disconnect()
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT if immediate else signal.SIGINT)
            try:
                process.wait(timeout=STARTUP)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def start(self) -> None:
        """Start the server again on the same port, with the same data. Idempotent."""
        if not self.running:
            self._start(self.port)

    def close(self) -> None:
        """Stop the server and remove its directory. Idempotent."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.close)

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        assert self.process is not None, "the server is not running"
        return self.process.pid

    # -- making and running the cluster -----------------------------------------------------

    def _initdb(self) -> None:
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        # initdb wants a superuser password when TCP logins need one; nobody uses it
        pwfile = self.root / "superuser-password"
        pwfile.write_text(secrets.token_urlsafe(24) + "\n")
        pwfile.chmod(0o600)
        if self.account is not None:
            os.chown(pwfile, self.account.pw_uid, self.account.pw_gid)
        command = [
            str(self.bindir / "initdb"),
            f"--pgdata={self.data}",
            f"--username={SUPERUSER}",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, **self._as_owner())
        finally:
            pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def _use_tls(self, ca: trustme.CA) -> None:
        """A certificate for HOST from `ca`, its key readable by the server's owner alone (the
        server refuses a key others can read), and TCP logins over TLS only."""
        leaf = ca.issue_cert(HOST)
        cert, key = self.root / "server.crt", self.root / "server.key"
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key.write_bytes(leaf.private_key_pem.bytes())
        key.chmod(0o600)
        if self.account is not None:
            for path in (cert, key):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
        self.settings.update(ssl="on", ssl_cert_file=str(cert), ssl_key_file=str(key))
        hba = self.data / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        # `host` matches connections with or without TLS; `hostssl` only those with it
        hba.write_text(
            "\n".join(
                "hostssl" + line[len("host") :] if line.split()[:1] == ["host"] else line
                for line in lines
            )
            + "\n"
        )

    def _start_on_a_free_port(self) -> None:
        # the port can be taken between our probe and the server's bind: try another
        for attempt in range(5):
            try:
                self._start(free_port())
                return
            except _PortTaken:
                if attempt == 4:
                    raise

    def _start(self, port: int) -> None:
        self.port = port
        settings = {**self.settings, "port": str(port), "unix_socket_directories": str(self.root)}
        command = [str(self.bindir / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # our own session: a Ctrl-C at the terminal reaches pytest, whose teardown
                # then stops the server, rather than killing it under a running test
                start_new_session=True,
                **self._as_owner(),
            )
        self._wait_until_ready(offset)

    def _wait_until_ready(self, offset: int) -> None:
        assert self.process is not None
        pidfile = self.data / "postmaster.pid"
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                log = self.log.read_bytes()[offset:].decode(errors="replace")
                if "Address already in use" in log:
                    raise _PortTaken(log)
                raise RuntimeError(f"postgres exited while starting:\n{log}")
            with contextlib.suppress(FileNotFoundError):
                lines = pidfile.read_text().splitlines()
                # line 1 is the postmaster's pid, line 8 its status (what pg_ctl waits for)
                if len(lines) >= 8 and lines[0] == str(self.pid) and lines[7].strip() == "ready":
                    return
            time.sleep(0.01)
        self.stop(immediate=True)
        raise RuntimeError(f"postgres did not start within {STARTUP} s: see {self.log}")

    def _as_owner(self) -> dict[str, Any]:
        """subprocess arguments that run a command as the server's owner, in its directory."""
        if self.account is None:
            return {"cwd": self.root}
        return {
            "cwd": self.root,
            "user": self.account.pw_uid,
            "group": self.account.pw_gid,
            "extra_groups": [],
        }

    # -- administration, as the superuser over the unix socket ------------------------------

    def _admin_sql(self, statement: str, *parts: Any) -> None:
        from psycopg import sql

        if not self.running:
            raise RuntimeError("the PostgreSQL server is stopped: start() it first")
        if self._admin is None or self._admin.closed:
            import psycopg

            self._admin = psycopg.connect(
                host=str(self.root),
                port=self.port,
                user=SUPERUSER,
                dbname="postgres",
                autocommit=True,
                connect_timeout=10,
            )
        self._admin.execute(sql.SQL(statement).format(*parts))

    def _disconnect(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None


class _PortTaken(RuntimeError):
    pass


def _ident(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(name)


def _literal(value: str) -> Any:
    from psycopg import sql

    return sql.Literal(value)


def _scratch(account: pwd.struct_passwd | None) -> str:
    """Where to make the server's directory: the usual temporary directory, unless the
    server's owner could not reach a directory inside it (a private TMPDIR of root's)."""
    base = Path(tempfile.gettempdir()).resolve()
    if account is None:
        return str(base)
    for directory in (base, *base.parents):
        mode = directory.stat()
        if not (mode.st_mode & 0o001 or mode.st_uid == account.pw_uid):
            return "/tmp"
    return str(base)
