"""A signed-token sign-in on one process takes over that name's session on another.

Two real ``chinwag serve --redis --token-secret`` processes and one real Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chinwag.core.auth import issue_token
from tests.cluster.conftest import RedisServer, process_pair
from tests.cluster.support import ChinwagProcess, until_list
from tests.support import Client

SECRET = "a-token-secret-long-enough-for-hs256"
FEATURES = ["deltas", "plain-text"]


@pytest.fixture
def two_processes(redis_server: RedisServer, tmp_path: Path) -> Iterator[list[ChinwagProcess]]:
    with process_pair(redis_server.url, tmp_path, "--token-secret", SECRET) as processes:
        yield processes


async def with_token(port: int, name: str, opened: list[Client]) -> Client:
    """A client signed in with a token for ``name``; fails unless it is ``name`` exactly."""
    client = await Client.open(port)
    opened.append(client)
    credential = issue_token(SECRET, name, time.time() + 3600)
    hello = {"type": "username", "name": name, "credential": credential, "features": FEATURES}
    await client.send(hello)
    while (message := await client.next())["type"] not in ("signed-in", "error"):
        pass
    assert message["type"] == "signed-in" and message["name"] == name, message
    client.name = name
    return client


async def in_a_call(caller: Client, callee: Client) -> None:
    """``caller`` calls ``callee``, who answers: both are in a call."""
    await caller.send({"type": "video-offer", "target": callee.name, "sdp": {"type": "offer"}})
    await callee.wait_for("video-offer", name=caller.name)
    await callee.send({"type": "video-answer", "target": caller.name, "sdp": {"type": "answer"}})
    await caller.wait_for("video-answer", name=callee.name)


async def test_a_token_on_one_process_takes_over_the_session_on_the_other(
    two_processes: list[ChinwagProcess], clients: list[Client]
) -> None:
    on_a, on_b = (process.port for process in two_processes)
    old, carol = [await with_token(on_a, name, clients) for name in ("bob", "carol")]
    await until_list(carol, {"bob", "carol"})
    await in_a_call(carol, old)

    new = await with_token(on_b, "bob", clients)  # not "bob1", and not refused

    error = await old.wait_for("error")
    assert (error["code"], error["target"]) == ("name-taken", "bob")
    assert (await old.closed())[0] == 4001
    seen: list[dict[str, Any]] = []
    while (message := await carol.next())["type"] != "hang-up":
        seen.append(message)
    assert (message["name"], message["reason"]) == ("bob", "gone")
    await new.send({"type": "message", "text": "it is me", "id": 0, "date": 0})
    while (message := await carol.next())["type"] != "message":
        seen.append(message)
    assert (message["name"], message["text"]) == ("bob", "it is me")
    for update in seen:  # carol's list never lost bob: no flicker
        assert "bob" not in update.get("left", []) and "bob" in update.get("users", ["bob"])
    await carol.send({"type": "new-ice-candidate", "target": "bob", "candidate": {"n": 1}})
    # The new session's one full list (``deltas``) is sent one presence interval after
    # its sign-in, so it may come before or after the candidate: read for both.
    candidate, users = await candidate_and_list(new)
    assert candidate["candidate"] == {"n": 1}  # reachable
    assert set(users["users"]) == {"bob", "carol"}


async def candidate_and_list(client: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first ``new-ice-candidate`` and the first ``userlist`` ``client`` gets, in
    whichever order they come (each within the deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20.0
    first: dict[str, dict[str, Any]] = {}
    while len(first) < 2:
        remaining = deadline - loop.time()
        assert remaining > 0, f"{client.name} got only {sorted(first)} within 20s"
        message = await client.next(remaining)
        if message["type"] in ("new-ice-candidate", "userlist"):
            first.setdefault(message["type"], message)
    return first["new-ice-candidate"], first["userlist"]
