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


async def test_a_racing_opener_never_enters_a_locked_room_without_its_password(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    outcomes: list[str] = []
    trial = -1
    while len(outcomes) < TRIALS or "refused" not in outcomes:
        trial += 1  # until the lock won at least once (each side wins about half the races)
        assert trial < 2 * TRIALS, outcomes  # within each process's budget of locked rooms
        a, b = two_processes if trial % 2 == 0 else two_processes[::-1]
        room = f"vault {trial}"
        alice, mallory = await asyncio.gather(
            open_at(a.port, f"alice{trial}", room, clients, roomPassword="s3cret"),
            open_at(b.port, f"mallory{trial}", room.upper(), clients),
        )
        welcome = await alice.wait_for("signed-in", timeout=10)
        await alice.send({"type": "message", "text": f"secret {trial}"})  # at once: no window
        first = await mallory.next(timeout=10)
        while first["type"] not in ("signed-in", "error"):
            first = await mallory.next(timeout=10)
        if first["type"] == "signed-in":  # only into the unlocked room that was claimed first
            assert not first["room"]["locked"] and not welcome["room"]["locked"], (first, welcome)
            assert first["room"]["room"].lower() == room, first
            outcomes.append("unlocked first")
            continue
        assert (first["code"], first["for"]) == ("room-password-required", "username"), first
        outcomes.append("refused")
        assert welcome["room"]["locked"], welcome
        hello = {"type": "username", "name": f"mallory{trial}", "features": ROOMS, "room": ""}
        await mallory.send(hello)  # signed in after all, in the lobby: she must hear nothing
        await mallory.wait_for("signed-in", timeout=10)
        await alice.wait_for("message", text=f"secret {trial}", timeout=10)
        await alice.send({"type": "message", "text": f"secret again {trial}"})
        await alice.wait_for("message", text=f"secret again {trial}", timeout=10)
        await mallory.send({"type": "message", "text": f"marker {trial}"})
        seen = []
        while not seen or seen[-1].get("text") != f"marker {trial}":
            seen.append(await mallory.next(timeout=10))
        leaked = [m for m in seen if "secret" in str(m.get("text", ""))]
        assert not leaked, seen
    assert set(outcomes) <= {"refused", "unlocked first"}, outcomes


async def test_a_racing_join_room_never_enters_a_locked_room_without_its_password(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = two_processes
    pairs = [  # (alice, mallory): each process sees half the locked openings (a budget)
        (
            await open_at(a.port, "alice", "", clients),
            await open_at(b.port, "mallory", "", clients),
        ),
        (await open_at(b.port, "ann", "", clients), await open_at(a.port, "mel", "", clients)),
    ]
    for person in (p for pair in pairs for p in pair):
        await person.wait_for("signed-in", timeout=10)
    outcomes: list[str] = []
    trial = -1
    while len(outcomes) < TRIALS or "refused" not in outcomes:
        trial += 1  # until the lock won at least once
        assert trial < 2 * TRIALS, outcomes
        alice, mallory = pairs[trial % 2]
        room = f"safe {trial}"
        await asyncio.gather(
            alice.send({"type": "join-room", "room": room, "password": "s3cret"}),
            mallory.send({"type": "join-room", "room": room.upper()}),
        )
        entered = await alice.next(timeout=10)
        while entered["type"] not in ("room", "error"):
            entered = await alice.next(timeout=10)
        assert entered["type"] == "room", entered
        assert entered["room"].lower() == room, entered  # named as its first opener typed it
        answer = await mallory.next(timeout=10)
        while answer["type"] not in ("room", "error"):
            answer = await mallory.next(timeout=10)
        if answer["type"] == "room":  # only into the unlocked room that was claimed first
            assert not answer["locked"] and not entered["locked"], (answer, entered)
            outcomes.append("unlocked first")
        else:
            assert (answer["code"], answer["for"]) == ("room-password-required", "join-room")
            assert entered["locked"], entered
            outcomes.append("refused")
        for person in (alice, mallory):  # both back in the lobby for the next race
            await person.send({"type": "join-room", "room": ""})
        for person in (alice, mallory):  # (one already there is told so again)
            await person.wait_for("room", timeout=10, room="")
    assert set(outcomes) <= {"refused", "unlocked first"}, outcomes


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
