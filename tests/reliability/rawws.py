"""A raw WebSocket client on a plain socket: it does exactly what a test says, nothing more.

Unlike aiohttp's client it never answers pings or close frames on its own, can
be told never to read, and can send any bytes (fragmented or oversized frames).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any

from tests.support import DEFAULT_TIMEOUT

TEXT, CLOSE, PING = 0x1, 0x8, 0x9
#: A second loopback address: a client "elsewhere" when 127.0.0.1 is the attacker.
ELSEWHERE = "127.0.0.2"


def client_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One masked client frame."""
    mask = os.urandom(4)
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def upgrade_request(port: int, headers: dict[str, str] | None = None, path: str = "/") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def http_exchange(
    port: int, request: bytes, timeout: float = DEFAULT_TIMEOUT, source: str | None = None
) -> tuple[int, bytes]:
    """Send one raw HTTP request; return (status, body) of the reply.

    ``source`` picks another loopback address (127.0.0.2) to come from.
    """
    local = (source, 0) if source is not None else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await asyncio.wait_for(reader.readexactly(length), timeout)
        return status, body
    finally:
        writer.close()


class RawSocket:
    """A WebSocket client over a bare TCP socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls, port: int, receive_buffer: int | None = None, source: str | None = None
    ) -> RawSocket:
        """Connect and finish the handshake; ``receive_buffer`` shrinks SO_RCVBUF first,
        ``source`` picks another loopback address (127.0.0.2) to come from."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if source is not None:
            sock.bind((source, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(upgrade_request(port))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)

    def send_json(self, message: dict[str, Any]) -> None:
        self.writer.write(client_frame(TEXT, json.dumps(message).encode()))

    async def read_frame(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, bytes]:
        """The next server frame as (opcode, payload); server frames are unmasked."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        payload = await asyncio.wait_for(self.reader.readexactly(length), timeout)
        return first & 0x0F, payload

    async def next_json(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The next text frame's JSON, skipping pings."""
        while True:
            opcode, payload = await self.read_frame(timeout)
            if opcode == TEXT:
                value = json.loads(payload)
                assert isinstance(value, dict)
                return value
            assert opcode == PING, f"expected a text frame, got opcode {opcode}: {payload!r}"

    async def close_code(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Read until the server's close frame; return its code."""
        while True:
            opcode, payload = await self.read_frame(timeout)
            if opcode == CLOSE:
                return int.from_bytes(payload[:2], "big")

    async def closed_by_server(self, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """True once the server has closed the TCP connection (reads and discards)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except ConnectionError:
            return True
        except TimeoutError:
            return False
        return True

    def abort(self) -> None:
        self.writer.transport.abort()
