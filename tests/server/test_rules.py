"""Every protocol rule, against a real server over real WebSockets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from chinwag.transport.server import ChinwagServer
from tests.support import Client, StartServer, two_signed_in

Connect = Callable[..., Awaitable[Client]]
FEATURES = ["deltas", "ringing", "plain-text"]


async def test_json_subprotocol_is_accepted_and_optional(server: ChinwagServer) -> None:
    with_json = await Client.open(server.port, protocols=("json",))
    without = await Client.open(server.port, path="/ws", protocols=())
    try:
        assert with_json.ws.protocol == "json"
        assert without.ws.protocol is None
    finally:
        await with_json.close()
        await without.close()


async def test_reference_sign_in_and_userlist(connect: Connect) -> None:
    alice = await connect()
    bob = await connect()
    await alice.sign_in("alice")
    await alice.expect("userlist", users=["alice"])
    await bob.sign_in("bob")
    await alice.expect("userlist", users=["alice", "bob"])
    await bob.expect("userlist", users=["alice", "bob"])


async def test_taken_name_is_numbered(connect: Connect) -> None:
    first = await connect()
    await first.sign_in("sam")
    second = await connect()
    await second.send({"type": "username", "name": "sam", "id": second.id, "date": 1})
    await second.expect("rejectusername", id=second.id, name="sam1")
    await second.expect("userlist", users=["sam", "sam1"])


async def test_invalid_name_gets_error_and_no_sign_in(connect: Connect) -> None:
    client = await connect()
    await client.send({"type": "username", "name": "<script>"})
    error = await client.expect("error", code="bad-name", **{"for": "username"})
    assert "<" in error["message"]
    await client.send({"type": "message", "text": "hi"})
    await client.expect("error", code="not-signed-in")


async def test_rename_updates_everyone(connect: Connect) -> None:
    alice, bob = await two_signed_in(connect)
    await alice.send({"type": "username", "name": "alicia"})
    await bob.wait_for("userlist", users=["bob", "alicia"])


async def test_chat_identity_is_bound_to_the_connection(connect: Connect) -> None:
    alice, bob = await two_signed_in(connect)
    await alice.send({"type": "message", "text": "hi", "id": bob.id, "name": "bob"})
    for client in (alice, bob):
        line = await client.expect("message", text="hi", name="alice", id=alice.id)
        assert isinstance(line["date"], int)


async def test_someone_elses_id_cannot_rename_them(connect: Connect) -> None:
    alice, bob = await two_signed_in(connect)
    await alice.send({"type": "username", "name": "mallory", "id": bob.id})
    await bob.wait_for("userlist", users=["bob", "mallory"])


async def test_signaling_is_relayed_with_the_senders_name(connect: Connect) -> None:
    alice = await connect()
    bob = await connect()
    await alice.sign_in("alice")
    await bob.sign_in("bob")
    await bob.wait_for("userlist", users=["alice", "bob"])
    sdp = {"type": "offer", "sdp": "v=0\r\n"}
    await alice.send({"type": "video-offer", "name": "carol", "target": "bob", "sdp": sdp})
    await bob.expect("video-offer", name="alice", target="bob", sdp=sdp)
    candidate = {
        "candidate": "candidate:0 1 UDP 1 127.0.0.1 9 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "u",
    }
    await bob.send({"type": "new-ice-candidate", "target": "alice", "candidate": candidate})
    await alice.wait_for("new-ice-candidate", name="bob", candidate=candidate)


async def test_message_to_offline_user_is_answered(connect: Connect) -> None:
    alice = await connect()
    await alice.sign_in("alice")
    await alice.expect("userlist")
    await alice.send({"type": "hang-up", "target": "nobody"})
    await alice.expect("error", code="no-such-user", target="nobody", **{"for": "hang-up"})


async def test_deltas_client_gets_list_then_deltas(connect: Connect) -> None:
    dora = await connect()
    await dora.sign_in("dora", FEATURES)
    await dora.expect("ice-servers", iceServers=[], expires=None)
    await dora.expect("userlist", users=["dora"], busy=[])
    eve = await connect()
    await eve.sign_in("eve")
    await dora.expect("presence", joined=["eve"], left=[])
    await eve.close()
    await dora.expect("presence", joined=[], left=["eve"])


async def test_presence_is_coalesced(start_server: StartServer) -> None:
    server = await start_server(presence_interval=2.0)
    watcher = await Client.open(server.port)
    others = [await Client.open(server.port) for _ in range(5)]
    try:
        await watcher.sign_in("watcher")
        await watcher.expect("userlist", users=["watcher"])
        await asyncio.gather(*(c.sign_in(f"u{i}") for i, c in enumerate(others)))
        everyone = ["watcher", "u0", "u1", "u2", "u3", "u4"]
        updates = [await watcher.expect("userlist")]
        while updates[-1]["users"] != everyone:
            updates.append(await watcher.expect("userlist"))
        # Five sign-ins, one update (two if a busy machine spread them over a flush).
        assert len(updates) <= 2, updates
        await watcher.expect_silence(2.5)  # and nothing more in the next interval
    finally:
        for client in (watcher, *others):
            await client.close()


async def test_call_partner_is_hung_up_when_peer_vanishes(connect: Connect) -> None:
    alice = await connect()
    bob = await connect()
    await alice.sign_in("alice", FEATURES)
    await bob.sign_in("bob", FEATURES)
    await bob.wait_for("userlist")
    await alice.send({"type": "call-invite", "target": "bob"})
    await bob.wait_for("call-invite", name="alice")
    await bob.send({"type": "call-accept", "target": "alice"})
    await alice.wait_for("call-accept", name="bob")
    await alice.wait_for("presence", busy=["alice", "bob"])
    await alice.ws.close()
    await bob.wait_for("hang-up", name="alice", reason="gone")


async def test_invite_to_reference_client_is_accepted_by_server(connect: Connect) -> None:
    alice = await connect()
    ref = await connect()
    await alice.sign_in("alice", FEATURES)
    await ref.sign_in("ref")
    await alice.wait_for("userlist", users=["alice", "ref"])
    await alice.send({"type": "call-invite", "target": "ref"})
    await alice.expect("call-accept", name="ref", auto=True)
    await ref.expect("userlist")
    await ref.expect_silence(0.2)


async def test_healthz(server: ChinwagServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{server.port}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
        async with session.get(f"http://127.0.0.1:{server.port}/nope") as response:
            assert response.status == 404
        async with session.post(f"http://127.0.0.1:{server.port}/") as response:
            assert response.status == 405


async def test_runs_on_the_event_loop_its_id_names(request: pytest.FixtureRequest) -> None:
    """tests/server/conftest.py runs this module on asyncio's and uvloop's loops: check it does."""
    loop_name = request.node.callspec.id  # "asyncio" or "uvloop"
    assert type(asyncio.get_running_loop()).__module__.partition(".")[0] == loop_name
