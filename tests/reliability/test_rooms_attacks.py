"""Issue 22's attacks on rooms, names and passwords, over real sockets.

Each attack is bounded in count and time; figures are in docs/security.md.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

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
        while True:  # a full list or a delta, as the presence timer has it
            seen = await planner.next()
            if "PauI1" in seen.get("users", []) + seen.get("joined", []):
                break
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


async def _all_stored(store: HistoryStore) -> list[str]:
    """Every stored line's text, oldest first."""
    lines = []
    for room in await store.rooms():
        lines += [(r.id, r.text) for r in await store.recent(room, 100_000)]
    return [text for _, text in sorted(lines)]


async def _hop_and_chat(port: int, hoppers: int, lines: int) -> list[list[str]]:
    """``hoppers`` connections from one address, each in its own room, say ``lines`` lines;
    the error codes each was sent back."""
    clients = [await RawSocket.open(port) for _ in range(hoppers)]
    codes: list[list[str]] = []
    try:
        for number, client in enumerate(clients):
            client.send_json(hello(f"hop{number}", f"hop {number}"))
            await _wait_for(client, "signed-in")
            for line in range(lines):
                client.send_json({"type": "message", "text": f"{number}:{line} " + "x" * 1000})
            seen: list[str] = []
            while True:
                message = await client.next_json(timeout=10)
                if message["type"] == "error":
                    seen.append(message["code"])
                if message.get("text", "").startswith(f"{number}:{lines - 1} "):
                    break
            codes.append(seen)
    finally:
        for client in clients:
            client.writer.close()
    return codes


async def test_stored_history_is_capped_per_address_and_in_total(
    start_server: StartServer, tmp_path: Path
) -> None:
    # One address hopping rooms: 40 connections x 10 lines, a quota of 60 lines a minute.
    server = await start_server(
        presence_interval=0.02, history=True, data_dir=str(tmp_path / "a"), history_per_address=60
    )
    assert server.history is not None
    codes = await _hop_and_chat(server.port, 40, 10)
    honest = await _enter(server.port, "honest", "hall", "")
    for line in range(5):
        honest.send_json({"type": "message", "text": f"honest {line}"})
        await _wait_for(honest, "message")
    honest.writer.close()
    assert await server.history.store.flush(10)
    stored = await _all_stored(server.history.store)
    from_hoppers = [text for text in stored if not text.startswith("honest")]
    assert 60 <= len(from_hoppers) <= 70, len(from_hoppers)  # the burst, and a little refill
    assert [text for text in stored if text.startswith("honest")] == [
        f"honest {n}" for n in range(5)
    ]
    # Every connection whose lines were not stored was told (error replies have their own budget).
    assert all("history-quota" in c for c in codes[7:]), codes

    # The total cap: the oldest lines of any room go first.
    capped = await start_server(
        presence_interval=0.02,
        history=True,
        data_dir=str(tmp_path / "b"),
        history_per_address=10_000,
        history_max_total=100,
    )
    assert capped.history is not None
    await _hop_and_chat(capped.port, 20, 10)
    assert await capped.history.store.flush(10)
    await capped.history.store.prune()  # what the store does every minute
    kept = await _all_stored(capped.history.store)
    assert len(kept) == 100
    assert {text.split(" ")[0] for text in kept} == {
        f"{n}:{line}" for n in range(10, 20) for line in range(10)
    }


async def test_the_public_room_list_is_paged_and_cheap_to_fetch(start_server: StartServer) -> None:
    server = await start_server(presence_interval=0.5, max_per_ip=400)
    openers = [await RawSocket.open(server.port) for _ in range(300)]
    try:
        for number, opener in enumerate(openers):
            opener.send_json(hello(f"o{number}", ""))
            opener.send_json({"type": "join-room", "room": f"room {number:03d}", "public": True})
        for opener in openers:
            await _wait_for(opener, "room")
        honest = await _enter(server.port, "honest", "hall", "")
        url = f"http://127.0.0.1:{server.port}/api/rooms"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                first = await response.json()
                assert response.headers["X-Total-Count"] == "300"
            async with session.get(url + "?offset=100") as response:
                second = await response.json()
            assert len(first) == len(second) == 100
            assert not {r["room"] for r in first} & {r["room"] for r in second}

            async def fetch_for(seconds: float) -> int:
                done, end = 0, time.monotonic() + seconds
                while time.monotonic() < end:
                    async with session.get(url) as response:
                        await response.read()
                    done += 1
                return done

            fetchers = asyncio.gather(*(fetch_for(3.0) for _ in range(4)))
            worst = max([await _round_trip(honest) for _ in range(8)])
            fetched = sum(await fetchers)
        honest.send_json({"type": "list-rooms", "offset": 200})
        page = await _wait_for(honest, "rooms")
        assert (len(page["rooms"]), page["offset"], page["total"]) == (100, 200, 300)
        assert worst < 0.5, worst
        assert fetched > 0
    finally:
        for opener in openers:
            opener.writer.close()


