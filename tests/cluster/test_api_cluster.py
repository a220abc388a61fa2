"""The server API and webhooks across two real ``chinwag serve --redis`` processes.

An API call on process A acts on a person whose socket is on process B, and each
event reaches the webhook receiver once, from the process where it happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chinwag.core.closecodes import CloseCode
from tests.cluster.conftest import process_pair
from tests.cluster.support import ChinwagProcess
from tests.cluster.test_hosts_cluster import enter
from tests.redis_server import RedisServer
from tests.server.test_hosts import sees
from tests.server.test_webhooks import SECRET, Receiver, receiver
from tests.support import Client

KEY = "cluster-api-key-0123456789abcdef"
__all__ = ["receiver"]  # the fixture


@pytest.fixture
def api_pair(
    redis_server: RedisServer, tmp_path: Path, receiver: Receiver
) -> Iterator[list[ChinwagProcess]]:
    extra = ("--api-key", KEY, "--webhook", receiver.url, "--webhook-secret", SECRET)
    with process_pair(redis_server.url, tmp_path, *extra) as processes:
        yield processes


async def call(port: int, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{port}/api/v1{path}"
    headers = {"Authorization": f"Bearer {KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request("POST" if body else "GET", url, json=body, headers=headers) as answer,
    ):
        return answer.status, await answer.json()


async def test_an_api_call_on_one_process_acts_on_a_person_on_the_other(
    api_pair: list[ChinwagProcess], clients: list[Client], receiver: Receiver
) -> None:
    a, b = api_pair
    ana = await enter(b.port, "ana", clients)
    dana = await enter(b.port, "dana", clients)
    await sees(ana, "dana")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:  # A learns B's people from the bus
        status, listed = await call(a.port, "/rooms")
        people = [p["name"] for r in listed["rooms"] for p in r["participants"]]
        if people == ["ana", "dana"]:
            break
        assert loop.time() < deadline, listed
        await asyncio.sleep(0.1)
    status, said = await call(a.port, "/messages", {"room": "team", "text": "from A"})
    assert status == 200, said
    await ana.wait_for("moderation", action="say", text="from A")
    status, removed = await call(a.port, "/participants/remove", {"room": "team", "name": "dana"})
    assert status == 200, removed
    assert (await dana.closed())[0] == CloseCode.REMOVED
    await ana.wait_for("moderation", action="remove", target="dana")

    on_b = [  # ana's and dana's sockets are on B
        ("room.started", {"room": "team"}),
        ("participant.joined", {"room": "team", "name": "ana"}),
        ("participant.joined", {"room": "team", "name": "dana"}),
        ("participant.left", {"room": "team", "name": "dana"}),
    ]
    on_a = [  # the API calls were made on A
        (
            "moderation",
            {"room": "team", "action": "say", "by": None, "target": None, "text": "from A"},
        ),
        ("moderation", {"room": "team", "action": "remove", "by": None, "target": "dana"}),
    ]
    seen = [await receiver.next() for _ in range(len(on_a) + len(on_b))]
    events = [(e["event"], e["data"]) for e in seen]
    # each process sends its own events in order; the two streams interleave freely
    assert [e for e in events if e[0] != "moderation"] == on_b
    assert [e for e in events if e[0] == "moderation"] == on_a
    # Anything sent twice would come before these, the last of each process's stream.
    status, _ = await call(a.port, "/messages", {"room": "team", "text": "bye"})
    await ana.wait_for("moderation", action="say", text="bye")
    await ana.close()
    last = [await receiver.next() for _ in range(3)]
    assert sorted((e["event"], e["data"].get("name") or e["data"].get("text")) for e in last) == [
        ("moderation", "bye"),
        ("participant.left", "ana"),
        ("room.finished", None),
    ]
