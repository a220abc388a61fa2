"""Issue 22: request bodies chinwag will not read, over real sockets (raw HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from chinwag.transport.routes import BodyRoute, Response
from tests.reliability.rawws import upgrade_request
from tests.support import StartServer


async def exchange(port: int, request: bytes) -> tuple[bytes, bool]:
    """Send ``request``; the whole reply, and whether the server then closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        rest = await asyncio.wait_for(reader.read(65536), 5)
        closed = True
        try:
            more = await asyncio.wait_for(reader.read(65536), 2)
            closed = more == b""
        except TimeoutError:
            closed = False
        return head + rest, closed
    finally:
        writer.close()


async def test_requests_with_transfer_encoding_get_400_and_are_closed(
    start_server: StartServer,
) -> None:
    server = await start_server()
    host = f"Host: 127.0.0.1:{server.port}\r\n"
    smuggled = (
        f"GET /healthz HTTP/1.1\r\n{host}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\nGET /healthz HTTP/1.1\r\n" + host + "\r\n"
    ).encode()
    reply, closed = await exchange(server.port, smuggled)
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    assert reply.count(b"HTTP/1.1") == 1 and closed  # the smuggled second request is never read
    chunked = f"GET / HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode()
    reply, closed = await exchange(server.port, chunked)
    assert reply.startswith(b"HTTP/1.1 400 ") and b"Transfer-Encoding" in reply and closed


async def test_an_upgrade_with_a_body_is_refused_and_its_body_never_read(
    start_server: StartServer,
) -> None:
    server = await start_server()
    frame = b"\x81\x85abcd" + bytes(b ^ k for b, k in zip(b"hello", b"abcdabcd", strict=False))
    request = upgrade_request(server.port, {"Content-Length": str(len(frame))}) + frame
    reply, closed = await exchange(server.port, request)
    assert reply.startswith(b"HTTP/1.1 400 ") and b"carries no body" in reply and closed
    assert server.websocket_count == 0


async def test_a_body_goes_only_to_a_route_that_takes_one_within_its_limit(
    start_server: StartServer,
) -> None:
    server = await start_server()

    def echo(headers: Mapping[str, str], body: bytes) -> Response:
        return Response(200, body[::-1], "text/plain")

    server.routes.body_routes["/echo"] = BodyRoute(16, echo)
    host = f"Host: 127.0.0.1:{server.port}\r\n"
    post = f"POST /echo HTTP/1.1\r\n{host}Content-Length: 5\r\n\r\nhello".encode()
    reply, closed = await exchange(
        server.port, post + b"GET /healthz HTTP/1.1\r\n" + host.encode() + b"\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 200 ") and b"olleh" in reply and not closed
    too_big = f"POST /echo HTTP/1.1\r\n{host}Content-Length: 17\r\n\r\n".encode() + b"x" * 17
    reply, closed = await exchange(server.port, too_big)
    assert reply.startswith(b"HTTP/1.1 413 ") and closed
    elsewhere = f"GET /healthz HTTP/1.1\r\n{host}Content-Length: 3\r\n\r\nabc".encode()
    reply, closed = await exchange(server.port, elsewhere)
    assert reply.startswith(b"HTTP/1.1 413 ") and closed
