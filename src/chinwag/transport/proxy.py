"""The client's address behind a trusted reverse proxy: X-Forwarded-For or the PROXY protocol.

With ``--trusted-proxy`` (addresses or networks), a connection whose peer is
one of them may say whose it is:

* ``X-Forwarded-For`` on the WebSocket upgrade: the entries are read from the
  right, skipping trusted proxies; the first one that is not trusted is the
  client (the leftmost entries are whatever the client sent, so they are never
  believed). Every hop appends, so the rightmost untrusted entry was written
  by a proxy chinwag trusts.
* The PROXY protocol v1 (``PROXY TCP4 <client> <proxy> <cport> <pport>\\r\\n``)
  as the first line of a plain TCP connection (haproxy, nginx ``stream``).

Connections from anyone else are what their socket says; their headers are
never read for an address. Every per-address limit and back-off (connections,
sign-in and room-password back-off, history quota, TURN credentials) then
counts the client, not the proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

__all__ = ["MAX_PROXY_LINE", "TrustedProxies", "parse_proxy_line"]

#: The longest PROXY v1 line (the spec's 107 bytes with CRLF).
MAX_PROXY_LINE: Final = 107

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The proxies whose word on the client's address is believed."""

    def __init__(self, networks: Iterable[str]) -> None:
        """``networks``: addresses or CIDR networks; ValueError names a bad one."""
        self.networks: list[Network] = [
            ipaddress.ip_network(n.strip(), strict=False) for n in networks
        ]

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, ip: str) -> bool:
        address = _address(ip)
        return address is not None and any(address in network for network in self.networks)

    def client_of(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address for a request from ``peer`` carrying ``forwarded_for``."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            address = _address(entry)
            if address is None:
                return client  # not an address (a misconfigured hop): the last one believed
            client = str(address)
            if not self.trusts(client):
                return client
        return client  # every hop trusted: the leftmost


def parse_proxy_line(data: bytes) -> tuple[str | None, int] | None:
    """A PROXY v1 header at the start of ``data``: (client address or None for
    ``UNKNOWN``, bytes it took); None while incomplete. ValueError if it is not one."""
    end = data.find(b"\r\n", 0, MAX_PROXY_LINE)
    if end < 0:
        if len(data) >= MAX_PROXY_LINE or not b"PROXY "[: len(data)] == data[:6][: len(data)]:
            raise ValueError("not a PROXY protocol v1 header")
        return None
    parts = data[:end].decode("ascii", "replace").split(" ")
    if parts[0] != "PROXY" or len(parts) < 2:
        raise ValueError("not a PROXY protocol v1 header")
    if parts[1] == "UNKNOWN":
        return None, end + 2
    if parts[1] not in ("TCP4", "TCP6") or len(parts) != 6:
        raise ValueError("a PROXY header needs TCP4 or TCP6 and four fields")
    address = _address(parts[2])
    if address is None:
        raise ValueError(f"bad client address in the PROXY header: {parts[2]!r}")
    return str(address), end + 2
