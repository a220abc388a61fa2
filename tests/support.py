"""Test support: a real WebSocket client for a real chinwag server.

Nothing here is a mock: ``Client`` opens a real socket with aiohttp's client and
reads real frames. ``expect`` waits (with a deadline) for the next message and
checks its type, so tests never sleep and hope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp

from chinwag.config import settings_for_tests
from chinwag.transport.server import ChinwagServer

#: How long a test waits for a message it expects. A quiet machine answers in
#: milliseconds; the bound only matters when the machine is busy (or the test fails).
DEFAULT_TIMEOUT = 20.0

StartServer = Callable[..., Awaitable[ChinwagServer]]


@contextlib.asynccontextmanager
async def server_factory(**defaults: Any) -> AsyncIterator[StartServer]:
    """Start real servers on ephemeral loopback ports (``defaults``, then each call's
    overrides); every one is stopped when the block ends."""
    servers: list[ChinwagServer] = []

    async def start(**overrides: Any) -> ChinwagServer:
        settings = {"host": "127.0.0.1", "port": 0, **defaults, **overrides}
        server = ChinwagServer(settings_for_tests(**settings))
        await server.start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            await server.stop()


class Client:
    """One WebSocket connection to a chinwag server, as a test sees it."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.id: int | None = None
        self.name: str | None = None

    @classmethod
    async def open(
        cls, port: int, path: str = "/", protocols: tuple[str, ...] = ("json",), **kwargs: Any
    ) -> Client:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(
                f"http://127.0.0.1:{port}{path}", protocols=protocols, autoping=True, **kwargs
            )
        except BaseException:
            await session.close()
            raise
        client = cls(session, ws)
        greeting = await client.expect("id")
        client.id = greeting["id"]
        return client

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def send_raw(self, text: str) -> None:
        await self.ws.send_str(text)

    async def next(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The next JSON message; fails the test on close or timeout."""
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, (
            f"expected a text frame, got {msg.type} {msg.data!r}"
        )
        value = json.loads(msg.data)
        assert isinstance(value, dict)
        return value

    async def expect(
        self, kind: str, timeout: float = DEFAULT_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """The next message, which must have ``type == kind`` and the given fields."""
        message = await self.next(timeout)
        assert message["type"] == kind, f"expected {kind}, got {message}"
        for key, value in fields.items():
            assert message.get(key) == value, f"{key}: expected {value!r} in {message}"
        return message

    async def wait_for(
        self, kind: str, timeout: float = DEFAULT_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """Skip messages until one of type ``kind`` (with ``fields``) arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            assert remaining > 0, f"no {kind} {fields} within {timeout}s"
            message = await self.next(remaining)
            if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                return message

    async def expect_silence(self, within: float = 0.3) -> None:
        """Nothing arrives for ``within`` seconds."""
        try:
            msg = await self.ws.receive(timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"expected no message, got {msg.type} {msg.data!r}")

    async def sign_in(self, name: str, features: list[str] | None = None) -> str:
        """Sign in and return the name the server assigned (after any numbering)."""
        message: dict[str, Any] = {"type": "username", "name": name, "id": self.id, "date": 0}
        if features is not None:
            message["features"] = features
        await self.send(message)
        if features:
            welcome = await self.wait_for("signed-in")
            self.name = welcome["name"]
        else:
            self.name = name
        return self.name or name

    async def closed(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int | None, Any]:
        """Wait for the server to close; return (close code, extra)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.ws.receive(timeout=max(0.01, deadline - loop.time()))
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
            ):
                return self.ws.close_code, msg.extra


async def two_signed_in(connect: Callable[..., Awaitable[Client]]) -> tuple[Client, Client]:
    """alice and bob, signed in as reference clients, each holding the list of both."""
    alice = await connect()
    bob = await connect()
    await alice.sign_in("alice")
    await bob.sign_in("bob")
    await alice.wait_for("userlist", users=["alice", "bob"])
    await bob.wait_for("userlist", users=["alice", "bob"])
    return alice, bob
