"""Issue 14's attacks on the transport: a real server process, real sockets, /proc.

Each test runs ``chinwag serve`` in its own process, attacks it from
127.0.0.1 (bounded in bytes, frames and seconds), and checks that the
server's resident memory (VmRSS) stays bounded and that a probe client keeps
being served. ``docs/security.md`` has the figures these tests measure.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.support import ChinwagProcess
from tests.reliability.rawws import (
    CLOSE,
    ELSEWHERE,
    PING,
    TEXT,
    RawSocket,
    client_frame,
    http_exchange,
)

#: Most a server may grow during one attack (KiB); before the fixes, hundreds of MB.
MEMORY_BOUND_KIB = 40_000
#: Longest an attack runs; every loop below also has a count bound.
ATTACK_SECONDS = 3.0
#: What an attacking client keeps queued on its own side at most.
CLIENT_BUFFER = 1 << 20


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[type[ChinwagProcess]]:
    started: list[ChinwagProcess] = []

    class Started(ChinwagProcess):
        def __init__(self, *extra: str) -> None:
            super().__init__(None, tmp_path / f"chinwag-{len(started)}.log", *extra)
            started.append(self)

    yield Started  # type: ignore[misc]
    for process in started:
        process.stop()


#: Seconds within which the server answers someone else during an attack: a few
#: milliseconds when the machine is quiet; the bound allows for a busy machine
#: (1.2 s was seen at a load of 90) and still fails a server the attack blocks.
RESPONSIVE_WITHIN = 5.0


async def healthz_latency(port: int, source: str = ELSEWHERE) -> float:
    """Seconds for one ``GET /healthz`` answered 200, from ``source``."""
    began = time.perf_counter()
    status, _ = await http_exchange(
        port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5, source=source
    )
    assert status == 200
    return time.perf_counter() - began


async def flood(writer: asyncio.StreamWriter, chunk: bytes, total: int) -> int:
    """Write ``chunk`` until ``total`` bytes, ATTACK_SECONDS or a close, never reading.

    Returns the bytes the server took (written minus what waits on our side).
    """
    deadline = time.monotonic() + ATTACK_SECONDS
    written = 0
    while written < total and time.monotonic() < deadline:
        if writer.transport.is_closing():  # the server hung up
            return written
        if writer.transport.get_write_buffer_size() < CLIENT_BUFFER:
            writer.write(chunk)
            written += len(chunk)
        else:
            await asyncio.sleep(0.01)  # the server is not reading: as it should be
    return written - writer.transport.get_write_buffer_size()


def small_receive_socket(source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((source, 0))
    sock.setblocking(False)
    return sock


# -- 14.1 output that is never read ---------------------------------------------


async def test_pipelined_requests_never_read_stop_being_read(start_process: type) -> None:
    server = start_process()
    before = server.rss_kib()
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 1000
    writers = []
    for _ in range(4):
        sock = small_receive_socket()
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        writers.append((await asyncio.open_connection(sock=sock))[1])
    try:
        taken = await asyncio.gather(*(flood(w, request, 200 << 20) for w in writers))
        latency = await healthz_latency(server.port)
        growth = server.rss_kib() - before
        print(f"pipelined HTTP: server took {sum(taken) >> 10} KiB, grew {growth} KiB")
        # Answered one at a time, at most 100 per connection, reading paused while
        # 64 KiB wait unsent: what the attacker pushed waits in the kernel, not here.
        assert growth < MEMORY_BOUND_KIB
        assert latency < RESPONSIVE_WITHIN
    finally:
        for writer in writers:
            writer.transport.abort()


async def test_pings_never_read_stop_being_read(start_process: type) -> None:
    server = start_process("--frame-rate", "0")  # no frame budget: flow control alone
    before = server.rss_kib()
    attacker = await RawSocket.open(server.port, receive_buffer=4096)
    try:
        pings = b"".join(client_frame(PING, b"p" * 125) for _ in range(500))
        taken = await flood(attacker.writer, pings, 400 << 20)
        latency = await healthz_latency(server.port, source="127.0.0.1")
        growth = server.rss_kib() - before
        print(f"ping flood: server took {taken >> 10} KiB, grew {growth} KiB")
        assert growth < MEMORY_BOUND_KIB  # pongs obey the one flow-control rule
        assert latency < RESPONSIVE_WITHIN
    finally:
        attacker.abort()


# -- 14.2 connections that never become WebSockets -----------------------------------


async def test_idle_sockets_are_counted_from_accept(start_process: type) -> None:
    server = start_process("--max-per-ip", "50", "--max-connections", "400")
    baseline = server.open_files()
    loop = asyncio.get_running_loop()
    idle = []
    try:
        for _ in range(300):  # bounded: 300 sockets that never send a byte
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", server.port))
            idle.append(sock)
        refused = await loop.run_in_executor(None, _read_some, idle[-1])
        assert refused.startswith(b"HTTP/1.1 429"), refused
        deadline = time.monotonic() + 10  # refused sockets linger a second at most
        while server.open_files() > baseline + 50 + 5:
            assert time.monotonic() < deadline, server.open_files()
            await asyncio.sleep(0.1)
        held = server.open_files() - baseline
        print(f"300 idle sockets from one address: server holds {held} descriptors")
        assert await healthz_latency(server.port) < RESPONSIVE_WITHIN  # someone else gets in
    finally:
        for sock in idle:
            sock.close()


def _read_some(sock: socket.socket) -> bytes:
    sock.setblocking(True)
    sock.settimeout(5)
    return sock.recv(200)


async def test_a_tls_handshake_that_never_starts_times_out(
    start_process: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHINWAG_STATE_DIR", str(tmp_path))
    server = start_process("--self-signed", "--http-timeout", "1")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        began = time.monotonic()
        assert await asyncio.wait_for(reader.read(100), 10) == b""  # closed by the server
        assert time.monotonic() - began < 5  # the HTTP timeout, not 60 s
    finally:
        writer.close()


# -- 14.5 floods ------------------------------------------------------------------


async def test_invalid_json_flood_is_closed_with_1008(start_process: type) -> None:
    server = start_process()
    before = server.rss_kib()
    attacker = await RawSocket.open(server.port)
    try:
        assert (await attacker.next_json())["type"] == "id"
        garbage = b"".join(client_frame(TEXT, b"{not json") for _ in range(200))
        await flood(attacker.writer, garbage, 50_000 * 15)  # bounded: 50,000 frames
        errors, code = 0, None
        while code is None:
            opcode, payload = await attacker.read_frame(timeout=5)
            if opcode == TEXT:
                errors += json.loads(payload)["type"] == "error"
            elif opcode == CLOSE:
                code = int.from_bytes(payload[:2], "big")
        latency = await healthz_latency(server.port)
        growth = server.rss_kib() - before
        print(f"invalid JSON flood: {errors} error replies, then {code}; grew {growth} KiB")
        assert code == 1008 and errors <= 20
        assert growth < MEMORY_BOUND_KIB and latency < RESPONSIVE_WITHIN
    finally:
        attacker.abort()


async def test_password_guessing_backs_off_per_address(start_process: type) -> None:
    server = start_process("--password", "right")
    attacker = await RawSocket.open(server.port)
    try:
        assert (await attacker.next_json())["type"] == "id"
        for n in range(200):  # bounded: 200 guesses at once
            attacker.send_json({"type": "username", "name": f"x{n}", "credential": f"guess{n}"})
        codes: list[str] = []
        deadline = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < deadline:
            try:
                opcode, payload = await attacker.read_frame(deadline - time.monotonic())
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                break
            if opcode == CLOSE:
                break
            if opcode == TEXT:
                codes.append(json.loads(payload).get("code"))
        checked = codes.count("auth-failed")
        print(f"password guessing: {checked} of 200 checked, answers {codes}")
        # Three free failures, then the address waits (1 s, doubling): the rest are
        # answered rate-limited unchecked, and repeated errors close the socket (1008).
        assert 0 < checked <= 6, codes
        # Someone at another address signs in at once with the right password.
        probe = await RawSocket.open(server.port, source=ELSEWHERE)
        try:
            assert (await probe.next_json())["type"] == "id"
            probe.send_json({"type": "username", "name": "alice", "credential": "right"})
            reply = await probe.next_json()
            assert reply["type"] in ("signed-in", "userlist"), reply
        finally:
            probe.abort()
    finally:
        attacker.abort()


# -- 14.11 close codes, /metrics ---------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "answer"),
    [(1000, 1000), (1001, 1001), (4000, 1000), (1005, 1002), (999, 1002), (2999, 1002)],
)
async def test_close_codes_from_a_client_are_checked(
    start_process: type, sent: int, answer: int
) -> None:
    server = start_process()
    client = await RawSocket.open(server.port)
    try:
        assert (await client.next_json())["type"] == "id"
        client.send_bytes(client_frame(CLOSE, sent.to_bytes(2, "big") + b"bye"))
        assert await client.close_code() == answer
        assert await client.closed_by_server()
    finally:
        client.abort()


async def test_metrics_can_need_a_token_and_a_separate_address(start_process: type) -> None:
    port = _free_port()
    server = start_process("--metrics-token", "s3cret", "--metrics-listen", f"127.0.0.1:{port}")
    get = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
    assert (await http_exchange(server.port, get + b"\r\n"))[0] == 404  # not on the main port
    assert (await http_exchange(port, get + b"\r\n"))[0] == 401
    wrong = get + b"Authorization: Bearer nope\r\n\r\n"
    assert (await http_exchange(port, wrong))[0] == 401
    status, body = await http_exchange(port, get + b"Authorization: Bearer s3cret\r\n\r\n")
    assert status == 200 and b"process_open_fds" in body and b"chinwag_websockets" in body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
