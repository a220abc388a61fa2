"""Issue 22's cluster attacks on rooms: two real ``chinwag serve --redis`` processes, one Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.cluster.support import ChinwagProcess
from tests.support import Client

ROOMS = ["deltas", "ringing", "plain-text", "rooms"]
TRIALS = 10


async def open_at(port: int, name: str, room: str, opened: list[Client], **extra: Any) -> Client:
    client = await Client.open(port)
    opened.append(client)
    hello = {"type": "username", "name": name, "features": ROOMS, "room": room, **extra}
    await client.send(hello)
    return client


async def test_a_racing_opener_never_stays_in_a_locked_room_without_its_password(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes
    outcomes = []
    for trial in range(TRIALS):
        room = f"vault {trial}"
        alice, mallory = await asyncio.gather(
            open_at(a.port, f"alice{trial}", room, clients, roomPassword="s3cret"),
            open_at(b.port, f"mallory{trial}", room.upper(), clients),
        )
        welcome = await alice.wait_for("signed-in", timeout=10)
        first = await mallory.next(timeout=10)
        while first["type"] not in ("signed-in", "error"):
            first = await mallory.next(timeout=10)
        if first["type"] == "error":  # B already knew of the lock
            assert first["code"] == "room-password-required", first
            outcomes.append("refused")
            continue
        if not welcome["room"]["locked"]:  # mallory's unlocked room was there first
            outcomes.append("unlocked first")
            continue
        # Both entered their own twin: the lock wins everywhere, mallory is moved out.
        if first["room"]["room"] != "":
            moved = await mallory.wait_for("error", timeout=10, code="room-password-required")
            assert moved["for"] == "join-room"
            await mallory.wait_for("room", timeout=10, room="")
            outcomes.append("moved out")
        else:
            outcomes.append("refused")
        await alice.send({"type": "message", "text": f"secret {trial}"})
        await alice.wait_for("message", text=f"secret {trial}", timeout=10)
        await mallory.send({"type": "message", "text": f"marker {trial}"})
        seen = []
        while not seen or seen[-1].get("text") != f"marker {trial}":
            seen.append(await mallory.next(timeout=10))
        assert not [m for m in seen if m.get("text") == f"secret {trial}"], seen
    assert len(outcomes) == TRIALS
    assert "moved out" in outcomes or "refused" in outcomes, outcomes


async def test_the_room_call_cap_holds_across_processes(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes  # started with the default cap of 8
    people = []
    for number in range(16):
        port = (a if number % 2 else b).port
        person = await open_at(port, f"p{number}", "stage", clients)
        await person.wait_for("signed-in", timeout=10)
        people.append(person)
    await asyncio.gather(*(p.send({"type": "room-call-join"}) for p in people))
    outcomes = [await seat_of(person, f"p{number}") for number, person in enumerate(people)]
    assert outcomes.count("seated") == 8 and outcomes.count("room-call-full") == 8, outcomes


async def seat_of(person: Client, name: str) -> str:
    """``seated`` once a ``room-call`` lists ``name``, or the error code it got."""
    while True:
        message = await person.next(timeout=10)
        if message["type"] == "error":
            return str(message["code"])
        if message["type"] == "room-call" and name in [p["name"] for p in message["participants"]]:
            return "seated"
