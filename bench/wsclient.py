"""A deliberately small asyncio WebSocket client for the load generator.

RFC 6455 client side, just what a signaling client needs: the HTTP upgrade
(asking for the ``json`` subprotocol), masked text frames out, unmasked text
frames in (fragmented ones reassembled), answering pings, and close. No
extensions, no TLS. It is an ``asyncio.Protocol`` whose ``handler`` is called
synchronously with each text payload (bytes), so a benchmark can answer a
message without a task switch: the aim is to spend as little CPU per message as
possible on the load-generator side (see ``--only clients`` in relay.py for the
comparison with aiohttp's and websockets' clients).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
from collections.abc import Callable

__all__ = ["WsClient", "connect"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING = 0x0, 0x1, 0x2, 0x8, 0x9
_OP_PONG = 0xA
_getrandbits = random.getrandbits

Handler = Callable[["WsClient", bytes], None]


def _ignore(client: WsClient, payload: bytes) -> None:
    """Default handler: drop the message."""


class WsClient(asyncio.Protocol):
    """One client connection; set ``handler`` to receive text payloads."""

    def __init__(
        self, host: str, port: int, path: str, handler: Handler = _ignore, tag: object = None
    ) -> None:
        self.handler = handler
        self.tag = tag  # free for the benchmark's own bookkeeping
        self.closed = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._request_target = (host, port, path)
        self._key = base64.b64encode(os.urandom(16))
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._handshaking = True
        self._fragments: list[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        host, port, path = self._request_target
        transport.write(
            b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: json\r\n\r\n"
            % (path.encode(), host.encode(), port, self._key)
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc}"))

    def data_received(self, data: bytes) -> None:
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        if self._handshaking:
            data = self._finish_handshake(data)
        size = len(data)
        pos = 0
        while size - pos >= 2:
            length = data[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                length = int.from_bytes(data[start : start + 2], "big")
                start += 2
            elif length == 127:
                length = int.from_bytes(data[start : start + 8], "big")
                start += 8
            end = start + length
            if end > size:
                break
            first = data[pos]
            pos = end
            if first == 0x81:  # the common case: one whole text frame
                self.handler(self, data[start:end])
            else:
                self._control_or_fragment(first, data[start:end])
        if pos < size:
            self._buffer = data[pos:]

    def send_text(self, payload: bytes) -> None:
        """Send one masked text frame (payload is UTF-8 JSON)."""
        if self.closed or self._transport is None:
            return
        self._transport.write(_frame(_OP_TEXT, payload))

    def close(self) -> None:
        """Send a close frame and drop the connection."""
        if self._transport is not None and not self.closed:
            self._transport.write(_frame(_OP_CLOSE, (1000).to_bytes(2, "big")))
            self._transport.close()
        self.closed = True

    def _finish_handshake(self, data: bytes) -> bytes:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            self._buffer = data
            return b""
        self._handshaking = False
        accept = base64.b64encode(hashlib.sha1(self._key + _GUID).digest())
        lines = head.split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in lines)}
        if b" 101 " not in lines[0] + b" " or headers.get(b"sec-websocket-accept") != accept:
            error = ConnectionError(f"upgrade refused: {lines[0]!r}")
            if not self.opened.done():
                self.opened.set_exception(error)
            assert self._transport is not None
            self._transport.close()
            return b""
        if not self.opened.done():
            self.opened.set_result(None)
        return rest

    def _control_or_fragment(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        final = first & 0x80
        if opcode == _OP_PING:
            if self._transport is not None and not self.closed:
                self._transport.write(_frame(_OP_PONG, payload))
        elif opcode == _OP_CLOSE:
            self.close()
        elif opcode == _OP_TEXT:  # first of several fragments
            self._fragments = [payload]
        elif opcode == _OP_CONTINUATION and self._fragments is not None:
            self._fragments.append(payload)
            if final:
                whole = b"".join(self._fragments)
                self._fragments = None
                self.handler(self, whole)


def _frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked frame (clients must mask; the key is fresh for each frame)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        header = bytes((0x80 | opcode, 0xFE)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0xFF)) + size.to_bytes(8, "big")
    key = _getrandbits(32).to_bytes(4, "little")
    stream = (key * ((size >> 2) + 1))[:size]
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        size, "little"
    )
    return header + key + masked


async def connect(
    host: str, port: int, path: str = "/", handler: Handler = _ignore, tag: object = None
) -> WsClient:
    """Open one WebSocket to ``ws://host:port/path`` and wait for the upgrade.

    ``handler`` is in place from the start: the server's first message may come
    in the same packet as the end of the handshake.
    """
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: WsClient(host, port, path, handler, tag), host, port
    )
    await client.opened
    return client
