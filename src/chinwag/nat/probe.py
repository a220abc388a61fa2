"""Talk to one STUN or TURN server as a browser would, with aioice's client.

aioice (the ICE library under aiortc) ships the STUN codec and a TURN client
(``aioice.turn``); this module only opens its client over the right transport
and turns what goes wrong into a :class:`ProbeError` with a stable ``code``:

- ``resolve-failed``: the host name does not resolve;
- ``unreachable``: TCP connection refused, or no answer at all in time
  (a closed UDP port and a firewall that drops packets look the same);
- ``tls-failed``: the TLS handshake of a ``turns:`` URL failed;
- ``credentials-refused``: 401 after authenticating, or 431 (integrity check
  failed): the TURN server does not accept the username/password;
- ``peer-refused``: 403 to ChannelBind: the relay will not forward to that
  address (coturn's ``denied-peer-ip`` / ``allowed-peer-ip``);
- ``relay-no-data``: two allocations exist but nothing crosses between them;
- ``turn-error``: any other STUN error response.

The same client object does a plain Binding (the reflexive address) and then
Allocate, so one connection answers "can I reach it" and "will it relay".
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Final, TypeVar

from aioice import stun
from aioice.turn import TurnClientProtocol, TurnClientTcpProtocol, TurnClientUdpProtocol

__all__ = [
    "Address",
    "ProbeError",
    "TurnTarget",
    "allocate",
    "binding",
    "open_client",
    "relay_round_trip",
    "resolve",
]

Address = tuple[str, int]

#: What the probe sends through the relay; any bytes would do.
PAYLOAD: Final = b"chinwag doctor relay check"
_LIFETIME: Final = 600
_CHANNEL_REFRESH: Final = 500
_CREDENTIAL_ERRORS: Final = (401, 431)
T = TypeVar("T")


class ProbeError(Exception):
    """A probe step failed; ``code`` names why (see the module docstring)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class TurnTarget:
    """Where to connect and with which credentials; ``transport`` is udp, tcp or tls."""

    host: str
    port: int
    transport: str
    username: str | None = None
    password: str | None = None


async def resolve(host: str, port: int, transport: str) -> Address:
    """The first address ``host`` resolves to (IPv4 preferred, as browsers mostly use it)."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host.strip("[]"), port, type=kind)
    except socket.gaierror as error:
        raise ProbeError("resolve-failed", f"{host} does not resolve: {error}") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    address = infos[0][4]
    return str(address[0]), int(address[1])


async def open_client(target: TurnTarget, address: Address, patience: float) -> TurnClientProtocol:
    """aioice's TURN client connected to ``address``; close with :func:`close_client`."""
    loop = asyncio.get_running_loop()

    def make_udp() -> TurnClientUdpProtocol:
        return TurnClientUdpProtocol(
            address, target.username, target.password, _LIFETIME, _CHANNEL_REFRESH
        )

    def make_tcp() -> TurnClientTcpProtocol:
        return TurnClientTcpProtocol(
            address, target.username, target.password, _LIFETIME, _CHANNEL_REFRESH
        )

    if target.transport == "udp":
        _, udp = await loop.create_datagram_endpoint(make_udp, remote_addr=address)
        return udp
    context: ssl.SSLContext | None = None
    if target.transport == "tls":
        context = ssl.create_default_context()
    try:
        _, tcp = await asyncio.wait_for(
            loop.create_connection(
                make_tcp,
                *address,
                ssl=context,
                server_hostname=target.host.strip("[]") if context else None,
            ),
            patience,
        )
    except ssl.SSLError as error:
        raise ProbeError("tls-failed", f"TLS handshake failed: {error}") from None
    except (OSError, TimeoutError) as error:
        reason = "connection refused" if isinstance(error, ConnectionRefusedError) else "no answer"
        raise ProbeError("unreachable", f"TCP {address[0]}:{address[1]}: {reason}") from None
    return tcp


async def close_client(client: TurnClientProtocol, patience: float) -> None:
    """Free the allocation (if any) and close the connection, without waiting long."""
    if client.relayed_address is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.delete(), patience)
    client.transport.close()


async def binding(client: TurnClientProtocol, patience: float) -> Address:
    """A STUN Binding: the address the server sees us at (the srflx candidate)."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    response, _ = await _transact(client.request(request), patience, "Binding")
    mapped = response.attributes.get("XOR-MAPPED-ADDRESS")
    if mapped is None:
        raise ProbeError("turn-error", "Binding response without XOR-MAPPED-ADDRESS")
    return str(mapped[0]), int(mapped[1])


async def allocate(client: TurnClientProtocol, patience: float) -> Address:
    """A TURN Allocate with the client's credentials: the relayed address."""
    relayed = await _transact(client.connect(), patience, "Allocate")
    return str(relayed[0]), int(relayed[1])


class _Inbox(asyncio.DatagramProtocol):
    """Where one allocation's relayed data lands."""

    def __init__(self) -> None:
        self.received = asyncio.Event()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if data == PAYLOAD:
            self.received.set()


async def relay_round_trip(
    first: TurnClientProtocol, second: TurnClientProtocol, patience: float
) -> None:
    """Send from each allocation to the other (ChannelBind + ChannelData) until both
    receive; raise ProbeError if that does not happen within ``patience``."""
    assert first.relayed_address is not None and second.relayed_address is not None
    inboxes = _Inbox(), _Inbox()
    first.receiver, second.receiver = inboxes

    async def exchange() -> None:
        # Resend until both arrive: over UDP the first packets may cross a
        # permission being installed on the other side.
        while not all(inbox.received.is_set() for inbox in inboxes):
            await first.send_data(PAYLOAD, second.relayed_address)  # type: ignore[arg-type]
            await second.send_data(PAYLOAD, first.relayed_address)  # type: ignore[arg-type]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inboxes[0].received.wait(), 0.2)

    try:
        await _transact(exchange(), patience, "ChannelBind")
    except ProbeError as error:
        if error.code != "unreachable":
            raise
        raise ProbeError(
            "relay-no-data",
            f"allocations {first.relayed_address} and {second.relayed_address} exist, "
            f"but no data crossed between them in {patience:g} s",
        ) from None


async def _transact(step: Awaitable[T], patience: float, what: str) -> T:
    """Await one STUN exchange, naming the failure as a ProbeError."""
    try:
        return await asyncio.wait_for(step, patience)
    except TimeoutError:
        raise ProbeError("unreachable", f"no answer to {what} in {patience:g} s") from None
    except stun.TransactionFailed as error:
        code, reason = error.response.attributes.get("ERROR-CODE", (0, "no error code"))
        if code in _CREDENTIAL_ERRORS:
            detail = f"the relay refused the credentials ({what}: {code} {reason})"
            raise ProbeError("credentials-refused", detail) from None
        if code == 403 and what == "ChannelBind":
            raise ProbeError("peer-refused", f"{what}: 403 {reason}") from None
        raise ProbeError("turn-error", f"{what}: {code} {reason}") from None
    except (OSError, ConnectionError) as error:
        raise ProbeError("unreachable", f"{what}: {error}") from None
