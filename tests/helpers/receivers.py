"""Small real receivers for delivery tests: a threaded HTTP receiver that records every request,
a socket that accepts connections and never answers, one that resets every connection, one
that answers with raw bytes of the test's choosing, and hostile ones that play a script on a raw
socket (drips, floods, bombs, hangs mid-TLS)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

HOLD_LIMIT = 10.0  # seconds a gated request waits at most: a failsafe, never reached when passing


@dataclass(frozen=True)
class Received:
    """One request as the receiver read it."""

    at: float  # wall clock (time.time) once the whole request was read
    path: str
    webhook_id: str
    body: bytes
    client: tuple[str, int]  # the client's address and port: one per TCP connection


Responder = Callable[[Received, int], int]  # (request, nth time this webhook-id came) -> status


class _Closing:
    """Closed on leaving a `with` block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Receiver(_Closing):
    """A ThreadingHTTPServer on 127.0.0.1 (or `host`) speaking HTTP/1.1 (keep-alive, Nagle off) that
    records every POST and answers with `respond(request, seen)` (200 by default).

    With `saturate=N`, each request is held until N requests are in flight at once (or
    `expected` requests have arrived in all), which makes the peak number of concurrent
    requests a deterministic measure of the client's pool size."""

    def __init__(
        self,
        respond: Responder | None = None,
        *,
        saturate: int | None = None,
        expected: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self._respond = respond or (lambda request, seen: 200)
        self._saturate = saturate
        self._expected = expected
        self._cond = threading.Condition()
        self._requests: list[Received] = []
        self._seen: dict[str, int] = {}
        self._in_flight = 0
        self._wave = 0
        self.max_in_flight = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Received(
                    at=time.time(),
                    path=self.path,
                    webhook_id=self.headers.get("webhook-id", ""),
                    body=body,
                    client=(self.client_address[0], self.client_address[1]),
                )
                status = receiver._handle(request)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                return  # keep the test output quiet

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # 20 processes connecting at once must not hit SYN retries

        self._server = Server((host, 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _handle(self, request: Received) -> int:
        with self._cond:
            self._requests.append(request)
            seen = self._seen[request.webhook_id] = self._seen.get(request.webhook_id, 0) + 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            if self._saturate is not None:
                wave = self._wave
                if self._open():
                    # Release every request held in this wave, not just the one that filled it.
                    self._wave += 1
                    self._cond.notify_all()
                else:
                    self._cond.wait_for(lambda: self._wave != wave, timeout=HOLD_LIMIT)
            # Leave the count before answering: the client's worker cannot send its next
            # request before it has this answer, so the count never overstates the pool.
            self._in_flight -= 1
        return self._respond(request, seen)

    def _open(self) -> bool:
        assert self._saturate is not None
        arrived = len(self._requests)
        return self._in_flight >= self._saturate or (
            self._expected is not None and arrived >= self._expected
        )

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def requests(self) -> list[Received]:
        with self._cond:
            return list(self._requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class _Acceptor(_Closing):
    """A listening socket on 127.0.0.1 whose accepted connections go to `on_accept`."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.05)  # lets the accept loop notice close() promptly
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.accepted = 0
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            self.on_accept(conn)

    def on_accept(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._listener.close()


class Hanging(_Acceptor):
    """Accepts every connection and never answers: each attempt ends in the client's timeout."""

    def __init__(self) -> None:
        self._held: list[socket.socket] = []
        super().__init__()

    def on_accept(self, conn: socket.socket) -> None:
        self._held.append(conn)  # kept open, never read, never answered

    def close(self) -> None:
        super().close()
        for conn in self._held:
            conn.close()


class Resetting(_Acceptor):
    """Accepts every connection and resets it at once (RST, not FIN): a connection error."""

    def on_accept(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


class Answering(_Acceptor):
    """Reads each request and answers it with `response`, raw bytes exactly as given (then
    closes): what an HTTP server library would refuse or rewrite, such as control characters
    or markup in a reason phrase or a Location header."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        super().__init__()

    def on_accept(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(HOLD_LIMIT)
            if b"\r\n\r\n" in Connection(conn, self._stop).read_request():
                conn.sendall(self.response)


# -- hostile receivers: raw sockets that misbehave on purpose -----------------------------------

DRIP_INTERVAL = 0.25  # seconds between the bytes of a drip: well inside any per-read timeout


class Connection:
    """One accepted connection of a Hostile receiver, as its script sees it."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop

    def read_request(self) -> bytes:
        """The request's head and body (by Content-Length), or what came before EOF."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._recv()
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(body) < length:
            chunk = self._recv()
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def send(self, data: bytes) -> bool:
        """Send it all; False once the client has gone (or the receiver is closing)."""
        if self.stop.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def drip(self, data: bytes, interval: float = DRIP_INTERVAL) -> bool:
        """Send `data` one byte at a time, `interval` seconds apart."""
        for i in range(len(data)):
            if self.stop.wait(interval) or not self.send(data[i : i + 1]):
                return False
        return True

    def hold(self) -> None:
        """Keep the connection open, saying nothing, until the client or the receiver ends."""
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                if self.sock.recv(65536) == b"":
                    return
            except TimeoutError:
                continue
            except OSError:
                return


Script = Callable[[Connection], None]


class Hostile(_Acceptor):
    """Accepts connections and plays `script` on each, in a thread of its own. With `tls`
    (a server-side context), each connection first completes a TLS handshake."""

    def __init__(self, script: Script, *, tls: ssl.SSLContext | None = None) -> None:
        self._script = script
        self._tls = tls
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._closing = threading.Event()
        super().__init__()

    def on_accept(self, conn: socket.socket) -> None:
        thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _serve(self, conn: socket.socket) -> None:
        sock = conn
        try:
            if self._tls is not None:
                conn.settimeout(HOLD_LIMIT)
                try:
                    sock = self._tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    return
                sock.settimeout(None)
            self._socks.append(sock)
            self._script(Connection(sock, self._closing))
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._closing.set()
        super().close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)


def server_context(ca: Any, *hostnames: str) -> ssl.SSLContext:
    """A server-side TLS context with a certificate from `ca` (a trustme.CA) for
    `hostnames` (default: 127.0.0.1 and localhost)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(hostnames or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context
