"""Chat history on the wire, with a real server, real sockets and real SQLite files."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import aiohttp

from chinwag.transport.server import ChinwagServer
from tests.history.test_faults import tmpfs
from tests.server.test_cli import start as start_command
from tests.server.test_sessions import Blackhole, until
from tests.support import Client, StartServer

CHINWAG = ["deltas", "plain-text", "seq", "history"]


async def history_server(start_server: StartServer, data: Path, **settings: Any) -> ChinwagServer:
    return await start_server(presence_interval=0.02, history=True, data_dir=str(data), **settings)


async def say_all(server: ChinwagServer, client: Client, texts: list[str]) -> None:
    """Say each line, see it come back, and wait until the store has written them."""
    for text in texts:
        await client.send({"type": "message", "text": text})
        await client.wait_for("message", text=text)
    assert server.history is not None
    assert await server.history.store.flush(10)


async def test_a_late_joiner_gets_the_last_lines_then_live_ones(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await history_server(start_server, tmp_path, history_lines=3)
    ann = await Client.open(server.port)
    carol = await Client.open(server.port)
    old = await Client.open(server.port)
    try:
        await ann.sign_in("ann", ["plain-text"])
        await say_all(server, ann, ["one", "two", "<i>three</i> & co", "four"])
        await carol.send({"type": "username", "name": "carol", "features": CHINWAG})
        welcome = await carol.expect("signed-in")
        assert "history" in welcome["features"]
        await carol.expect("ice-servers")
        history = await carol.wait_for("history", room="", more=True)  # after any userlist
        texts = [line["text"] for line in history["lines"]]
        assert texts == ["two", "<i>three</i> & co", "four"]
        ids = [line["id"] for line in history["lines"]]
        assert ids == sorted(ids) and all(line["name"] == "ann" for line in history["lines"])
        await ann.send({"type": "message", "text": "live"})
        live = await carol.wait_for("message")
        assert live["text"] == "live"
        assert server.history is not None and await server.history.store.flush(10)

        await old.sign_in("oldtimer")  # the tutorial's client: no features
        # Its replayed lines, in order (a presence update may come between them).
        frames = [await old.wait_for("message") for _ in range(3)]
        assert [f["text"] for f in frames] == ["three &amp; co", "four", "live"]
        dates = [line["date"] for line in history["lines"][1:]] + [live["date"]]
        assert [f["date"] for f in frames] == dates  # the original dates

        await carol.send({"type": "history-request", "before": ids[0]})
        page = await carol.wait_for("history")
        assert [line["text"] for line in page["lines"]] == ["one"] and page["more"] is False
        await carol.send({"type": "history-request", "before": "two"})
        error = await carol.wait_for("error")
        assert (error["code"], error["for"]) == ("bad-field", "history-request")
    finally:
        for client in (ann, carol, old):
            await client.close()


async def test_history_off_sends_and_stores_nothing(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(presence_interval=0.02, history=False, data_dir=str(tmp_path))
    assert server.history is None
    ann = await Client.open(server.port)
    carol = await Client.open(server.port)
    try:
        await ann.sign_in("ann", ["plain-text"])
        await ann.send({"type": "message", "text": "said before carol came"})
        await ann.wait_for("message")
        await carol.send({"type": "username", "name": "carol", "features": CHINWAG})
        assert "history" not in (await carol.expect("signed-in"))["features"]
        await carol.send({"type": "message", "text": "mine"})
        seen = []
        while not seen or seen[-1]["type"] != "message":
            seen.append(await carol.next())
        assert seen[-1]["text"] == "mine" and "history" not in [m["type"] for m in seen]
        await carol.send({"type": "history-request"})
        assert (await carol.wait_for("error"))["code"] == "history-off"
        assert await asyncio.to_thread(os.listdir, tmp_path) == []
    finally:
        await ann.close()
        await carol.close()


async def test_a_resume_gets_exactly_the_missed_lines_in_order(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await history_server(start_server, tmp_path, heartbeat=60.0)
    hole = Blackhole(server.port)
    alice = await Client.open(await hole.start())
    bob = await Client.open(server.port)
    try:
        await alice.send({"type": "username", "name": "alice", "features": CHINWAG})
        token = (await alice.wait_for("signed-in"))["resume"]
        await alice.wait_for("history")
        await bob.sign_in("bob", ["plain-text"])
        await bob.send({"type": "message", "text": "seen"})
        last = (await alice.wait_for("message", text="seen"))["seq"]
        hole.swallow()  # alice's network goes silent; the server does not know yet
        for text in ("lost 1", "lost 2"):
            await bob.send({"type": "message", "text": text})
        await alice.expect_silence(0.3)
        back = await Client.open(server.port)
        hello = {"type": "username", "name": "alice", "resume": token, "seq": last}
        await back.send({**hello, "features": CHINWAG})
        await back.expect("signed-in", resumed=True)
        await bob.send({"type": "message", "text": "after"})
        got = []
        while not got or got[-1]["text"] != "after":
            message = await back.next()
            assert message["type"] != "history", "a resume is not a join"
            if message["type"] == "message":
                got.append(message)
        assert [(m["text"], m["seq"]) for m in got] == [
            ("lost 1", last + 1),
            ("lost 2", last + 2),
            ("after", last + 3),
        ]
        await back.close()
    finally:
        await alice.session.close()
        await bob.close()
        await hole.close()


async def test_a_read_only_data_directory_does_not_stop_live_chat(
    start_server: StartServer, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "ro", "1m", "ro") as data:
        server = await history_server(start_server, data)
        ann = await Client.open(server.port)
        carol = await Client.open(server.port)
        try:
            await ann.sign_in("ann", ["plain-text"])
            await carol.send({"type": "username", "name": "carol", "features": CHINWAG})
            await carol.wait_for("history", lines=[])  # unreadable: an empty history
            for n in range(5):
                await ann.send({"type": "message", "text": f"line {n}"})
                assert (await carol.wait_for("message"))["text"] == f"line {n}"
            store = server.history.store if server.history is not None else None
            assert store is not None
            await until(lambda: store.failed >= 1)
            metrics = await scrape(server)
            assert "chinwag_history_failed_total 0" not in metrics
            assert "chinwag_history_written_total 0" in metrics
            assert f"chinwag_history_pending {store.pending}" in metrics
        finally:
            await ann.close()
            await carol.close()
            await server.stop()  # before the directory goes


async def scrape(server: ChinwagServer) -> str:
    return await scrape_port(server.port)


async def scrape_port(port: int) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        return await response.text()


async def test_metrics_count_lines_written(start_server: StartServer, tmp_path: Path) -> None:
    server = await history_server(start_server, tmp_path)
    ann = await Client.open(server.port)
    try:
        await ann.sign_in("ann", ["plain-text"])
        await say_all(server, ann, ["a", "b"])
        metrics = await scrape(server)
        for line in (
            "chinwag_history_written_total 2",
            "chinwag_history_failed_total 0",
            "chinwag_history_dropped_total 0",
            "chinwag_history_pending 0",
        ):
            assert line in metrics
    finally:
        await ann.close()


async def test_lines_still_queued_are_written_when_the_server_stops(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await history_server(start_server, tmp_path)
    ann = await Client.open(server.port)
    await ann.sign_in("ann", ["plain-text"])
    await ann.send({"type": "message", "text": "last words"})
    await ann.wait_for("message")
    await ann.close()
    await server.stop()  # closes the store: it writes what is queued first
    again = await history_server(start_server, tmp_path)
    carol = await Client.open(again.port)
    try:
        await carol.send({"type": "username", "name": "carol", "features": CHINWAG})
        history = await asyncio.wait_for(carol.wait_for("history"), 10)
        assert [line["text"] for line in history["lines"]] == ["last words"]
    finally:
        await carol.close()


async def test_history_outlives_kill_9_of_the_server_process(tmp_path: Path) -> None:
    data = ("--history", "--data-dir", str(tmp_path), "--presence-interval", "0.02")
    process, port = await asyncio.to_thread(start_command, *data)
    try:
        ann = await Client.open(port)
        await ann.sign_in("ann", ["plain-text"])
        for text in ("before", "the", "crash"):
            await ann.send({"type": "message", "text": text})
            await ann.wait_for("message", text=text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not re.search(
            r"^chinwag_history_written_total 3(\.0)?$", await scrape_port(port), re.M
        ):
            assert loop.time() < deadline, "the lines were never reported written"
            await asyncio.sleep(0.02)
        await ann.session.close()
    finally:
        process.kill()  # SIGKILL: no shutdown, no flush
        await asyncio.to_thread(process.wait, 10)
    process, port = await asyncio.to_thread(start_command, *data)
    try:
        carol = await Client.open(port)
        await carol.send({"type": "username", "name": "carol", "features": CHINWAG})
        history = await carol.wait_for("history", timeout=10)
        assert [line["text"] for line in history["lines"]] == ["before", "the", "crash"]
        await carol.close()
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)
