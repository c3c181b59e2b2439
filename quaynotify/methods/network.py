"""Connections that keep to an attempt's time limit and to the hostname blocklist: the
attempt's deadline, name resolution that gives up with it, the network backend every HTTP
client of a run connects through (checking each address against the attempt's blocklist,
methods/blocklist.py), and the watchdog of SMTP sessions."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from quaynotify.methods.blocklist import Blocklist

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (family, the address as text): what resolution gives and a connection is made to
Resolved = tuple[int, str]


# -- the attempt's deadline ----------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One attempt in progress on this thread: when its time is up (time.monotonic()), and
    the blocklist its connections must keep to (None: no list)."""

    deadline: float
    blocklist: Blocklist | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


_current = threading.local()


@contextmanager
def attempt(timeout: float, blocklist: Blocklist | None = None) -> Iterator[Attempt]:
    """Make the calling thread's socket operations end within `timeout` seconds in all.

    httpx's timeouts, like smtplib's, bound each socket operation, so a receiver sending one
    byte a second never trips them; every operation of the backend below is given the time
    left instead, and none starts once it is gone. A sync httpx client does all its I/O in
    the calling thread, which is what makes a thread-local the right carrier."""
    previous = getattr(_current, "attempt", None)
    current = Attempt(time.monotonic() + timeout, blocklist)
    _current.attempt = current
    try:
        yield current
    finally:
        _current.attempt = previous


def current() -> Attempt | None:
    found: Attempt | None = getattr(_current, "attempt", None)
    return found


def time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` (one operation's limit) cut to what is left of the attempt; raises
    `expired` when nothing is left. Outside an attempt, `timeout` as it is."""
    now = current()
    if now is None:
        return timeout
    left = now.remaining()
    if left <= 0:
        raise expired("the attempt's time is up")
    return left if timeout is None else min(timeout, left)


# -- name resolution -----------------------------------------------------------------------------


def numeric_address(host: str) -> Address | None:
    """The address a host written as a number means, in every form the C library takes
    (127.1, 0x7f000001, 2130706433, [::ffff:127.0.0.1]), normalised: an IPv4-mapped IPv6
    address is its IPv4 address. None for a name."""
    text = host.strip("[]")
    try:
        infos = socket.getaddrinfo(text, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    return normalised(ipaddress.ip_address(str(infos[0][4][0]).split("%", 1)[0]))


def normalised(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def resolve(host: str, port: int, timeout: float | None) -> list[Resolved]:
    """The addresses of `host`, in the resolver's order. getaddrinfo() cannot be given a
    time limit, so a name is looked up in a thread of its own that is abandoned (not
    waited for) when `timeout` passes: TimeoutError."""
    literal = numeric_address(host)
    if literal is not None:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return [(family, str(literal))]
    found: list[Resolved] = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            failure.append(exc)
            return
        for family, _, _, _, sockaddr in infos:
            entry = (int(family), str(sockaddr[0]))
            if entry not in found:
                found.append(entry)

    worker = threading.Thread(target=lookup, name="resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"looking up {host} timed out")
    if failure:
        raise failure[0]
    if not found:
        raise OSError(f"{host} has no address")
    return found


# -- the network backend of the HTTP clients -----------------------------------------------------


def install(client: httpx.Client) -> None:
    """Route every connection `client` makes, direct or through a proxy from the
    environment, through the bounded backend below. httpx has no public way to choose the
    network backend of the transports it builds, so this sets the one attribute of each
    connection pool that holds it (checked by tests/test_hostile.py)."""
    import httpcore
    import httpx

    transports: Iterable[Any] = [client._transport, *client._mounts.values()]
    for transport in transports:
        if transport is None:
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if not isinstance(backend, httpcore.NetworkBackend):
            raise RuntimeError(
                f"httpx {httpx.__version__} builds its transports differently:"
                " quaynotify cannot bound its attempts with it"
            )
        # Through a proxy, the connection made is to the proxy: the proxy resolves the
        # names, and only the names and literal addresses of URLs can be checked.
        direct = type(pool) is httpcore.ConnectionPool
        pool._network_backend = _backend_class()(backend, check_addresses=direct)  # type: ignore[union-attr]


@functools.cache
def _backend_class() -> type[Any]:
    # Built on first use: httpcore is imported only by a run that sends over HTTP.
    import httpcore

    from quaynotify.methods.blocklist import Blocked

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
            now = current()
            if self._check and now is not None and now.blocklist:
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
                addresses = allowed
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

    return BoundedBackend


# -- plain sockets (SMTP) ------------------------------------------------------------------------


def connect(host: str, port: int, timeout: float, source_address: Any = None) -> socket.socket:
    """socket.create_connection(), with the name looked up within `timeout` as well."""
    deadline = time.monotonic() + timeout
    error: OSError | None = None
    for _, address in resolve(host, port, timeout):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"connecting to {host} timed out")
        try:
            return socket.create_connection(
                (address, port), timeout=left, source_address=source_address
            )
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


class Watchdog:
    """Ends an exchange that outlives its time: when `timeout` passes it shuts down every
    socket it watches, which makes a blocked recv or send (smtplib's, whose timeout is per
    operation) return at once. Watched sockets are duplicates, so that the shutdown still
    reaches the connection after the ssl module has wrapped (and detached) the original."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.expired = False
        self._deadline = time.monotonic() + timeout
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def left(self) -> float:
        return self._deadline - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        copy = sock.dup()
        with self._lock:
            self._sockets.append(copy)
            if self.expired:
                _shut(copy)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)
