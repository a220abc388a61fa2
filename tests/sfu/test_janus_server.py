"""A real Janus started from ``chinwag janus-config`` output: it serves chinwag and no one else."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from chinwag.sfu.janus import JanusError, JanusSession
from tests.janus import VIDEOROOM, Janus, local_address, run_janus


def listening_sockets(pid: int) -> list[str]:
    """Local ``address:port`` of every TCP socket the process listens on (from ``ss``)."""
    lines = subprocess.run(
        ["ss", "-Hltnp"], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    return [line.split()[3] for line in lines if f"pid={pid}," in line]


async def test_it_answers_info_with_only_what_chinwag_uses(janus: Janus) -> None:
    async with JanusSession(janus.url, janus.secret) as session:
        info = await session.info()
    assert info["version_string"] == "1.1.2", info
    assert info["server-name"] == "chinwag-janus"
    assert list(info["plugins"]) == [VIDEOROOM]
    assert list(info["transports"]) == ["janus.transport.websockets"]
    assert info["api_secret"] is True and info["auth_token"] is False
    assert info["events"] == {} and info["event_handlers"] is False


async def test_a_wrong_api_secret_is_refused(janus: Janus) -> None:
    with pytest.raises(JanusError) as refused:
        async with JanusSession(janus.url, "not-the-secret"):
            pass
    assert refused.value.code == 403, refused.value  # JANUS_ERROR_UNAUTHORIZED
    with pytest.raises(JanusError) as missing:
        async with JanusSession(janus.url, None):
            pass
    assert missing.value.code == 403


async def test_only_the_admin_key_creates_rooms_and_there_are_none(janus: Janus) -> None:
    async with JanusSession(janus.url, janus.secret) as session:
        handle = await session.attach(VIDEOROOM)
        listed = await handle.request({"request": "list"})
        assert listed.data["list"] == []  # no sample rooms
        with pytest.raises(JanusError) as refused:
            await handle.request({"request": "create", "room": 4242})
        assert refused.value.code == 429  # JANUS_VIDEOROOM_ERROR_MISSING_ELEMENT: admin_key
        with pytest.raises(JanusError) as wrong:
            await handle.request({"request": "create", "room": 4242, "admin_key": "guess"})
        assert wrong.value.code == 433  # JANUS_VIDEOROOM_ERROR_UNAUTHORIZED
        created = await handle.request(
            {"request": "create", "room": 4242, "admin_key": janus.secret}
        )
        assert created.data["videoroom"] == "created"
        await handle.request({"request": "destroy", "room": 4242})


def test_it_listens_on_loopback_only(janus: Janus) -> None:
    sockets = listening_sockets(janus.process.pid)
    assert sockets == [f"127.0.0.1:{janus.ws_port}"], sockets  # no HTTP, no Admin API
    assert local_address() != "127.0.0.1"  # else the check below proves nothing
    with socket.socket() as probe:
        probe.settimeout(5)
        assert probe.connect_ex((local_address(), janus.ws_port)) != 0


def test_janus_is_killed_when_the_block_ends(tmp_path: Path) -> None:
    with run_janus(tmp_path) as server:
        pid = server.process.pid
        assert os.path.exists(f"/proc/{pid}")
    assert server.process.poll() is not None
