"""The benchmarks' local webhook receiver, run as its own process so it never competes with the
measured process for the GIL: a fast HTTP/1.1 keep-alive endpoint, and one that never answers.

Prints one line, `<http port> <dead port>`, when both are listening. Control endpoints:
GET /_reset forgets the receipts; GET /_wait?n=N&timeout=S returns (as JSON) the receipt times
once N requests have arrived or S seconds have passed. Times are `time.monotonic()`, which is
system-wide on Linux and macOS, so the harness can compare them with its own.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_lock = threading.Condition()
_times: list[float] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many requests
    # Without TCP_NODELAY the reply waits for the client's delayed ACK: ~40 ms per request.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        now = time.monotonic()
        with _lock:
            _times.append(now)
            _lock.notify_all()
        self._reply(200, b"")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/_reset":
            with _lock:
                _times.clear()
            self._reply(200, b"{}")
        elif url.path == "/_wait":
            n = int(query.get("n", ["0"])[0])
            timeout = float(query.get("timeout", ["10"])[0])
            end = time.monotonic() + timeout
            with _lock:
                while len(_times) < n and (left := end - time.monotonic()) > 0:
                    _lock.wait(left)
                times = list(_times)
            self._reply(200, json.dumps({"count": len(times), "times": times}).encode())
        else:
            self._reply(404, b"")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        # A client killed mid-connection (the stall benchmark does that) is expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _hold_forever(listener: socket.socket) -> None:
    """Accept every connection and never read or answer: a receiver that hangs."""
    held = []
    while True:
        conn, _ = listener.accept()
        held.append(conn)


def main() -> None:
    server = Server(("127.0.0.1", 0), Handler)
    dead = socket.create_server(("127.0.0.1", 0), backlog=256)
    threading.Thread(target=_hold_forever, args=(dead,), daemon=True).start()
    print(server.server_address[1], dead.getsockname()[1], flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
