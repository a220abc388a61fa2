"""RFC 6455 for the server side, with no I/O.

``FrameReader.receive_data`` takes bytes from the socket and returns complete
events; ``encode_frame`` and ``close_frame`` build what to write;
``close_reply`` decides the answer to a client's close frame; the handshake
helpers check an upgrade request and compute the accept key. Close codes have
names (:class:`~chinwag.core.closecodes.CloseCode`). The connection in
``connection.py`` drives the closing handshake with these.

Limits are checked on the frame *header*, before any payload is buffered, so
an oversized frame costs nothing but its header.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Mapping
from typing import Final, NamedTuple

import msgspec

from ..core.closecodes import CloseCode, valid_from_client

__all__ = [
    "BINARY",
    "CLOSE",
    "PING",
    "PONG",
    "TEXT",
    "FrameReader",
    "Message",
    "Violation",
    "accept_key",
    "close_frame",
    "close_reply",
    "encode_frame",
    "handshake_problem",
]

CONTINUATION: Final = 0x0
TEXT: Final = 0x1
BINARY: Final = 0x2
CLOSE: Final = 0x8
PING: Final = 0x9
PONG: Final = 0xA

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_DATA_OPCODES: Final = frozenset({TEXT, BINARY})
_CONTROL_OPCODES: Final = frozenset({CLOSE, PING, PONG})
_pack_short = struct.Struct("!BB").pack
_pack_medium = struct.Struct("!BBH").pack
_pack_long = struct.Struct("!BBQ").pack
_unpack_medium = struct.Struct("!H").unpack_from
_unpack_long = struct.Struct("!Q").unpack_from


class Message(msgspec.Struct, frozen=True, gc=False):
    """A complete frame or reassembled message from the client.

    A msgspec Struct: one is made for every frame, and a Struct is made in C
    (a NamedTuple's ``__new__`` is Python, about four times slower).
    """

    opcode: int  # TEXT, BINARY, CLOSE, PING or PONG
    payload: bytes


class Violation(NamedTuple):
    """The client broke RFC 6455; close with ``code`` and read no further."""

    code: CloseCode  # PROTOCOL_ERROR or MESSAGE_TOO_BIG
    reason: str


Event = Message | Violation


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, unfragmented server frame."""
    length = len(payload)
    first = 0x80 | opcode
    if length < 126:
        return _pack_short(first, length) + payload
    if length < 65536:
        return _pack_medium(first, 126, length) + payload
    return _pack_long(first, 127, length) + payload


def close_frame(code: CloseCode, reason: str = "") -> bytes:
    """A close frame; the reason is cut to fit the 125-byte control limit."""
    body = struct.pack("!H", code) + reason.encode()[:123]
    return encode_frame(CLOSE, body)


def close_reply(payload: bytes) -> CloseCode:
    """The code to answer a client's close frame with (RFC 6455 5.5.1 and 7.4).

    A well-formed close is echoed (GOING_AWAY as itself, any other as NORMAL);
    a one-byte body or a code no client may send gets PROTOCOL_ERROR, a reason
    that is not UTF-8 gets INVALID_PAYLOAD.
    """
    if not payload:
        return CloseCode.NORMAL
    if len(payload) == 1:
        return CloseCode.PROTOCOL_ERROR
    code = int.from_bytes(payload[:2], "big")
    if not valid_from_client(code):
        return CloseCode.PROTOCOL_ERROR
    try:
        payload[2:].decode()
    except UnicodeDecodeError:
        return CloseCode.INVALID_PAYLOAD
    return CloseCode.GOING_AWAY if code == CloseCode.GOING_AWAY else CloseCode.NORMAL


def _unmask_python(mask: bytes, data: bytes | bytearray | memoryview) -> bytes:
    length = len(data)
    if not length:
        return b""
    key = (mask * (length // 4 + 1))[:length]
    value = int.from_bytes(data, "little") ^ int.from_bytes(key, "little")
    return value.to_bytes(length, "little")


def _unmask_compiled(mask: bytes, data: bytes | bytearray | memoryview) -> bytes:
    payload = bytearray(data)
    _websocket_mask(mask, payload)
    return payload  # type: ignore[return-value]  # a bytearray serves wherever bytes do


try:  # aiohttp (a dependency) ships a compiled XOR; 8x faster than the pure one.
    from aiohttp._websocket.helpers import websocket_mask as _websocket_mask

    _unmask = _unmask_compiled
except ImportError:  # pragma: no cover - a future aiohttp may move it
    _unmask = _unmask_python


class FrameReader:
    """Parses client frames; reassembles fragmented messages."""

    __slots__ = ("_buffer", "_failed", "_fragments", "_fragments_size", "_max_size")

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._buffer = bytearray()
        self._fragments: list[bytes] | None = None  # first item holds the opcode frame
        self._fragments_size = 0
        self._failed = False

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Feed socket bytes; return the events they complete, in order.

        ``data`` may be a view of a buffer the caller reuses: nothing returned
        or kept refers to it. After a :class:`Violation` the reader ignores
        everything.
        """
        if self._failed:
            return []
        if self._buffer:  # a frame was split across reads: join, then parse
            self._buffer += data
            data = self._buffer
        events: list[Event] = []
        offset = self._parse(data, events)
        if self._failed:
            return events
        if offset < len(data):
            self._buffer = bytearray(data[offset:])
        elif self._buffer:
            self._buffer = bytearray()
        return events

    def _parse(self, buffer: bytes | bytearray | memoryview, events: list[Event]) -> int:
        """Append the events of every complete frame in ``buffer``; return the bytes used."""
        offset = 0
        end = len(buffer)
        while end - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            if first == 0x81 and 0x80 < second < 0xFF and self._fragments is None:
                # The common frame: one whole, masked text frame under 64 KiB
                # whose length passes every check of _check_header and _frame.
                length = second & 0x7F
                start = offset + 6
                if length == 126:
                    if end - offset < 4:
                        break
                    (length,) = _unpack_medium(buffer, offset + 2)
                    start = offset + 8
                    if length > self._max_size:
                        self._fail(events, _too_big(self._max_size))
                        break
                if end < start + length:
                    break
                payload = _unmask(bytes(buffer[start - 4 : start]), buffer[start : start + length])
                offset = start + length
                events.append(Message(TEXT, payload))
                continue
            length = second & 0x7F
            header = 2
            if length == 126:
                if end - offset < 4:
                    break
                (length,) = _unpack_medium(buffer, offset + 2)
                header = 4
            elif length == 127:
                if end - offset < 10:
                    break
                (length,) = _unpack_long(buffer, offset + 2)
                header = 10
            problem = self._check_header(first, second, length)
            if problem is not None:
                self._fail(events, problem)
                break
            start = offset + header + 4
            if end < start + length:
                break
            mask = bytes(buffer[start - 4 : start])
            payload = _unmask(mask, buffer[start : start + length])
            offset = start + length
            event = self._frame(first & 0x80, first & 0x0F, payload)
            if event is not None:
                events.append(event)
                if isinstance(event, Violation):
                    self._fail(events, None)
                    break
        return offset

    def _fail(self, events: list[Event], violation: Violation | None) -> None:
        if violation is not None:
            events.append(violation)
        self._failed = True
        self._buffer = bytearray()
        self._fragments = None

    def _check_header(self, first: int, second: int, length: int) -> Violation | None:
        opcode = first & 0x0F
        if first & 0x70:
            return Violation(
                CloseCode.PROTOCOL_ERROR, "reserved bits set; no extension was negotiated"
            )
        if not second & 0x80:
            return Violation(CloseCode.PROTOCOL_ERROR, "client frames must be masked")
        if opcode in _CONTROL_OPCODES:
            if length > 125 or not first & 0x80:
                return Violation(
                    CloseCode.PROTOCOL_ERROR, "control frames must be short and unfragmented"
                )
            return None
        if opcode not in _DATA_OPCODES and opcode != CONTINUATION:
            return Violation(CloseCode.PROTOCOL_ERROR, f"unknown opcode {opcode}")
        if self._fragments_size + length > self._max_size:
            return _too_big(self._max_size)
        return None

    def _frame(self, fin: int, opcode: int, payload: bytes) -> Event | None:
        if opcode in _CONTROL_OPCODES:
            return Message(opcode, payload)
        if opcode == CONTINUATION:
            if self._fragments is None:
                return Violation(
                    CloseCode.PROTOCOL_ERROR, "continuation frame with nothing to continue"
                )
            self._fragments.append(payload)
            self._fragments_size += len(payload)
            if not fin:
                return None
            first, *rest = self._fragments
            self._fragments, self._fragments_size = None, 0
            return Message(first[0], first[1:] + b"".join(rest))
        if self._fragments is not None:
            return Violation(
                CloseCode.PROTOCOL_ERROR, "new message before the fragmented one ended"
            )
        if fin:
            return Message(opcode, payload)
        self._fragments = [bytes((opcode,)) + payload]
        self._fragments_size = len(payload)
        return None


def _too_big(max_size: int) -> Violation:
    return Violation(CloseCode.MESSAGE_TOO_BIG, f"frame over {max_size} bytes")


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1(key.encode() + _GUID).digest()
    return base64.b64encode(digest).decode()


def handshake_problem(method: str, headers: Mapping[str, str]) -> str | None:
    """Why this request is not a valid WebSocket upgrade, or None if it is.

    ``headers`` has lower-case names.
    """
    if method != "GET":
        return "a WebSocket upgrade must use GET"
    if "websocket" not in headers.get("upgrade", "").lower():
        return "missing Upgrade: websocket"
    if "upgrade" not in headers.get("connection", "").lower():
        return "missing Connection: Upgrade"
    if headers.get("sec-websocket-version") != "13":
        return "only WebSocket version 13 is supported"
    key = headers.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        return "Sec-WebSocket-Key must be 16 bytes in base64"
    return None