async def test_call_reports_count_only_real_calls_within_each_addresses_budget(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.02)
    observed = server.metrics.first_frame.counts
    # Reports with no call behind them, from 40 connections of one address.
    liars = [await RawSocket.open(server.port) for _ in range(40)]
    answers: list[str] = []
    try:
        for number, liar in enumerate(liars):
            liar.send_json({"type": "username", "name": f"liar{number}", "features": ["deltas"]})
            await _wait_for(liar, "signed-in")
            for _ in range(3):
                report = {"type": "call-report", "outcome": "connected", "ttff_ms": 5}
                liar.send_json({**report, "local": "relay", "remote": "relay"})
                answers.append((await _wait_for(liar, "error"))["code"])
        assert set(answers) == {"not-in-call", "rate-limited"}
        assert answers.count("not-in-call") <= 31, answers.count("not-in-call")  # the address's
        assert sum(observed) == 0 and not server.metrics.call_routes
        # A real call at another address is counted.
        alice = await _enter(server.port, "alice", "", "")
        bob = await _enter(server.port, "bob", "", "")
        alice.send_json({"type": "call-invite", "target": "bob"})
        await _wait_for(bob, "call-invite")
        bob.send_json({"type": "call-accept", "target": "alice"})
        await _wait_for(alice, "call-accept")
        report = {"type": "call-report", "target": "bob", "outcome": "connected", "ttff_ms": 250}
        alice.send_json({**report, "local": "host", "remote": "host"})
        alice.send_json({"type": "list-rooms"})  # answered after the report was handled
        await _wait_for(alice, "rooms")
        assert sum(observed) == 1 and server.metrics.call_routes == {"host/host": 1}
        alice.writer.close()
        bob.writer.close()
    finally:
        for liar in liars:
            liar.writer.close()


async def test_a_flood_of_large_direct_messages_slows_its_senders_not_the_receiver(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.5)
    victim = await RawSocket.open(server.port, receive_buffer=64 * 1024, source=ELSEWHERE)
    victim.send_json(hello("victim", ""))
    await _wait_for(victim, "signed-in")
    received = {"bytes": 0, "last": ""}

    async def read_at_a_reasonable_pace() -> None:  # about 600 KB/s, from a slow link
        while True:
            _opcode, payload = await victim.read_frame(timeout=30)
            received["bytes"] += len(payload)
            if b'"from-friend"' in payload:
                received["last"] = "from-friend"
                return
            await asyncio.sleep(len(payload) / 600_000)

    reader = asyncio.create_task(read_at_a_reasonable_pace())
    attackers = [await RawSocket.open(server.port) for _ in range(4)]
    told: list[dict[str, Any]] = []
    try:
        for number, attacker in enumerate(attackers):
            attacker.send_json(hello(f"flood{number}", ""))
            await _wait_for(attacker, "signed-in")
        big = {"type": "direct-message", "target": "victim", "text": "x" * 60_000}
        end = time.monotonic() + 4.0
        sent = 0
        while time.monotonic() < end:  # 100 a second in all: half the signal rate of one
            for attacker in attackers:
                attacker.send_json(big)
                sent += 1
            await asyncio.sleep(0.04)
        for attacker in attackers:  # each is told, naming the target
            while (message := await attacker.next_json())["type"] != "error":
                pass
            told.append(message)
        friend = await _enter(server.port, "friend", "", "")
        friend.send_json({"type": "direct-message", "target": "victim", "text": "from-friend"})
        await asyncio.wait_for(reader, 30)
        friend.writer.close()
    finally:
        reader.cancel()
        for attacker in attackers:
            attacker.writer.close()
    assert received["last"] == "from-friend"  # never dropped as a slow reader
    assert {(m["code"], m.get("target")) for m in told} == {("rate-limited", "victim")}
    # What reached the victim: its inbound budget (512 KiB at once, 256 KiB/s), not 24 MB.
    assert received["bytes"] < 2.5 * 1024 * 1024, (sent, received["bytes"])


async def test_silent_bots_cannot_hold_room_call_seats(start_server: StartServer) -> None:
    server = await start_server(
        presence_interval=0.02, room_call_max=8, room_call_idle=2.0, room_call_per_address=4
    )
    bots = [await RawSocket.open(server.port) for _ in range(6)]
    try:
        for number, bot in enumerate(bots):
            bot.send_json(hello(f"bot{number}", "stage"))
            await _wait_for(bot, "signed-in")
        for bot in bots:
            bot.send_json({"type": "room-call-join"})
        for bot in bots[4:]:  # one address holds at most 4 seats of a call
            refused = await _wait_for(bot, "error")
            assert (refused["code"], refused["for"]) == ("room-call-full", "room-call-join")
        # Two people at another address join and negotiate; the silent bots lose their seats.
        alice = await _enter(server.port, "alice", "stage", "")
        bob = await _enter(server.port, "bob", "stage", "")
        alice.send_json({"type": "room-call-join"})
        bob.send_json({"type": "room-call-join"})
        await _wait_for(bob, "room-call")
        start = time.monotonic()
        released = await _wait_for(bots[0], "error")
        assert released["code"] == "not-in-call" and "released" in released["message"]
        while True:  # keep signaling while the bots' seats go
            alice.send_json({"type": "room-signal", "target": "bob", "candidate": {}})
            bob.send_json({"type": "room-signal", "target": "alice", "candidate": {}})
            call = await _wait_for(alice, "room-call")
            if {p["name"] for p in call["participants"]} == {"alice", "bob"}:
                break
        assert time.monotonic() - start < 10
        alice.writer.close()
        bob.writer.close()
    finally:
        for bot in bots:
            bot.writer.close()
