"""Cluster benchmark (issue 6): relaying through Redis against relaying in one process.

Run by hand, never in CI:

    .venv/bin/python bench/cluster.py                     # about 40 s
    .venv/bin/python bench/cluster.py --pairs 100 --window 4 --seconds 10

It starts a private redis-server and two ``chinwag serve --redis`` processes
(A and B) on free loopback ports, then runs the same streaming test twice:

- ``same``: every pair has both users on A (their messages never touch Redis);
- ``cross``: one user of each pair on A, the other on B (every message goes
  A -> Redis -> B or back).

The servers run with ``--signal-rate 0`` (no per-user limit). Each pair
streams ``new-ice-candidate`` messages both ways with at most
``--window`` in flight per direction (the partner's receipt is the ack), for
``--seconds``, closed loop. Reported per run: delivered messages/s, latency
p50/p99 (send to receipt, one clock: the load generator is this process), and
CPU microseconds per delivered message of A, B and redis-server (from
/proc/PID/stat, read at the edges of the measured window).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from procstat import machine_facts, usage
from wsclient import WsClient, connect

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("redis-server did not start")


def start_chinwag(redis_url: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--host", HOST, "--port", "0",
         "--redis", redis_url, "--log-level", "warning", "--signal-rate", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    match = re.search(r":(\d+)/", process.stdout.readline())
    assert match, "chinwag did not say where it listens"
    return process, int(match.group(1))


class Pair:
    """Two users streaming to each other; both ends live in this process."""

    def __init__(self, label: str, index: int, window: int) -> None:
        self.names = (f"{label}{index}a", f"{label}{index}b")
        self.window = window
        self.clients: list[WsClient] = []
        self.sent_at: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.next_seq = [0, 0]
        self.ready = [asyncio.Event(), asyncio.Event()]
        self.latencies: list[int] = []
        self.delivered = 0
        self.measuring = False
        self.running = False

    def message(self, side: int) -> bytes:
        seq = self.next_seq[side]
        self.next_seq[side] += 1
        self.sent_at[side][seq] = time.monotonic_ns()
        target = self.names[1 - side]
        return (
            b'{"type":"new-ice-candidate","target":"%s","candidate":{"candidate":'
            b'"candidate:%d 1 udp 1686052607 203.0.113.45 54400 typ srflx","sdpMid":"0",'
            b'"sdpMLineIndex":0}}' % (target.encode(), seq)
        )

    def on_message(self, side: int, payload: bytes) -> None:
        if b'"new-ice-candidate"' not in payload:
            if b'"signed-in"' in payload:
                self.ready[side].set()
            return
        seq = int(payload.split(b'"candidate:', 1)[1].split(b" ", 1)[0])
        sender = 1 - side
        sent = self.sent_at[sender].pop(seq, None)
        if sent is None:
            return
        if self.measuring:
            self.delivered += 1
            self.latencies.append(time.monotonic_ns() - sent)
        if self.running:
            self.clients[sender].send_text(self.message(sender))

    async def open(self, ports: tuple[int, int]) -> None:
        for side in (0, 1):
            client = await connect(
                HOST, ports[side], "/", lambda c, p, s=side: self.on_message(s, p)
            )
            self.clients.append(client)
            client.send_text(
                b'{"type":"username","name":"%s","features":["plain-text"]}'
                % self.names[side].encode()
            )
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in self.ready)), 10)

    def start(self) -> None:
        self.running = True
        for side in (0, 1):
            for _ in range(self.window):
                self.clients[side].send_text(self.message(side))

    def close(self) -> None:
        self.running = False
        for client in self.clients:
            client.close()


def _own_cpu() -> float:
    """CPU seconds of this process alone (the load generator), not of its children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


async def run(
    name: str, ports: tuple[int, int], pids: dict[str, int], args: argparse.Namespace
) -> dict[str, Any]:
    label = "x" if ports[0] != ports[1] else "s"  # fresh names: the last run's may linger
    pairs = [Pair(label, i, args.window) for i in range(args.pairs)]
    for pair in pairs:
        await pair.open(ports)
    await asyncio.sleep(1.0)  # presence settles before measuring
    for pair in pairs:
        pair.start()
    await asyncio.sleep(1.0)  # warm-up
    before = {role: usage(pid).cpu_seconds for role, pid in pids.items()}
    gen_before = _own_cpu()
    began = time.monotonic()
    for pair in pairs:
        pair.measuring = True
    await asyncio.sleep(args.seconds)
    for pair in pairs:
        pair.measuring = False
    elapsed = time.monotonic() - began
    after = {role: usage(pid).cpu_seconds for role, pid in pids.items()}
    gen_cpu = _own_cpu() - gen_before
    for pair in pairs:
        pair.close()
    await asyncio.sleep(0.5)
    delivered = sum(p.delivered for p in pairs)
    latencies = sorted(x for p in pairs for x in p.latencies)
    if not latencies:
        raise RuntimeError(f"{name}: nothing was delivered")

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1e6

    return {
        "run": name,
        "pairs": args.pairs,
        "window": args.window,
        "messages_per_s": round(delivered / elapsed),
        "latency_ms_p50": round(percentile(0.50), 2),
        "latency_ms_p99": round(percentile(0.99), 2),
        "cpu_us_per_msg": {
            role: round((after[role] - before[role]) / max(delivered, 1) * 1e6, 1) for role in pids
        },
        "cpu_percent": {role: round((after[role] - before[role]) / elapsed * 100) for role in pids},
        "load_generator_cpu_percent": round(gen_cpu / elapsed * 100),
    }


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as workdir:
        redis, redis_port = start_redis(workdir)
        url = f"redis://{HOST}:{redis_port}/0"
        a, port_a = start_chinwag(url)
        b, port_b = start_chinwag(url)
        pids = {"A": a.pid, "B": b.pid, "redis": redis.pid}
        try:
            results = [
                await run("same process (A-A)", (port_a, port_a), pids, args),
                await run("across processes (A-B)", (port_a, port_b), pids, args),
            ]
        finally:
            for process in (a, b, redis):
                process.terminate()
                process.wait(10)
    return results


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        "| run | pairs x window | msg/s | p50 ms | p99 ms | CPU µs/msg A | B | Redis "
        "| CPU % A | B | Redis | load gen |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        us, pct = r["cpu_us_per_msg"], r["cpu_percent"]
        lines.append(
            f"| {r['run']} | {r['pairs']} x {r['window']} | {r['messages_per_s']:,} | "
            f"{r['latency_ms_p50']} | {r['latency_ms_p99']} | {us['A']} | {us['B']} | "
            f"{us['redis']} | {pct['A']} | {pct['B']} | {pct['redis']} | "
            f"{r['load_generator_cpu_percent']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--window", type=int, default=4, help="messages in flight per direction")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the servers
    found = asyncio.run(main(options))
    facts = machine_facts()
    print(f"{date.today()}  {facts}")
    print(render(found))
    if options.json:
        options.json.write_text(json.dumps({"machine": facts, "results": found}, indent=2))
