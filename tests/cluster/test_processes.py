"""Two real ``chinwag serve --redis`` processes and one real Redis, as one server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from tests.cluster.conftest import RedisServer
from tests.cluster.support import ChinwagProcess, until_list
from tests.support import Client

#: kill -9 of a process: its users are gone from the others within its 10 s lease
#: plus one 3 s check (issue 6, docs/deployment.md), with margin...
GONE_WITHIN = 15.0
#: ...plus what a busy machine adds (the checking process's ticks run late). Without
#: the lease the users would never go: the test still fails then.
GONE_WAIT = GONE_WITHIN + 20.0


async def signed_in(port: int, name: str, opened: list[Client]) -> Client:
    client = await Client.open(port)
    opened.append(client)
    await client.sign_in(name, ["plain-text"])
    return client


async def messages_until(
    client: Client, kind: str, timeout: float = 20.0, **fields: Any
) -> list[dict[str, Any]]:
    """Every message up to and including the first ``kind`` with ``fields``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        message = await client.next(max(0.01, deadline - time.monotonic()))
        seen.append(message)
        if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
            return seen


async def test_users_on_two_processes_see_each_other_chat_and_signal(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes
    alice = await signed_in(a.port, "alice", clients)
    bob = await signed_in(b.port, "bob", clients)
    await until_list(alice, {"alice", "bob"})
    await until_list(bob, {"alice", "bob"})

    await alice.send({"type": "message", "text": "hi <b>bob</b>", "id": alice.id, "date": 0})
    for reader in (alice, bob):
        line = await reader.wait_for("message", name="alice")
        assert line["text"] == "hi <b>bob</b>"
    # exactly once: nothing more of alice's arrives before a later line of bob's
    await bob.send({"type": "message", "text": "marker", "id": bob.id, "date": 0})
    for reader in (alice, bob):
        lines = await messages_until(reader, "message", name="bob", text="marker")
        assert [m for m in lines if m["type"] == "message"] == [lines[-1]]

    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
    await alice.send({"type": "video-offer", "target": "bob", "sdp": offer})
    got = await bob.wait_for("video-offer", name="alice")
    assert got["sdp"] == offer
    answer = {"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}
    await bob.send({"type": "video-answer", "target": "alice", "sdp": answer})
    assert (await alice.wait_for("video-answer", name="bob"))["sdp"] == answer
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}
    await alice.send({"type": "new-ice-candidate", "target": "bob", "candidate": candidate})
    assert (await bob.wait_for("new-ice-candidate", name="alice"))["candidate"] == candidate
    await bob.send({"type": "hang-up", "target": "alice"})
    await alice.wait_for("hang-up", name="bob")


async def test_a_name_is_taken_once_across_processes_even_at_the_same_moment(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes
    await signed_in(a.port, "alice", clients)
    second = await signed_in(b.port, "alice", clients)
    assert second.name == "alice1"
    for i in range(10):
        on_a, on_b = await Client.open(a.port), await Client.open(b.port)
        clients.extend((on_a, on_b))
        names = await asyncio.gather(
            on_a.sign_in(f"race{i}", ["plain-text"]), on_b.sign_in(f"race{i}", ["plain-text"])
        )
        assert sorted(names) == [f"race{i}", f"race{i}1"]


async def test_look_alike_names_are_one_name_across_processes(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes
    first = await signed_in(a.port, "alice", clients)
    assert (await signed_in(b.port, "Alice", clients)).name == "Alice1"
    # U+0430 is a Cyrillic "a"; "\u0430lice1" would look like "Alice1", hence the 2
    assert (await signed_in(b.port, "\u0430lice", clients)).name == "\u0430lice2"
    await until_list(first, {"alice", "Alice1", "\u0430lice2"})
    for i in range(10):  # at the same moment: neither process has heard of the other's user
        on_a, on_b = await Client.open(a.port), await Client.open(b.port)
        clients.extend((on_a, on_b))
        names = await asyncio.gather(
            on_a.sign_in(f"race{i}", ["plain-text"]),
            on_b.sign_in(f"R\u0430ce{i}", ["plain-text"]),
        )
        assert sorted(names) in (
            [f"R\u0430ce{i}1", f"race{i}"],
            [f"R\u0430ce{i}", f"race{i}1"],
        ), names


async def test_a_killed_process_leaves_the_lobby_and_its_calls_hang_up(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes
    alice = await signed_in(a.port, "alice", clients)
    await signed_in(a.port, "anna", clients)
    bob = await signed_in(b.port, "bob", clients)
    await until_list(alice, {"alice", "anna", "bob"})
    await alice.send({"type": "video-offer", "target": "bob", "sdp": {"type": "offer"}})
    await bob.wait_for("video-offer", name="alice")
    await bob.send({"type": "video-answer", "target": "alice", "sdp": {"type": "answer"}})
    await alice.wait_for("video-answer", name="bob")

    b.kill()
    killed_at = time.monotonic()
    seen = await messages_until(alice, "hang-up", timeout=GONE_WAIT, name="bob")
    assert seen[-1]["reason"] == "gone"
    await until_list(alice, {"alice", "anna"}, timeout=GONE_WAIT)
    assert time.monotonic() - killed_at < GONE_WAIT
    assert (await signed_in(a.port, "bob", clients)).name == "bob"  # the name is free again


async def sign_in_outcome(port: int, name: str, opened: list[Client]) -> tuple[str, str]:
    """("signed-in", name), or ("refused", why) when the server will not take sign-ins."""
    try:
        client = await Client.open(port)
    except aiohttp.WSServerHandshakeError as error:
        return "refused", f"upgrade refused: {error.status} {error.message}"
    opened.append(client)
    await client.send({"type": "username", "name": name, "features": ["plain-text"]})
    while True:
        message = await client.next()
        if message["type"] == "signed-in":
            return "signed-in", message["name"]
        if message["type"] == "error":
            assert message["code"] == "unavailable", message
            return "refused", message["message"]


async def test_redis_restart_is_survived_and_the_lobby_made_whole(
    two_processes: list[ChinwagProcess], clients: list[Client], redis_server: RedisServer
) -> None:
    a, b = two_processes
    alice = await signed_in(a.port, "alice", clients)
    bob = await signed_in(b.port, "bob", clients)
    await until_list(bob, {"alice", "bob"})

    redis_server.stop()
    deadline = time.monotonic() + 30  # the process notices at once (its subscription drops)
    while (outcome := await sign_in_outcome(a.port, "carol", clients))[0] != "refused":
        assert time.monotonic() < deadline, f"sign-ins still accepted: {outcome}"
        await asyncio.sleep(0.1)
    await alice.send({"type": "message", "text": "still here", "id": alice.id, "date": 0})
    await alice.wait_for("message", text="still here")  # local users are still served

    redis_server.start()
    began = time.monotonic()
    while (outcome := await sign_in_outcome(a.port, "carol", clients))[0] != "signed-in":
        assert time.monotonic() - began < 60, f"sign-ins still refused: {outcome}"
        await asyncio.sleep(0.2)
    assert outcome == ("signed-in", "carol")
    await until_list(bob, {"alice", "bob", "carol"})
    await until_list(alice, {"alice", "bob", "carol"})
    # names were claimed again: bob's is still bob's
    assert (await signed_in(a.port, "bob", clients)).name == "bob1"
    await bob.send({"type": "message", "text": "back", "id": bob.id, "date": 0})
    await alice.wait_for("message", name="bob", text="back")


async def connections_on(port: int) -> int:
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        count: int = (await response.json())["connections"]
        return count


async def test_a_session_resumes_on_the_other_process(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes
    alice = await Client.open(a.port)
    clients.append(alice)
    await alice.send({"type": "username", "name": "alice", "features": ["deltas", "plain-text"]})
    token = (await alice.wait_for("signed-in"))["resume"]
    bob = await signed_in(b.port, "bob", clients)
    await until_list(bob, {"alice", "bob"})

    connection = alice.ws._response.connection  # type: ignore[union-attr]
    assert connection is not None and connection.transport is not None
    connection.transport.abort()  # the network drops her: no closing handshake
    deadline = time.monotonic() + 30
    while await connections_on(a.port) != 0:
        assert time.monotonic() < deadline, "process A never noticed the drop"
        await asyncio.sleep(0.02)
    await bob.send({"type": "new-ice-candidate", "target": "alice", "candidate": {"n": 7}})

    back = await Client.open(b.port)  # reconnects through the balancer to the other process
    clients.append(back)
    await back.send({"type": "username", "name": "alice", "resume": token, "features": ["deltas"]})
    welcome = await back.wait_for("signed-in")
    assert welcome["name"] == "alice" and welcome["resumed"] is True
    candidate = await back.wait_for("new-ice-candidate")
    assert candidate["candidate"] == {"n": 7} and candidate["name"] == "bob"
    await bob.send({"type": "message", "text": "welcome back"})
    for message in await messages_until(bob, "message", text="welcome back"):
        if message["type"] == "userlist":  # bob never saw alice leave
            assert "alice" in message["users"], message
    await back.send({"type": "hang-up", "target": "bob"})  # and she is reachable as before
    await bob.wait_for("hang-up", name="alice")
