"""Connections that keep to an attempt's time limit and to the hostname blocklist: the
attempt's deadline, name resolution that gives up with it, installing the network backend
every HTTP client of a run connects through (bounded.py: each address checked against the
attempt's blocklist, blocklist.py), and the watchdog of SMTP sessions."""

from __future__ import annotations

import contextlib
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

    from quaynotify.methods.bounded import BoundedBackend

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
        pool._network_backend = BoundedBackend(backend, check_addresses=direct)  # type: ignore[union-attr]


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
