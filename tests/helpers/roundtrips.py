"""A TCP proxy in front of a server that counts round trips: the times a client, having
had an answer, sends again. Across a network each of them costs the client a full network
latency, so their count is what a change to the protocol's use can be judged by, without
timing anything (this machine is shared and noisy).

It counts what the client waits for only when the server answers nothing unasked: true of
PostgreSQL, which in pipeline mode holds its results back until the client syncs or asks for
them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit


class RoundTrips:
    """Listens on 127.0.0.1 on a free port and forwards each connection to `target`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.turns = 0  # over every connection, so far
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str) -> str:
        """`url` (a postgresql:// URL to the target) through the proxy."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def total(self) -> int:
        with self._lock:
            return self.turns

    def reset(self) -> None:
        with self._lock:
            self.turns = 0

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.target)
        last = [""]  # who sent the last bytes on this connection

        def pump(src: socket.socket, dst: socket.socket, side: str) -> None:
            try:
                while data := src.recv(65536):
                    with self._lock:
                        if side == "client" and last[0] != "client":
                            self.turns += 1
                        last[0] = side
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(server, client, "server"), daemon=True)
        back.start()
        pump(client, server, "client")
        back.join()
        client.close()
        server.close()


@contextmanager
def counting(url: str) -> Iterator[tuple[RoundTrips, str]]:
    """A proxy in front of the PostgreSQL server of `url`, and the URL through it."""
    parts = urlsplit(url)
    proxy = RoundTrips((parts.hostname or "127.0.0.1", parts.port or 5432))
    try:
        yield proxy, proxy.url(url)
    finally:
        proxy.close()
