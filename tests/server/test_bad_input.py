"""Bad input of every kind: a clear error to the sender, nothing else changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from chinwag.transport.server import ChinwagServer
from tests.support import Client, StartServer, two_signed_in

Connect = Callable[..., Awaitable[Client]]


async def still_works(alice: Client, bob: Client) -> None:
    await alice.send({"type": "message", "text": "still here"})
    await bob.expect("message", text="still here", name="alice")
    await alice.expect("message", text="still here")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad-json"),
        ("[]", "bad-message"),
        ("42", "bad-message"),
        ('{"no": "type"}', "bad-type"),
        ('{"type": null}', "bad-type"),
        ('{"type": "message", "text": ["x"]}', "bad-field"),
        ('{"type": "video-offer", "target": {"x": 1}}', "bad-field"),
        ('{"type": "username", "name": "x", "features": [1]}', "bad-field"),
        ('{"type": "username", "name": ""}', "bad-name"),
        ('{"type": "message", "text": "' + "x" * 2001 + '"}', "text-too-long"),
        ('{"type": "userlist", "users": ["<img src=x>"]}', "bad-type"),
        # A number beyond the float range, relayed with or without a wrong name (14.8).
        ('{"type": "video-offer", "target": "bob", "name": "eve", "sdp": 1e400}', "bad-json"),
        ('{"type": "video-offer", "target": "bob", "sdp": -1e400}', "bad-json"),
    ],
)
async def test_bad_frame_gets_error_and_changes_nothing(
    connect: Connect, frame: str, code: str
) -> None:
    alice, bob = await two_signed_in(connect)
    await alice.send_raw(frame)
    error = await alice.expect("error", code=code)
    assert set(error) == {"type", "code", "message", "for", "target"}
    await bob.expect_silence(0.1)
    await still_works(alice, bob)


async def test_binary_frame(connect: Connect) -> None:
    alice, bob = await two_signed_in(connect)
    await alice.ws.send_bytes(b"\x00\x01")
    await alice.expect("error", code="binary-frame")
    await still_works(alice, bob)


async def test_oversized_frame_gets_error_then_1009(connect: Connect) -> None:
    alice, bob = await two_signed_in(connect)
    await alice.send_raw('{"type": "message", "text": "' + "x" * 70_000 + '"}')
    await alice.expect("error", code="frame-too-large")
    code, _ = await alice.closed()
    assert code == 1009
    await bob.wait_for("userlist", users=["bob"])


async def test_large_real_sdp_fits(connect: Connect) -> None:
    alice, bob = await two_signed_in(connect)
    sdp = "v=0\r\n" + "a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n" * 500
    await alice.send({"type": "video-offer", "target": "bob", "sdp": {"type": "offer", "sdp": sdp}})
    offer = await bob.expect("video-offer")
    assert offer["sdp"]["sdp"] == sdp


async def test_raw_garbage_on_the_socket_does_not_hurt_others(
    server: ChinwagServer, connect: Connect
) -> None:
    alice, bob = await two_signed_in(connect)
    for garbage in (
        b"\x00" * 100 + b"\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\xff" * 50 + b"\r\n\r\n",
        b"BREW /pot HTCPCP/1.0\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(garbage)
        await writer.drain()
        await asyncio.wait_for(reader.read(), 5)  # the server answers or closes; never hangs
        writer.close()
    await still_works(alice, bob)


async def test_unmasked_frame_closes_only_that_socket(connect: Connect) -> None:
    alice, bob = await two_signed_in(connect)
    transport = alice.ws._response.connection.transport  # type: ignore[union-attr]
    assert transport is not None
    transport.write(b"\x81\x02hi")  # a text frame without the mask clients must use
    code, _ = await alice.closed()
    assert code == 1002
    await bob.wait_for("userlist", users=["bob"])


async def test_half_open_upgrade_is_refused(server: ChinwagServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    reply = await asyncio.wait_for(reader.read(1000), 5)
    writer.close()
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"Sec-WebSocket-Key" in reply or b"version" in reply


async def test_dribbling_http_connection_is_closed(
    start_server: StartServer,
) -> None:
    server = await start_server(http_timeout=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes the request
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()
