"""Issue 22's attacks on rooms, names and passwords, over real sockets.

Each attack is bounded in count and time; figures are in docs/security.md.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from chinwag.core.names import name_key
from chinwag.core.rooms import LOCK_MARK
from chinwag.history import HistoryStore
from chinwag.history.sqlite import SqliteHistory
from tests.reliability.rawws import ELSEWHERE, RawSocket
from tests.server.test_rooms import ROOMS, hello
from tests.support import Client, StartServer


async def test_capital_i_and_zero_look_alikes_are_numbered_and_share_a_room(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.02)
    clients: list[Client] = []
    try:
        given = []
        for name in ("Paul", "PauI", "bob", "b0b", "Bill", "BiII", "alice", "aIice"):
            clients.append(await Client.open(server.port))
            await clients[-1].send({"type": "username", "name": name, "features": ROOMS})
            given.append((await clients[-1].wait_for("signed-in"))["name"])
        assert given == ["Paul", "PauI1", "bob", "b0b1", "Bill", "BiII1", "alice", "aIice1"]
        planner, look_alike = clients[0], clients[1]
        await planner.send({"type": "join-room", "room": "Plans"})
        await planner.wait_for("room", room="Plans")
        await look_alike.send({"type": "join-room", "room": "PIans"})
        moved = await look_alike.wait_for("room")
        assert moved["room"] == "Plans"  # the same room, shown as its opener typed it
        await planner.wait_for("userlist", users=["Paul", "PauI1"], busy=[])
    finally:
        for client in clients:
            await client.close()


async def _history_lines(client: Client) -> list[str]:
    """The chat lines ``client`` was sent on joining (a ``history`` client)."""
    history = await client.wait_for("history")
    return [line["text"] for line in history["lines"]]


async def test_a_locked_rooms_history_is_gone_when_it_ends(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(presence_interval=0.02, history=True, data_dir=str(tmp_path))
    assert server.history is not None
    store = server.history.store
    alice = await Client.open(server.port)
    bob = await Client.open(server.port)
    await alice.send(hello("alice", "Secret Plans", roomPassword="s3cret"))
    await alice.wait_for("signed-in")
    await bob.send(hello("bob", "Secret Plans", roomPassword="s3cret"))
    await bob.wait_for("signed-in")
    for text in ("the plan", "the date"):
        await alice.send({"type": "message", "text": text})
        await bob.wait_for("message", text=text)
    assert await store.flush(10)
    stored = [key for key in await _stored_rooms(store) if key.startswith(name_key("Secret Plans"))]
    assert len(stored) == 1 and LOCK_MARK in stored[0]  # kept under the room's lock
    await alice.close()
    await bob.close()
    # The room ended: its lines are purged from the store.
    deadline = asyncio.get_running_loop().time() + 10
    while await store.recent(stored[0], 10):
        assert asyncio.get_running_loop().time() < deadline, "the locked room's lines stayed"
        await asyncio.sleep(0.05)
    openers = []
    try:
        for name, room, password in [
            ("carol", "  secret plans ", None),
            ("dave", "SECRET PLANS", "s3cret"),
            ("erin", "Secret Plans", "other"),
        ]:
            client = await Client.open(server.port)
            openers.append(client)
            extra = {"roomPassword": password} if password else {}
            await client.send(hello(name, room, features=[*ROOMS, "history"], **extra))
            await client.wait_for("signed-in")
            assert await _history_lines(client) == []
            await client.close()
    finally:
        for client in openers:
            await client.close()


async def _stored_rooms(store: HistoryStore) -> list[str]:
    """Every room id the SQLite store holds lines for."""
    assert isinstance(store, SqliteHistory)
    return await store.rooms()


async def _wait_for(client: RawSocket, kind: str) -> dict[str, Any]:
    while (message := await client.next_json(timeout=10))["type"] != kind:
        pass
    return message


async def _round_trip(client: RawSocket) -> float:
    """Seconds for a ``list-rooms`` to be answered."""
    start = time.perf_counter()
    client.send_json({"type": "list-rooms"})
    await _wait_for(client, "rooms")
    return time.perf_counter() - start


async def _enter(port: int, name: str, room: str, password: str) -> RawSocket:
    """A client from another address than the attackers', signed in to a room."""
    client = await RawSocket.open(port, source=ELSEWHERE)
    client.send_json(hello(name, room, roomPassword=password))
    welcome = await _wait_for(client, "signed-in")
    assert name_key(welcome["room"]["room"]) == name_key(room)
    return client


async def test_opening_locked_rooms_does_not_slow_anyone_and_guessing_backs_off(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.02, max_per_ip=300)
    honest = await _enter(server.port, "honest", "hall", "")
    baseline = sorted([await _round_trip(honest) for _ in range(5)])[2]
    attackers = [await RawSocket.open(server.port) for _ in range(60)]
    try:
        for number, attacker in enumerate(attackers):
            for room in range(5):
                attacker.send_json(
                    hello(f"m{number}", f"locked {number} {room}", roomPassword="x" * 100)
                )
        under_attack = max([await _round_trip(honest) for _ in range(10)])  # the chat bucket
        assert under_attack < max(0.5, 20 * baseline), (baseline, under_attack)
        # Guessing a locked room's password from ever-new connections at one address.
        owner = await _enter(server.port, "owner", "vault", "1234")
        answers: list[str] = []
        deadline = time.monotonic() + 4.0
        guess = 0
        while time.monotonic() < deadline and guess < 40:
            guesser = await RawSocket.open(server.port)
            guesser.send_json(hello(f"g{guess}", "vault", roomPassword=f"{guess:04d}"))
            answers.append((await _wait_for(guesser, "error"))["code"])
            guesser.writer.close()
            guess += 1
        checked = answers.count("room-password-wrong")
        assert checked <= 6 and answers.count("rate-limited") >= guess - 6, answers
        # The rightful member, at another address, gets in at once.
        member = await _enter(server.port, "member", "Vault", "1234")
        member.writer.close()
        owner.writer.close()
    finally:
        for attacker in attackers:
            attacker.writer.close()
        honest.writer.close()
