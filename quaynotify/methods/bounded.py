"""The network backend every HTTP client of a run connects through: each name looked up and
each connection made within the attempt's time left, each address checked against the attempt's
blocklist. Imported (with httpcore) only by a run that sends over HTTP: see network.install()."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore

from quaynotify.methods.blocklist import Blocked
from quaynotify.methods.network import Resolved, current, resolve, time_left


class BoundedStream(httpcore.NetworkStream):
    """A connection whose every operation gets the attempt's time left, at most."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # One limit for the whole buffer: a receiver that reads slowly enough to make
        # the kernel wait for buffer space trips it.
        self._inner.write(buffer, time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # The ssl module bounds a whole handshake by the socket's timeout (not each
        # read in it), so a receiver that stalls or drips its handshake trips it.
        limit = time_left(timeout, httpcore.ConnectTimeout)
        return BoundedStream(self._inner.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class BoundedBackend(httpcore.NetworkBackend):
    """Connects as httpcore does, except that the name is looked up here, within the
    attempt's time, each address is checked against the blocklist, and the connection
    is made to the address that was checked (so DNS cannot answer differently in
    between)."""

    def __init__(self, inner: httpcore.NetworkBackend, *, check_addresses: bool) -> None:
        self._inner = inner
        self._check = check_addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port, time_left(timeout, httpcore.ConnectTimeout))
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        if self._check:
            addresses = _allowed(host, addresses, timeout)
        error: Exception | None = None
        for _, address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    time_left(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return BoundedStream(stream)
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        limit = time_left(timeout, httpcore.ConnectTimeout)
        return BoundedStream(self._inner.connect_unix_socket(path, limit, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _allowed(host: str, addresses: list[Resolved], timeout: float | None) -> list[Resolved]:
    """The addresses the attempt's blocklist allows; Blocked, with the first refusal's reason,
    when it allows none."""
    now = current()
    if now is None or not now.blocklist:
        return addresses
    allowed = []
    refusal = None
    for family, address in addresses:
        left = time_left(timeout, httpcore.ConnectTimeout)
        reason = now.blocklist.refuses_address(host, address, left)
        if reason is None:
            allowed.append((family, address))
        else:
            refusal = refusal or reason
    if not allowed:
        raise Blocked(refusal)
    return allowed
