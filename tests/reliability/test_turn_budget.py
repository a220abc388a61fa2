"""Issue 22: TURN credentials are short-lived, renewed while the session lives, and budgeted."""

from __future__ import annotations

import time

import pytest

from chinwag.config import ConfigError, settings_for_tests
from tests.reliability.rawws import ELSEWHERE, RawSocket
from tests.support import StartServer

ICE = {"ice_url": ["stun:stun.example.org", "turn:turn.example.org"], "turn_secret": "s3cret"}


async def ice_servers_at_sign_in(port: int, name: str, source: str | None = None) -> dict:
    client = await RawSocket.open(port, source=source)
    try:
        client.send_json({"type": "username", "name": name, "features": ["deltas"]})
        while (message := await client.next_json())["type"] != "ice-servers":
            pass
        return message
    finally:
        client.writer.close()


def has_turn(message: dict) -> bool:
    return any("username" in server for server in message["iceServers"])


async def test_turn_credentials_are_budgeted_per_address(start_server: StartServer) -> None:
    server = await start_server(**ICE, presence_interval=0.02)
    first = await ice_servers_at_sign_in(server.port, "first")
    assert has_turn(first) and 0 < first["expires"] - time.time() <= 600  # 10 minutes at most
    # Anonymous sign-ins in a loop from one address: 40 mint at most the burst (20).
    minted = [has_turn(await ice_servers_at_sign_in(server.port, f"m{n}")) for n in range(40)]
    assert 18 <= minted.count(True) <= 21, minted
    assert minted[-1] is False
    # Someone at another address still gets a relay.
    assert has_turn(await ice_servers_at_sign_in(server.port, "honest", source=ELSEWHERE))


async def test_fresh_credentials_arrive_while_the_session_lives(start_server: StartServer) -> None:
    server = await start_server(**ICE, turn_ttl=10, presence_interval=0.02)
    client = await RawSocket.open(server.port)
    try:
        client.send_json({"type": "username", "name": "alice", "features": ["deltas"]})
        expiries = []
        deadline = time.monotonic() + 20
        while len(expiries) < 2 and time.monotonic() < deadline:
            message = await client.next_json(timeout=20)
            if message["type"] == "ice-servers":
                expiries.append(message["expires"])
        assert len(expiries) == 2 and expiries[1] > expiries[0]
        assert expiries[1] - time.time() > 5  # renewed before the first ran out
    finally:
        client.writer.close()


async def test_turn_can_be_kept_for_signed_in_sessions(start_server: StartServer) -> None:
    with pytest.raises(ConfigError, match="turn_signed_in_only needs"):
        settings_for_tests(**ICE, turn_signed_in_only=True)
    server = await start_server(**ICE, turn_signed_in_only=True, password="pw")
    client = await RawSocket.open(server.port)
    try:
        client.send_json(
            {"type": "username", "name": "a", "features": ["deltas"], "credential": "pw"}
        )
        while (message := await client.next_json())["type"] != "ice-servers":
            pass
        assert has_turn(message)
    finally:
        client.writer.close()
