"""An embedded STUN responder (RFC 5389 Binding), so small sites need no coturn for STUN.

The core, :func:`answer`, does no I/O: one datagram and its source address
go in, the reply datagram (or ``None``: stay silent) comes out.
:class:`StunResponder` is the thin asyncio loop around it, and
:func:`start_stun_server` opens one UDP socket for it.

What the responder does with a datagram, in the order RFC 5389 section 7.3
checks things:

- not STUN (first two bits set, length not a multiple of 4 or not the
  datagram's, FINGERPRINT wrong or not last), a response or an indication:
  silence;
- a request whose attributes do not parse: ``400 Bad Request``;
- a request for another method (e.g. a TURN Allocate): ``400 Bad Request``;
- a Binding request with a comprehension-required attribute it does not know
  (``0x0000-0x7FFF``, e.g. RFC 5780's CHANGE-REQUEST): ``420 Unknown
  Attribute`` listing them in UNKNOWN-ATTRIBUTES;
- a Binding request: a success response with XOR-MAPPED-ADDRESS (IPv4 or
  IPv6), SOFTWARE if configured, and FINGERPRINT;
- an RFC 3489 Binding request (no magic cookie) with an empty body: a success
  response with MAPPED-ADDRESS, as section 12 asks. One with attributes asks
  for a changed source address this single socket cannot give, so: silence.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import struct
import zlib
from typing import Any, Final, cast

__all__ = [
    "BINDING",
    "MAGIC_COOKIE",
    "StunResponder",
    "answer",
    "start_stun_server",
]

logger = logging.getLogger(__name__)

MAGIC_COOKIE: Final = 0x2112A442
BINDING: Final = 0x001
_HEADER: Final = struct.Struct("!HHI12s")
_HEADER_SIZE: Final = 20
_FINGERPRINT_XOR: Final = 0x5354554E

_CLASS_REQUEST: Final = 0b00
_CLASS_SUCCESS: Final = 0b10
_CLASS_ERROR: Final = 0b11

_MAPPED_ADDRESS: Final = 0x0001
_ERROR_CODE: Final = 0x0009
_UNKNOWN_ATTRIBUTES: Final = 0x000A
_MESSAGE_INTEGRITY: Final = 0x0008
_XOR_MAPPED_ADDRESS: Final = 0x0020
_SOFTWARE: Final = 0x8022
_FINGERPRINT: Final = 0x8028

#: Comprehension-required attributes a Binding request may carry that this
#: responder understands well enough to ignore (it asks for no credentials).
_UNDERSTOOD: Final = frozenset(
    {
        0x0006,  # USERNAME
        _MESSAGE_INTEGRITY,
        0x0014,  # REALM
        0x0015,  # NONCE
        0x001C,  # MESSAGE-INTEGRITY-SHA256 (RFC 8489)
        0x001E,  # USERHASH (RFC 8489)
        0x0024,  # PRIORITY (ICE)
        0x0025,  # USE-CANDIDATE (ICE)
    }
)

_REASONS: Final = {400: "Bad Request", 420: "Unknown Attribute"}

Address = tuple[str, int]


class _Malformed(ValueError):
    """The attribute list does not parse: answer 400."""


class _Discard(ValueError):
    """Not a STUN message this responder may answer: stay silent."""


def answer(data: bytes, source: Address, software: str | None = None) -> bytes | None:
    """The reply to one datagram from ``source``, or ``None`` if it gets none."""
    if len(data) < _HEADER_SIZE:
        return None
    message_type, length, cookie, transaction_id = _HEADER.unpack_from(data)
    if message_type & 0xC000 or length % 4 or len(data) != _HEADER_SIZE + length:
        return None
    if cookie != MAGIC_COOKIE:
        return _answer_rfc3489(message_type, length, data[4:_HEADER_SIZE], source)
    method, message_class = _split_type(message_type)
    if message_class != _CLASS_REQUEST:
        return None
    try:
        attribute_types = _attribute_types(data)
    except _Discard:
        return None
    except _Malformed:
        return _error(method, transaction_id, 400, software)
    if method != BINDING:
        return _error(method, transaction_id, 400, software)
    unknown = [kind for kind in attribute_types if kind < 0x8000 and kind not in _UNDERSTOOD]
    if unknown:
        return _error(method, transaction_id, 420, software, unknown)
    address = _xor_address(source, transaction_id)
    attributes = [(_XOR_MAPPED_ADDRESS, address), *_software(software)]
    return _encode(BINDING, _CLASS_SUCCESS, transaction_id, attributes)


def _split_type(message_type: int) -> tuple[int, int]:
    """(method, class) from the interleaved bits of the message type (RFC 5389 figure 3)."""
    method = (
        (message_type & 0x000F) | ((message_type & 0x00E0) >> 1) | ((message_type & 0x3E00) >> 2)
    )
    message_class = ((message_type >> 7) & 0b10) | ((message_type >> 4) & 0b01)
    return method, message_class


def _join_type(method: int, message_class: int) -> int:
    return (
        (method & 0x000F)
        | ((method & 0x0070) << 1)
        | ((method & 0x0F80) << 2)
        | ((message_class & 0b01) << 4)
        | ((message_class & 0b10) << 7)
    )


def _attribute_types(data: bytes) -> list[int]:
    """Types of the attributes that count; raises _Malformed or _Discard."""
    kinds: list[int] = []
    position = _HEADER_SIZE
    after_integrity = False
    while position < len(data):
        if position + 4 > len(data):
            raise _Malformed("truncated attribute header")
        kind, length = struct.unpack_from("!HH", data, position)
        end = position + 4 + length + (-length % 4)
        if end > len(data):
            raise _Malformed("attribute runs past the message")
        if kind == _FINGERPRINT:
            _check_fingerprint(data, position, length, end)
        elif not after_integrity:
            # Attributes after MESSAGE-INTEGRITY are not covered by it: ignored.
            kinds.append(kind)
        after_integrity = after_integrity or kind == _MESSAGE_INTEGRITY
        position = end
    return kinds


def _check_fingerprint(data: bytes, position: int, length: int, end: int) -> None:
    if length != 4 or end != len(data):
        raise _Discard("FINGERPRINT must be the last attribute")
    (value,) = struct.unpack_from("!I", data, position + 4)
    if value != _fingerprint(data[:position]):
        raise _Discard("FINGERPRINT does not match")


def _fingerprint(data: bytes) -> int:
    return (zlib.crc32(data) ^ _FINGERPRINT_XOR) & 0xFFFFFFFF


def _answer_rfc3489(
    message_type: int, length: int, transaction_id: bytes, source: Address
) -> bytes | None:
    if message_type != BINDING or length != 0:
        return None
    family, packed = _packed_address(source[0])
    value = struct.pack("!BBH", 0, family, source[1]) + packed
    body = _attribute(_MAPPED_ADDRESS, value)
    return (
        struct.pack("!HH", _join_type(BINDING, _CLASS_SUCCESS), len(body)) + transaction_id + body
    )


def _packed_address(host: str) -> tuple[int, bytes]:
    """(STUN address family, packed address); IPv4-mapped IPv6 is reported as IPv4."""
    address = ipaddress.ip_address(host.partition("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (0x01 if address.version == 4 else 0x02), address.packed


def _xor_address(source: Address, transaction_id: bytes) -> bytes:
    family, packed = _packed_address(source[0])
    mask = struct.pack("!I", MAGIC_COOKIE) + transaction_id
    xored = bytes(a ^ b for a, b in zip(packed, mask, strict=False))
    return struct.pack("!BBH", 0, family, source[1] ^ (MAGIC_COOKIE >> 16)) + xored


def _software(software: str | None) -> list[tuple[int, bytes]]:
    return [(_SOFTWARE, software[:127].encode())] if software else []


def _error(
    method: int,
    transaction_id: bytes,
    code: int,
    software: str | None,
    unknown: list[int] | None = None,
) -> bytes:
    value = struct.pack("!HBB", 0, code // 100, code % 100) + _REASONS[code].encode()
    attributes = [(_ERROR_CODE, value)]
    if unknown:
        attributes.append((_UNKNOWN_ATTRIBUTES, struct.pack(f"!{len(unknown)}H", *unknown)))
    attributes.extend(_software(software))
    return _encode(method, _CLASS_ERROR, transaction_id, attributes)


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\x00" * (-len(value) % 4)


def _encode(
    method: int, message_class: int, transaction_id: bytes, attributes: list[tuple[int, bytes]]
) -> bytes:
    """A whole message, FINGERPRINT last (its length is counted before the CRC is taken)."""
    body = b"".join(_attribute(kind, value) for kind, value in attributes)
    header = _HEADER.pack(
        _join_type(method, message_class), len(body) + 8, MAGIC_COOKIE, transaction_id
    )
    message = header + body
    return message + _attribute(_FINGERPRINT, struct.pack("!I", _fingerprint(message)))


class StunResponder(asyncio.DatagramProtocol):
    """Answers STUN on one UDP socket; counts what it answered, for diagnostics and tests."""

    def __init__(self, software: str | None = None) -> None:
        self.software = software
        self.answered = 0
        #: The last few addresses answered (bounded: a public port sees many).
        self.recent_sources: collections.deque[Address] = collections.deque(maxlen=64)
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        source: Address = (addr[0], addr[1])
        reply = answer(data, source, self.software)
        if reply is None or self._transport is None:
            logger.debug("stun < %s:%s ignored %d bytes", source[0], source[1], len(data))
            return
        self.answered += 1
        self.recent_sources.append(source)
        logger.debug("stun > %s:%s %d bytes", source[0], source[1], len(reply))
        self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (a client gone away) must not stop the responder.
        logger.debug("stun socket error: %s", exc)


async def start_stun_server(
    host: str, port: int, software: str | None = None
) -> tuple[asyncio.DatagramTransport, StunResponder]:
    """Listen for STUN on UDP ``host:port`` (port 0: any); close the transport to stop."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: StunResponder(software), local_addr=(host, port)
    )
    sockname = transport.get_extra_info("sockname")
    logger.info("stun responder listening on udp %s:%s", sockname[0], sockname[1])
    return transport, protocol
