"""A room call across two real ``chinwag serve --redis`` processes sharing one redis-server."""

from __future__ import annotations

from typing import Any

from tests.cluster.support import ChinwagProcess
from tests.cluster.test_processes import GONE_WAIT
from tests.support import Client

ROOMS = ["deltas", "ringing", "plain-text", "rooms"]


async def enter(port: int, name: str, room: str, opened: list[Client]) -> Client:
    client = await Client.open(port)
    opened.append(client)
    await client.send({"type": "username", "name": name, "features": ROOMS, "room": room})
    await client.wait_for("signed-in")
    return client


def seats(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "rollback": True} for name in names]


async def test_a_room_call_across_two_processes(
    two_processes: list[ChinwagProcess],
    clients: list[Client],
) -> None:
    a, b = two_processes
    alice = await enter(a.port, "alice", "team", clients)
    bob = await enter(b.port, "bob", "team", clients)
    carol = await enter(b.port, "carol", "elsewhere", clients)
    await alice.send({"type": "room-call-join"})
    await bob.wait_for("room-call", participants=seats("alice"))
    await bob.send({"type": "room-call-join"})
    await alice.wait_for("room-call", participants=seats("alice", "bob"))
    await bob.send({"type": "room-signal", "target": "alice", "description": {"type": "offer"}})
    offer = await alice.wait_for("room-signal")
    assert offer["name"] == "bob" and offer["description"] == {"type": "offer"}
    await alice.send({"type": "room-signal", "target": "bob", "candidate": {"c": 1}})
    assert (await bob.wait_for("room-signal"))["name"] == "alice"
    await carol.send({"type": "room-signal", "target": "alice", "candidate": {}})
    assert (await carol.wait_for("error"))["code"] == "no-such-user"  # another room: no leak
    b.kill()  # bob's process dies: bob leaves the room and its call
    await alice.wait_for("room-call", timeout=GONE_WAIT, participants=seats("alice"))
