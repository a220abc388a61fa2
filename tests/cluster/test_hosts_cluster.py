"""Hosts and guests across two real ``chinwag serve --redis`` processes sharing a redis-server.

A guest on one process sending a host's request is refused there (``forbidden``),
from the room's control that the host's process published; the waiting room,
removal with a ban, single-use invites and mute-all reach the other process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chinwag.core.closecodes import CloseCode
from tests.cluster.conftest import process_pair
from tests.cluster.support import ChinwagProcess
from tests.redis_server import RedisServer
from tests.server.test_hosts import HOSTS_ONLY, ROOMS, sees
from tests.support import Client

SECRET = "cluster-invite-secret-0123456789abcdef"


@pytest.fixture
def hosted_pair(redis_server: RedisServer, tmp_path: Path) -> Iterator[list[ChinwagProcess]]:
    extra = ("--invite-secret", SECRET, "--chat-rate", "100")
    with process_pair(redis_server.url, tmp_path, *extra) as processes:
        yield processes


async def enter(port: int, name: str, opened: list[Client], **extra: str) -> Client:
    client = await Client.open(port)
    opened.append(client)
    hello = {"type": "username", "name": name, "features": ROOMS, "room": "team", **extra}
    await client.send(hello)
    answer = await client.next()
    while answer["type"] not in ("signed-in", "error"):
        answer = await client.next()
    assert answer["type"] == "signed-in", answer
    return client


async def test_roles_the_door_and_actions_across_two_processes(
    hosted_pair: list[ChinwagProcess], clients: list[Client]
) -> None:
    a, b = hosted_pair
    ana = await enter(a.port, "ana", clients)
    await ana.wait_for("room-control", roles={"ana": "host"})
    guests = [await enter(b.port, name, clients) for name in ("dana", "gus", "gil")]
    await guests[0].wait_for("room-control", roles={"ana": "host"})
    await sees(ana, "gil")
    for number, request in enumerate(HOSTS_ONLY):
        guest = guests[number % len(guests)]
        await guest.send(request)
        refused = await guest.wait_for("error")
        assert (refused["code"], refused["for"]) == ("forbidden", request["type"]), refused
    await guests[0].send({"type": "message", "text": "still open?"})
    await ana.wait_for("message", text="still open?")  # nothing of the refused reached ana

    await ana.send({"type": "set-entry", "entry": "waiting"})
    await guests[1].wait_for("room-control", entry="waiting")
    carol = await enter(b.port, "carol", clients)
    await ana.wait_for("room-control", waiting=["carol"])
    await ana.send({"type": "admit", "target": "carol"})
    await carol.wait_for("room", room="team")
    await guests[2].wait_for("moderation", action="admit", target="carol")

    await ana.send({"type": "mute"})
    for guest in guests:
        muted = await guest.wait_for("moderation", action="mute")
        assert muted["by"] == "ana" and muted["target"] is None

    await ana.send({"type": "invite-create", "role": "guest", "ttl": 600, "single": True})
    link = (await ana.wait_for("invite"))["invite"]
    await enter(b.port, "once", clients, invite=link)
    await sees(ana, "once")
    reuse = await Client.open(a.port)
    clients.append(reuse)
    await reuse.send({"type": "username", "name": "twice", "features": ROOMS, "room": "team",
                      "invite": link})  # fmt: skip
    await reuse.wait_for("error", code="invite-used")

    await ana.send({"type": "remove", "target": "dana", "ban": True})
    code, _ = await guests[0].closed()
    assert code == CloseCode.REMOVED
    await guests[1].wait_for("moderation", action="remove", target="dana")
    back = await Client.open(a.port)
    clients.append(back)
    await back.send({"type": "username", "name": "dana", "features": ROOMS, "room": "team"})
    await back.wait_for("error", code="banned")  # its address too: every test client's

    await ana.send({"type": "set-role", "target": "gus", "role": "moderator"})
    await guests[1].wait_for("room-control", roles={"ana": "host", "gus": "moderator"})
    await ana.close()
    await guests[2].wait_for("moderation", action="promote", target="gus")
