"""Resume after a dropped socket, ICE servers over HTTP, and two nodes in one process."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from chinwag.cluster.memory import MemoryBus, MemoryHub
from chinwag.config import settings_for_tests
from chinwag.transport.server import ChinwagServer
from tests.support import Client, StartServer

FEATURES = ["deltas", "ringing", "plain-text"]


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def drop(client: Client) -> None:
    """Lose the socket the way a network does: no closing handshake."""
    connection = client.ws._response.connection  # type: ignore[union-attr]
    assert connection is not None and connection.transport is not None
    connection.transport.abort()


async def test_resume_keeps_name_hides_the_gap_and_delivers_in_order(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.02, resume_grace=10.0)
    alice = await Client.open(server.port)
    bob = await Client.open(server.port)
    try:
        await alice.send({"type": "username", "name": "alice", "features": FEATURES})
        token = (await alice.wait_for("signed-in"))["resume"]
        await bob.sign_in("bob", FEATURES)
        await bob.wait_for("userlist", users=["alice", "bob"])
        drop(alice)
        await until(lambda: server.lobby.connection_count == 1)  # the server saw the drop
        for n in range(5):
            await bob.send({"type": "new-ice-candidate", "target": "alice", "candidate": {"n": n}})
        back = await Client.open(server.port)
        await back.send(
            {"type": "username", "name": "alice", "resume": token, "features": FEATURES}
        )
        welcome = await back.expect("signed-in", name="alice", resumed=True)
        assert welcome["resume"] != token
        await back.expect("ice-servers")
        got = [
            (await back.expect("new-ice-candidate", name="bob"))["candidate"]["n"] for _ in range(5)
        ]
        assert got == [0, 1, 2, 3, 4]
        await back.expect("userlist", users=["alice", "bob"])
        await bob.expect_silence(0.3)  # bob never saw alice leave or join
        await back.close()
    finally:
        await alice.session.close()
        await bob.close()


async def test_ice_servers_endpoint_needs_a_session_token(start_server: StartServer) -> None:
    server = await start_server(
        ice_url=["stun:stun.example.org", "turn:turn.example.org?transport=tcp"],
        turn_secret="s3cret",
    )
    client = await Client.open(server.port)
    try:
        await client.send({"type": "username", "name": "carol", "features": ["deltas"]})
        token = (await client.wait_for("signed-in"))["resume"]
        pushed = await client.expect("ice-servers")
        url = f"http://127.0.0.1:{server.port}/api/ice-servers"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                assert response.status == 401
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(url, headers=headers) as response:
                assert response.status == 200
                served = await response.json()
        # The same servers; TURN credentials minted afresh (a busy machine may be a
        # second later), each valid for carol under the shared secret.
        assert [s["urls"] for s in served["iceServers"]] == [
            s["urls"] for s in pushed["iceServers"]
        ]
        turn = [s for s in served["iceServers"] if "username" in s]
        assert turn and turn[0]["username"].endswith(":carol")
        digest = hmac.new(b"s3cret", turn[0]["username"].encode(), hashlib.sha1).digest()
        assert turn[0]["credential"] == base64.b64encode(digest).decode()
        assert "s3cret" not in str(served)
    finally:
        await client.close()


@pytest.fixture
async def two_nodes() -> AsyncIterator[tuple[ChinwagServer, ChinwagServer]]:
    hub = MemoryHub()
    settings = settings_for_tests(host="127.0.0.1", port=0, presence_interval=0.02)
    nodes = (
        ChinwagServer(settings, bus=MemoryBus(hub, node="a")),
        ChinwagServer(settings, bus=MemoryBus(hub, node="b")),
    )
    for node in nodes:
        await node.start()
    yield nodes
    for node in nodes:
        await node.stop()


async def test_two_nodes_share_one_lobby(two_nodes: tuple[ChinwagServer, ChinwagServer]) -> None:
    a, b = two_nodes
    alice = await Client.open(a.port)
    bob = await Client.open(b.port)
    try:
        await alice.sign_in("alice", FEATURES)
        await alice.wait_for("userlist", users=["alice"])
        await bob.sign_in("bob", FEATURES)
        await alice.wait_for("presence", joined=["bob"])
        await bob.wait_for("userlist", users=["alice", "bob"])
        await alice.send({"type": "message", "text": "across"})
        await bob.wait_for("message", text="across", name="alice")
        await bob.send({"type": "call-invite", "target": "alice"})
        await alice.wait_for("call-invite", name="bob")
        twin = await Client.open(b.port)
        await twin.send({"type": "username", "name": "alice"})
        await twin.expect("rejectusername", name="alice1")
        await twin.close()
        await bob.close()
        await alice.wait_for("hang-up", name="bob", reason="gone")
        await alice.wait_for("presence", left=["bob"])
    finally:
        await alice.close()


class Blackhole:
    """A TCP relay on loopback that can go silent: a network that swallows data.

    While ``open``, bytes pass both ways; after ``swallow()`` both sockets stay
    connected but nothing more is forwarded, as when a phone loses its network
    and nobody has noticed yet.
    """

    def __init__(self, port: int) -> None:
        self.target = port
        self.passing = True
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def swallow(self) -> None:
        self.passing = False

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [client_w, server_w]
        await asyncio.gather(self._pump(client_r, server_w), self._pump(server_r, client_w))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self.passing:
                writer.write(data)


async def test_resume_with_seq_recovers_what_a_silent_network_swallowed(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.02, heartbeat=60.0)
    hole = Blackhole(server.port)
    via = await hole.start()
    alice = await Client.open(via)
    bob = await Client.open(server.port)
    features = ["deltas", "plain-text", "seq"]
    try:
        await alice.send({"type": "username", "name": "alice", "features": features})
        token = (await alice.wait_for("signed-in"))["resume"]
        await bob.sign_in("bob", ["deltas", "plain-text"])
        await bob.wait_for("userlist", users=["alice", "bob"])
        await bob.send({"type": "new-ice-candidate", "target": "alice", "candidate": {"n": 0}})
        last = (await alice.wait_for("new-ice-candidate"))["seq"]
        hole.swallow()  # alice's network goes silent; the server does not know
        for n in range(1, 4):
            await bob.send({"type": "new-ice-candidate", "target": "alice", "candidate": {"n": n}})
        await alice.expect_silence(0.3)
        back = await Client.open(server.port)  # her phone is back, on a new connection
        hello = {"type": "username", "name": "alice", "resume": token, "seq": last}
        await back.send({**hello, "features": features})
        await back.expect("signed-in", name="alice", resumed=True)
        await back.expect("ice-servers")
        got = [await back.expect("new-ice-candidate") for _ in range(3)]
        assert [m["candidate"]["n"] for m in got] == [1, 2, 3]
        assert [m["seq"] for m in got] == [last + 1, last + 2, last + 3]
        await back.close()
    finally:
        await alice.session.close()
        await bob.close()
        await hole.close()
