"""Authentication and flooding, over real sockets against a real server."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from chinwag.core.auth import issue_token
from tests.support import Client, StartServer

SECRET = "token-secret-for-tests"


async def sign_in_reply(port: int, name: str, credential: str | None) -> dict[str, object]:
    client = await Client.open(port)
    try:
        message: dict[str, object] = {"type": "username", "name": name, "features": ["deltas"]}
        if credential is not None:
            message["credential"] = credential
        await client.send(message)
        return await client.next()
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("name", "credential", "code"),
    [
        ("alice", None, "auth-required"),
        ("alice", "wrong password", "auth-failed"),
        ("alice", issue_token(SECRET, "alice", time.time() - 10), "auth-expired"),
        ("alice", issue_token(SECRET, "mallory", time.time() + 3600), "auth-failed"),
        ("alice", issue_token("another secret", "alice", time.time() + 3600), "auth-failed"),
    ],
)
async def test_each_bad_credential_has_its_own_error(
    start_server: StartServer, name: str, credential: str | None, code: str
) -> None:
    server = await start_server(password="open sesame", token_secret=SECRET)
    reply = await sign_in_reply(server.port, name, credential)
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert reply["message"]
    assert server.lobby.usernames() == []


@pytest.mark.parametrize(
    "credential", ["open sesame", issue_token(SECRET, "alice", time.time() + 3600)]
)
async def test_right_password_or_token_signs_in(start_server: StartServer, credential: str) -> None:
    server = await start_server(password="open sesame", token_secret=SECRET)
    reply = await sign_in_reply(server.port, "alice", credential)
    assert reply["type"] == "signed-in" and reply["name"] == "alice"


async def test_a_flood_is_limited_then_closed_and_others_lose_nothing(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.02, chat_rate=5.0, signal_rate=50.0)
    flood = await Client.open(server.port)
    alice = await Client.open(server.port)
    bob = await Client.open(server.port)
    try:
        for client, name in ((flood, "flood"), (alice, "alice"), (bob, "bob")):
            await client.sign_in(name, ["deltas", "plain-text"])
        await bob.wait_for("userlist", users=["flood", "alice", "bob"])

        async def blast() -> None:
            for n in range(2000):  # bounded: 2,000 frames, as fast as the socket takes them
                if flood.ws.closed:  # the server closed it (1008), as it should
                    return
                await flood.send({"type": "new-ice-candidate", "target": "bob", "n": n})
                await flood.send({"type": "message", "text": f"spam {n}"})

        async def converse() -> list[float]:
            delays = []
            for n in range(40):
                sent = time.perf_counter()
                await alice.send({"type": "new-ice-candidate", "target": "bob", "n": n})
                while True:
                    message = await bob.next()
                    if message.get("name") == "alice":
                        break
                assert message["n"] == n  # in order, none lost
                delays.append(time.perf_counter() - sent)
            return delays

        _, delays = await asyncio.gather(blast(), converse())
        errors = []
        while True:  # what the flooder saw: errors, then the close
            msg = await flood.ws.receive(timeout=5)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            if message["type"] == "error":
                errors.append(message["code"])
        assert "rate-limited" in errors
        # Frames over its budget, again and again: closed with 1008 and the reason.
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1008), msg
        assert server.metrics.policy_closed == 1 and server.metrics.frames_over_budget > 0
        assert sorted(delays)[len(delays) // 2] < 0.05  # the median stays interactive
        limited = server.lobby.error_codes["rate-limited"]
        assert 0 < limited <= 40  # one warning a second per bucket, not one per frame
    finally:
        for client in (flood, alice, bob):
            await client.close()
