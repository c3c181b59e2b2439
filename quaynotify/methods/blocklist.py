"""[webhook] hostname_blocklist: the hosts, addresses and networks no HTTP method may reach,
matched on addresses rather than on how a URL spells them."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from quaynotify.methods.network import Address, normalised, numeric_address, resolve
from quaynotify.methods.tables import Table

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlocklistError(ValueError):
    """An entry of [webhook] hostname_blocklist that is not a name, an address or a network."""


class Blocked(Exception):
    """A request refused because of where it would go; never retried."""


LOCAL_NAMES = ("localhost", "localhost.localdomain")


def host_name(host: str) -> str:
    """A host name as it is compared: lower case, without the trailing dot of an absolute
    name (`LOCALHOST.` is `localhost`)."""
    return host.strip("[]").rstrip(".").lower()


def _is_local_name(name: str) -> bool:
    # RFC 6761: localhost and every name under it are this machine, whatever DNS says.
    return name in LOCAL_NAMES or name.endswith(".localhost")


def _is_this_machine(address: Address) -> bool:
    # 0.0.0.0 and :: reach this machine as 127.0.0.1 and ::1 do, and so does all of 127/8.
    return address.is_loopback or address.is_unspecified


class Blocklist:
    """Quay's HOSTNAME_BLACKLIST made to hold: matched on addresses, not on spelling.

    An entry is a host name, an address or a network (`10.0.0.0/8`). A name blocks itself
    (any case, with or without a trailing dot) and every address it resolves to; an address
    blocks that address however a URL writes it; a network every address in it. An entry
    meaning this machine (localhost, 127.0.0.1, ::1, 0.0.0.0) blocks all of it: 127.0.0.0/8,
    ::1, 0.0.0.0 and ::. Requests are checked on the address actually connected to, so a
    name that resolves differently at send time (DNS rebinding) is caught as well."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.entries = tuple(entries)
        self._names: set[str] = set()
        self._networks: list[Network] = []
        self._local = False
        for entry in entries:
            self._add(entry)
        self._resolved: list[tuple[str, Address]] | None = None
        self._lock = threading.Lock()

    def _add(self, entry: str) -> None:
        text = entry.strip()
        if not text or any(c.isspace() for c in text):
            raise BlocklistError(
                f"[webhook] hostname_blocklist: {entry!r} is not a host name, an address or a"
                " network (like metadata.internal, 169.254.169.254 or 10.0.0.0/8)"
            )
        if "/" in text:
            try:
                network = ipaddress.ip_network(text.strip("[]"), strict=False)
            except ValueError:
                raise BlocklistError(
                    f"[webhook] hostname_blocklist: {entry!r} is not a network: write it"
                    " like 10.0.0.0/8 or fd00::/8"
                ) from None
            self._networks.append(network)
            self._local |= any(_is_this_machine(a) for a in (network[0], network[-1]))
            return
        address = numeric_address(text)
        if address is not None:
            self._networks.append(ipaddress.ip_network(address))
            self._local |= _is_this_machine(address)
            return
        name = host_name(text)
        self._names.add(name)
        self._local |= _is_local_name(name)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def refuses_host(self, host: str) -> str | None:
        """Why a URL's host is refused before anything is looked up (a listed name, a local
        name, or an address however written); None when only its addresses can tell."""
        address = numeric_address(host)
        if address is not None:
            return self._refuses(address, host)
        name = host_name(host)
        if name in self._names:
            return f"{name} is listed"
        if self._local and _is_local_name(name):
            return f"{name} is this machine"
        return None

    def refuses_address(self, host: str, address_text: str, timeout: float | None) -> str | None:
        """Why connecting to `address_text` (one of `host`'s addresses) is refused, or None."""
        address = normalised(ipaddress.ip_address(address_text.split("%", 1)[0]))
        reason = self._refuses(address, host)
        if reason is not None:
            return reason
        for name, listed in self._listed_addresses(timeout):
            if listed == address:
                return f"{host} resolves to {address}, an address of {name}"
        return None

    def _refuses(self, address: Address, host: str) -> str | None:
        shown = f"{host} is {address}" if host_name(host) != str(address) else str(address)
        if self._local and _is_this_machine(address):
            return f"{shown}, this machine"
        for network in self._networks:
            if address.version == network.version and address in network:
                return f"{shown}, in {network}" if network.num_addresses > 1 else shown
        return None

    def _listed_addresses(self, timeout: float | None) -> list[tuple[str, Address]]:
        """The addresses of the listed names, looked up once per run (within the attempt's
        time; a name that cannot be looked up then still blocks itself)."""
        with self._lock:
            if self._resolved is not None:
                return self._resolved
            resolved: list[tuple[str, Address]] = []
            for name in sorted(self._names):
                if _is_local_name(name):
                    continue  # covered by the rule for this machine
                try:
                    found = resolve(name, 0, timeout)
                except OSError:
                    continue
                resolved += [(name, normalised(ipaddress.ip_address(a))) for _, a in found]
            self._resolved = resolved
            return resolved


_BLOCKLISTS: dict[tuple[str, ...], Blocklist] = {}
_BLOCKLISTS_LOCK = threading.Lock()


def blocklist(entries: Sequence[str]) -> Blocklist | None:
    """The blocklist of these entries (one object per distinct list, so that its names are
    looked up once per run); None when there are none. Raises BlocklistError."""
    key = tuple(entries)
    if not key:
        return None
    with _BLOCKLISTS_LOCK:
        found = _BLOCKLISTS.get(key)
        if found is None:
            found = _BLOCKLISTS[key] = Blocklist(key)
        return found


def _blocklist_of(doc: Mapping[str, Any]) -> Blocklist | None:
    # Read as leniently as ever: a [webhook] table that is malformed otherwise fails the
    # webhook rules (parse_webhook says how), not the other HTTP methods.
    table = doc.get("webhook", {})
    value = table.get("hostname_blocklist", []) if isinstance(table, Mapping) else []
    return blocklist([str(v) for v in value] if isinstance(value, list) else [])


# [webhook] hostname_blocklist, which every HTTP method keeps to; raises BlocklistError.
BLOCKLIST = Table(("webhook",), _blocklist_of)
