"""chinwag's Janus session leaves no socket or HTTP client session behind, however it ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chinwag.sfu.janus import JanusError, JanusLost, JanusSession
from tests.janus import run_janus

DEADLINE = 30.0


async def test_a_lost_janus_session_is_released_even_if_its_close_is_cancelled(
    tmp_path: Path,
) -> None:
    lost: asyncio.Queue[JanusSession] = asyncio.Queue()
    with run_janus(tmp_path) as janus:
        session = JanusSession(janus.url, janus.secret, on_lost=lost.put_nowait)
        await session.open()
        assert not session.released
        janus.process.kill()  # SIGKILL: the socket just drops
        assert await asyncio.wait_for(lost.get(), DEADLINE) is session
    # The link closes a lost session in a task; a shutdown right then cancels that task.
    closing = asyncio.create_task(session.close())
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert session.released
    with pytest.raises(JanusLost):
        await session.info()


async def test_an_open_that_is_cancelled_or_refused_releases_its_client_session() -> None:
    """A listener that never answers the WebSocket handshake (a hung Janus)."""
    accepted: list[asyncio.StreamWriter] = []
    connected = asyncio.Event()

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        connected.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        session = JanusSession(f"ws://127.0.0.1:{port}", timeout=DEADLINE)
        opening = asyncio.create_task(session.open())
        await asyncio.wait_for(connected.wait(), DEADLINE)
        opening.cancel()  # the link stopping while it reconnects
        with pytest.raises(asyncio.CancelledError):
            await opening
        assert session.released

        hurried = JanusSession(f"ws://127.0.0.1:{port}", timeout=0.2)
        with pytest.raises(JanusLost):
            await hurried.open()
        assert hurried.released
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_refused_session_releases_its_client_session(tmp_path: Path) -> None:
    with run_janus(tmp_path) as janus:
        session = JanusSession(janus.url, "not-the-secret")
        with pytest.raises(JanusError):
            await session.open()
        assert session.released
