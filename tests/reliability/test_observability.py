"""Health, metrics and logs, read from a live server the way an operator reads them."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chinwag.logs import setup_logging
from tests.cluster.support import eventually
from tests.reliability.rawws import http_exchange
from tests.support import Client, StartServer

PASSWORD = "hunter2-Sesame"
CHAT = "the-secret-plans-are-in-the-blue-folder"
SDP = "v=0 o=- 4611731400430051336 2 IN IP4 127.0.0.1 a=fingerprint:sha-256 AB:CD:EF"
CANDIDATE = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx"


async def get(port: int, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_health_endpoints(start_server: StartServer) -> None:
    server = await start_server()
    assert (await get(server.port, "/healthz/live"))[::2] == (200, "live\n")
    assert (await get(server.port, "/healthz/ready"))[::2] == (200, "ready\n")
    status, kind, body = await get(server.port, "/healthz")
    assert status == 200 and kind == "application/json"
    assert json.loads(body)["status"] == "ok"


async def test_metrics_count_what_happened(start_server: StartServer) -> None:
    server = await start_server(max_per_ip=3, presence_interval=0.01)
    alice, bob = await Client.open(server.port), await Client.open(server.port)
    try:
        await alice.sign_in("alice", ["ringing", "deltas", "plain-text"])
        await bob.sign_in("bob", ["ringing", "deltas", "plain-text"])
        bad = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"
        assert (await http_exchange(server.port, bad))[0] == 400  # not counted as a refusal
        await eventually(
            lambda: server.gate.counts.total == 2, 5, "the bad request's socket closed"
        )
        _, idle = await asyncio.open_connection("127.0.0.1", server.port)  # counts, idle or not
        await eventually(lambda: server.gate.counts.total == 3, 5, "the idle socket counted")
        status, _ = await http_exchange(
            server.port,
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        assert status == 429
        idle.close()
        await eventually(lambda: server.gate.counts.total == 2, 5, "the idle socket closed")
        await alice.send({"type": "call-invite", "target": "bob"})
        await bob.wait_for("call-invite")
        await bob.send({"type": "call-accept", "target": "alice"})
        await alice.wait_for("call-accept")
        await alice.ws.send_bytes(b"\x00")
        await alice.wait_for("error", code="binary-frame")
        await alice.send({"type": "message", "text": "hi"})
        await bob.wait_for("message", text="hi")

        status, kind, body = await get(server.port, "/metrics")
        assert status == 200 and kind.startswith("text/plain; version=")
        found = samples(body)
        # The standard process metrics come with prometheus_client's collectors.
        assert found[("process_open_fds", ())] > 0
        assert found[("process_resident_memory_bytes", ())] > 1_000_000
        assert found[("chinwag_websockets", ())] == 2
        assert found[("chinwag_users", ())] == 2
        assert found[("chinwag_calls_active", ())] == 1
        assert found[("chinwag_ready", ())] == 1
        assert found[("chinwag_websockets_opened_total", ())] == 2
        assert (
            found[
                ("chinwag_refused_total", (("reason", "too many connections from your address"),))
            ]
            == 1
        )
        assert found[("chinwag_errors_total", (("code", "binary-frame"),))] >= 1
        assert found[("chinwag_frames_received_total", ())] >= 5
        relayed = found[("chinwag_relay_latency_seconds_count", ())]
        assert relayed >= 3  # invite, accept, chat each caused writes
        assert found[("chinwag_relay_latency_seconds_bucket", (("le", "+Inf"),))] == relayed
        assert found[("chinwag_relay_latency_seconds_sum", ())] < relayed * 0.1
    finally:
        await alice.close()
        await bob.close()


async def test_logs_at_info_never_hold_content_or_credentials(
    start_server: StartServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("info", "json")  # the handler writes to the captured stderr
    try:
        with caplog.at_level(logging.INFO):
            await run_scenario(start_server)
    finally:
        logging.getLogger("chinwag").handlers.clear()
    printed = capsys.readouterr().err
    lines = [json.loads(line) for line in printed.splitlines() if line.strip()]
    assert lines, "the scenario logged nothing at INFO"
    for entry in lines:
        assert {"time", "level", "logger", "message"} <= entry.keys()
    everything = printed + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    assert "refused: server full" in everything  # the refused upgrade was logged...
    for secret in (PASSWORD, CHAT, SDP, "203.0.113.7", "wrong-" + PASSWORD):
        assert secret not in everything  # ...but nothing anyone said or typed


async def run_scenario(start_server: StartServer) -> None:
    """Sign-ins with a password (right and wrong), chat, a call's signaling, faults."""
    server = await start_server(password=PASSWORD, max_connections=3, presence_interval=0.01)
    alice, bob, mallory = [await Client.open(server.port) for _ in range(3)]
    try:
        for client, name in ((alice, "alice"), (bob, "bob")):
            await client.send(
                {"type": "username", "name": name, "credential": PASSWORD, "features": ["ringing"]}
            )
            await client.wait_for("signed-in")
        await mallory.send(
            {"type": "username", "name": "mallory", "credential": "wrong-" + PASSWORD}
        )
        await mallory.wait_for("error", code="auth-failed")
        await alice.send({"type": "message", "text": CHAT})
        await bob.wait_for("message")
        await alice.send({"type": "call-invite", "target": "bob"})
        await bob.wait_for("call-invite")
        await bob.send({"type": "call-accept", "target": "alice"})
        await alice.wait_for("call-accept")
        await alice.send(
            {"type": "video-offer", "target": "bob", "sdp": {"type": "offer", "sdp": SDP}}
        )
        await bob.wait_for("video-offer")
        await bob.send(
            {"type": "new-ice-candidate", "target": "alice", "candidate": {"candidate": CANDIDATE}}
        )
        await alice.wait_for("new-ice-candidate")
        await alice.send_raw('{"type": "message", "text": "' + CHAT + '"')  # broken JSON
        await alice.wait_for("error", code="bad-json")
        status, _ = await http_exchange(
            server.port,
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        assert status == 503
        await alice.send({"type": "hang-up", "target": "bob"})
        await bob.wait_for("hang-up")
        await mallory.ws.send_str(json.dumps({"type": "x", "pad": CHAT * 3000}))  # oversized
        await mallory.wait_for("error", code="frame-too-large")
    finally:
        for client in (alice, bob, mallory):
            await client.close()
