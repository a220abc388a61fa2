"""Webhooks to a real receiver on loopback: signed, in order, and never in the relay's way."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chinwag.config import ConfigError, settings_for_tests
from chinwag.transport.server import ChinwagServer
from tests.server.test_hosts import enter, sees
from tests.support import Client, StartServer

SECRET = "webhook-secret-for-tests-0123456789"
KEY = "api-key-for-tests-0123456789"
ROOMS = ["deltas", "ringing", "plain-text", "rooms"]


class Receiver:
    """An aiohttp server that verifies each event as a receiver should (docs/api.md)."""

    def __init__(self, hang: bool = False) -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.hang = hang
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.hang:
            await asyncio.Event().wait()  # never answers: the sender's timeout must
        raw = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        signature = request.headers.get("X-Chinwag-Signature", "")
        if not hmac.compare_digest(signature, expected):
            return web.Response(status=401)
        await self.events.put(json.loads(raw))
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), 20)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    await made.start()
    yield made
    await made.stop()


async def test_events_arrive_signed_and_in_order(
    start_server: StartServer, receiver: Receiver
) -> None:
    server = await start_server(
        presence_interval=0.02, webhook=[receiver.url], webhook_secret=SECRET, api_key=KEY
    )
    clients: list[Client] = []

    async def connect() -> Client:
        clients.append(await Client.open(server.port))
        return clients[-1]

    ana = await enter(connect, "ana")
    dana = await enter(connect, "dana")
    await sees(ana, "dana")
    await ana.send({"type": "room-call-join"})
    await ana.wait_for("room-call", participants=[{"name": "ana", "rollback": True}])
    await ana.send({"type": "room-call-leave"})
    await ana.wait_for("room-call", participants=[])
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{server.port}/api/v1/participants/remove",
            json={"room": "team", "name": "dana"},
            headers={"Authorization": f"Bearer {KEY}"},
        ) as answer,
    ):
        assert answer.status == 200
    await dana.closed()
    await ana.close()
    expected = [
        ("room.started", {"room": "team"}),
        ("participant.joined", {"room": "team", "name": "ana"}),
        ("participant.joined", {"room": "team", "name": "dana"}),
        ("call.started", {"room": "team"}),
        ("call.ended", {"room": "team"}),
        ("moderation", {"room": "team", "action": "remove", "by": None, "target": "dana"}),
        ("participant.left", {"room": "team", "name": "dana"}),
        ("participant.left", {"room": "team", "name": "ana"}),
        ("room.finished", {"room": "team"}),
    ]
    seen = [await receiver.next() for _ in expected]
    assert [(e["event"], e["data"]) for e in seen] == expected
    assert len({e["id"] for e in seen}) == len(seen)
    stamps = [e["timestamp"] for e in seen]
    assert stamps == sorted(stamps) and abs(stamps[0] / 1000 - time.time()) < 60
    for client in clients:
        await client.close()


def test_webhook_settings_are_checked_at_start_up() -> None:
    with pytest.raises(ConfigError, match="webhook needs webhook_secret"):
        settings_for_tests(webhook=["http://127.0.0.1:9/hook"])
    with pytest.raises(ConfigError, match="http:// or https://"):
        settings_for_tests(webhook=["ftp://example.org/"], webhook_secret=SECRET)
    with pytest.raises(ConfigError, match="webhook_queue"):
        settings_for_tests(webhook_queue=0)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def webhook_counts(server: ChinwagServer) -> dict[str, float]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}/metrics") as answer,
    ):
        text = await answer.text()
    found = re.findall(r'chinwag_webhooks_total\{outcome="(\w+)"\} (\S+)', text)
    return {outcome: float(value) for outcome, value in found}


@pytest.mark.parametrize("kind", ["down", "slow"])
async def test_a_receiver_that_is_down_or_slow_does_not_slow_chat(
    start_server: StartServer, kind: str
) -> None:
    slow = Receiver(hang=True)
    await slow.start()
    url = slow.url if kind == "slow" else f"http://127.0.0.1:{closed_port()}/hook"
    server = await start_server(
        presence_interval=0.02,
        webhook=[url],
        webhook_secret=SECRET,
        webhook_attempts=2,
        webhook_queue=3,
        chat_rate=1000.0,
    )
    alice = await Client.open(server.port)
    bob = await Client.open(server.port)
    others: list[Client] = []
    try:
        await alice.sign_in("alice")
        await bob.sign_in("bob")
        await bob.wait_for("userlist", users=["alice", "bob"])
        loop = asyncio.get_running_loop()
        slowest = 0.0
        for number in range(40):  # each guest's coming and going is two more events
            if number % 4 == 0:
                guest = await Client.open(server.port)
                others.append(guest)
                await guest.send({"type": "username", "name": f"g{number}", "features": ROOMS})
                await guest.wait_for("signed-in")
                await guest.close()
            sent = loop.time()
            await alice.send({"type": "message", "text": f"ping {number}"})
            await bob.wait_for("message", text=f"ping {number}")
            slowest = max(slowest, loop.time() - sent)
        # The bound is generous for a busy machine; a relay waiting on a delivery that
        # times out after 5 s, or on a retry's back-off, would be far over it.
        assert slowest < 2.0, slowest
        outcome = "failed" if kind == "down" else "dropped"
        deadline = loop.time() + 30
        counts = await webhook_counts(server)
        while counts.get(outcome, 0) < 1:
            assert loop.time() < deadline, counts
            await asyncio.sleep(0.2)
            counts = await webhook_counts(server)
        assert counts.get("delivered") == 0, counts
    finally:
        for client in (alice, bob, *others):
            await client.close()
        await slow.stop()
