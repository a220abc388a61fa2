"""Random bytes at the transport (HTTP and WebSocket framing) of a live server.

Each round throws junk at a fresh server, then checks that two well-behaved
clients still sign in and chat, and that nothing unhandled reached the logs
or the event loop's exception handler (asyncio's "Exception in callback").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chinwag.config import settings_for_tests
from chinwag.transport.server import ChinwagServer
from tests.reliability.fuzzing import FUZZ
from tests.reliability.rawws import RawSocket, client_frame, upgrade_request
from tests.reliability.test_limits import chat_still_works


class Recorder(logging.Handler):
    """Keeps every record at WARNING or above, and any with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


def frame_headers() -> st.SearchStrategy[bytes]:
    """Frame headers with every bit pattern, lengths near the boundaries, masked or not."""
    lengths = st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, 2**63 - 1]) | st.integers(0, 300)

    def build(first: int, masked: bool, length: int, body: bytes) -> bytes:
        if length < 126:
            head = struct.pack("!BB", first, (0x80 if masked else 0) | length)
        elif length < 65536:
            head = struct.pack("!BBH", first, (0x80 if masked else 0) | 126, length)
        else:
            head = struct.pack("!BBQ", first, (0x80 if masked else 0) | 127, length)
        return head + (b"\x00\x00\x00\x00" if masked else b"") + body

    return st.builds(build, st.integers(0, 255), st.booleans(), lengths, st.binary(max_size=64))


websocket_chunks = st.lists(
    st.one_of(
        st.binary(max_size=100),
        frame_headers(),
        st.builds(
            client_frame,
            st.sampled_from([0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3, 0xF]),
            st.binary(max_size=200),
            st.booleans(),
        ),
    ),
    min_size=1,
    max_size=12,
)
http_requests = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda method, target, junk: f"{method} {target} HTTP/1.1\r\n".encode() + junk,
        st.sampled_from(["GET", "HEAD", "POST", "BREW", "G\x00T"]),
        st.sampled_from(["/", "/ws", "/healthz", "/metrics", "/%00", "*", "/" + "a" * 5000]),
        st.binary(max_size=200),
    ),
)


async def throw(port: int, upgrade_first: bool, chunks: list[bytes]) -> None:
    """Write the chunks on one connection (after a WebSocket handshake or not), then drop it."""
    if upgrade_first:
        raw = await RawSocket.open(port)
        reader, writer = raw.reader, raw.writer
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # The server may close at any point (that is often the right answer to junk).
    with contextlib.suppress(ConnectionError):
        for chunk in chunks:
            writer.write(chunk)
        await writer.drain()
    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(reader.read(65536), 0.05)
    writer.transport.abort()


def run_round(upgrade_first: bool, chunks: list[bytes]) -> None:
    recorder = Recorder()
    loop_errors: list[dict[str, Any]] = []
    root = logging.getLogger()
    root.addHandler(recorder)

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: loop_errors.append(ctx))
        settings = settings_for_tests(host="127.0.0.1", port=0, max_frame=4096, http_timeout=1.0)
        async with ChinwagServer(settings) as server:
            await throw(server.port, upgrade_first, chunks)
            await chat_still_works(server.port)

    try:
        asyncio.run(scenario())
    finally:
        root.removeHandler(recorder)
    assert not loop_errors, loop_errors
    assert not recorder.records, [r.getMessage() for r in recorder.records]


@FUZZ
@given(websocket_chunks)
def test_random_frames_after_the_handshake(chunks: list[bytes]) -> None:
    run_round(True, chunks)


@FUZZ
@given(st.lists(http_requests, min_size=1, max_size=4))
def test_random_http_before_any_upgrade(chunks: list[bytes]) -> None:
    run_round(False, chunks)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "Origin",
                "Host",
                "Sec-WebSocket-Protocol",
                "Upgrade",
                "Sec-WebSocket-Key",
                "Connection",
                "X",
            ]
        ),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
        max_size=4,
    )
)
def test_random_upgrade_headers(headers: dict[str, str]) -> None:
    request = upgrade_request(0, headers).replace(b"Host: 127.0.0.1:0\r\n", b"")
    run_round(False, [request])
