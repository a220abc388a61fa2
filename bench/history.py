"""How fast chat history is stored, what it costs the event loop, and its size per line.

Run by hand (never in CI or pytest); results go in docs/performance.md::

    .venv/bin/python bench/history.py                     # SQLite and Redis, about 30 s
    .venv/bin/python bench/history.py --lines 50000 --stores sqlite
    .venv/bin/python bench/history.py --relay             # relay p99, history on vs off

For each store (``off`` is the baseline with no store at all):

* **sustained**: ``--lines`` lines appended as fast as the loop allows, in
  bursts of 1,000, until all are written: lines per second end to end;
* **loop lag at a paced rate**: ``--rate`` lines/s for ``--seconds`` while a
  ticker measures how late a 1 ms sleep wakes up (p50/p99/max): what a relay
  sharing the loop with the store would feel;
* **bytes per line**: the SQLite file (after a WAL checkpoint) or the Redis
  stream's ``MEMORY USAGE``, over the lines it holds.

With ``--relay``, instead: a real ``chinwag serve`` process with history off
and with SQLite history (and each with and without the ``seq`` feature, which
numbers every chat line per client), ``--clients`` signed-in clients on
loopback, and ``--rate`` chat lines per second among them for ``--seconds``;
each client timestamps what it sends and measures when every line reaches it:
the chat relay's latency p50/p99/max. (Redis history comes with a Redis
cluster bus, whose cost ``bench/cluster.py`` measures.)

Redis is a real ``redis-server`` started on a free loopback port and stopped
afterwards. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from wsclient import WsClient, connect  # a sibling script: bench/ is on the path when run

from chinwag.history import ChatLine, HistoryStore, Retention
from chinwag.history.redis import RedisHistory
from chinwag.history.sqlite import SqliteHistory

TEXT = "see you at the standup in five minutes, I will bring the slides"  # 63 chars, a typical line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("redis-server did not start")


def make_store(kind: str, workdir: Path, redis_url: str, lines: int) -> HistoryStore | None:
    keep = Retention(max_lines=lines * 2)  # measure writing, not trimming
    if kind == "sqlite":
        path = workdir / f"history-{time.monotonic_ns()}.sqlite3"
        return SqliteHistory(path, keep, max_pending=lines * 2, prune_interval=3600)
    if kind == "redis":
        prefix = f"bench{time.monotonic_ns()}:"
        return RedisHistory(redis_url, keep, prefix=prefix, max_pending=lines * 2)
    return None


def chat_line(n: int) -> ChatLine:
    return ChatLine("lobby", f"user{n % 50}", int(time.time() * 1000), TEXT)


async def sustained(store: HistoryStore, lines: int) -> float:
    began = time.perf_counter()
    for start in range(0, lines, 1000):
        for n in range(start, min(start + 1000, lines)):
            store.append(chat_line(n))
        await asyncio.sleep(0)
    assert await store.flush(300), "not written within 300 s"
    return lines / (time.perf_counter() - began)


async def loop_lag(store: HistoryStore | None, rate: int, seconds: float) -> list[float]:
    """Lateness (ms) of 1 ms sleeps while ``rate`` lines/s are appended for ``seconds``."""
    lags: list[float] = []
    stop = time.monotonic() + seconds

    async def ticker() -> None:
        while time.monotonic() < stop:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - before) * 1000 - 1)

    async def feeder() -> None:
        sent, began = 0, time.monotonic()
        while time.monotonic() < stop:
            due = int((time.monotonic() - began) * rate)
            while sent < due:
                if store is not None:
                    store.append(chat_line(sent))
                sent += 1
            await asyncio.sleep(0.005)

    await asyncio.gather(ticker(), feeder())
    if store is not None:
        await store.flush(60)
    return sorted(lags)


async def bytes_per_line(store: HistoryStore, lines: int) -> float:
    if isinstance(store, SqliteHistory):
        with sqlite3.connect(store.path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = sum(p.stat().st_size for p in store.path.parent.glob(store.path.name + "*"))
        return size / lines
    assert isinstance(store, RedisHistory)
    used = await store._redis.memory_usage(store.prefix + "lobby", samples=0)
    return float(used or 0) / lines


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")


async def run(kind: str, args: argparse.Namespace, workdir: Path, redis_url: str) -> None:
    store = make_store(kind, workdir, redis_url, args.lines)
    rate_text = size_text = "-"
    if store is not None:
        rate_text = f"{await sustained(store, args.lines):,.0f}"
        size_text = f"{await bytes_per_line(store, args.lines):.0f}"
        await store.purge()
    lags = await loop_lag(store, args.rate, args.seconds)
    if store is not None:
        await store.close()
    print(
        f"| {kind} | {rate_text} | {statistics.median(lags):.2f} | {percentile(lags, 0.99):.2f}"
        f" | {lags[-1]:.2f} | {size_text} |"
    )


async def start_server(history: bool, workdir: Path) -> tuple[asyncio.subprocess.Process, int]:
    """A real ``chinwag serve`` on a free loopback port; returns it and its port."""
    data = ["--history", "--data-dir", str(workdir / f"relay-{time.monotonic_ns()}")]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chinwag", "serve", "--host", "127.0.0.1", "--port", "0",
        "--chat-rate", "1000", *(data if history else ["--no-history"]),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = re.search(r":(\d+)/", first)
    if match is None:
        process.kill()
        raise SystemExit(f"chinwag did not start: {first!r}")
    return process, int(match.group(1))


async def relay_latency(port: int, features: list[str], args: argparse.Namespace) -> list[float]:
    """Milliseconds from a chat line's sending to its arrival, at every client."""
    lags: list[float] = []
    expected = [0]  # frames that will arrive, once sending ends
    all_arrived = asyncio.Event()
    decode = msgspec.json.decode

    def on_message(client: WsClient, payload: bytes) -> None:
        message = decode(payload)
        if message.get("type") == "message" and message["text"].isdigit():
            lags.append((time.perf_counter_ns() - int(message["text"])) / 1e6)
            if len(lags) == expected[0]:
                all_arrived.set()

    clients = [await connect("127.0.0.1", port, "/", on_message) for _ in range(args.clients)]
    for n, client in enumerate(clients):
        hello = {"type": "username", "name": f"user{n}", "features": features}
        client.send_text(msgspec.json.encode(hello))
    await asyncio.sleep(1.0)  # sign-ins, lists and joining history settle
    sent, began = 0, time.monotonic()
    while (elapsed := time.monotonic() - began) < args.seconds:
        while sent < int(elapsed * args.rate):
            line = {"type": "message", "text": str(time.perf_counter_ns())}
            clients[sent % len(clients)].send_text(msgspec.json.encode(line))
            sent += 1
        await asyncio.sleep(0.002)
    expected[0] = sent * len(clients)
    if len(lags) < expected[0]:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_arrived.wait(), 10)
    for client in clients:
        client.close()
    return sorted(lags)


async def relay(args: argparse.Namespace) -> None:
    print(f"# chat relay: {args.clients} clients, {args.rate:,} lines/s for {args.seconds:g} s;"
          " every client receives every line")  # fmt: skip
    print("| history | features | frames received | p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-") as tmp:
        for features in (["plain-text"], ["plain-text", "seq"]):
            for history in (False, True):
                process, port = await start_server(history, Path(tmp))
                try:
                    lags = await relay_latency(port, features, args)
                finally:
                    process.terminate()
                    await asyncio.wait_for(process.wait(), 10)
                print(
                    f"| {'SQLite' if history else 'off'} | {', '.join(features)} | {len(lags):,}"
                    f" | {statistics.median(lags):.2f} | {percentile(lags, 0.99):.2f}"
                    f" | {lags[-1]:.2f} |"
                )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rate", type=int, help="lines/s (default 2,000; 200 with --relay)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--stores", default="off,sqlite,redis")
    parser.add_argument("--relay", action="store_true", help="relay latency, history on vs off")
    parser.add_argument("--clients", type=int, default=20, help="signed-in clients (--relay)")
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, {time.strftime('%Y-%m-%d')}")  # fmt: skip
    if args.relay:
        args.rate = args.rate or 200
        await relay(args)
        return
    args.rate = args.rate or 2000
    print(f"# {args.lines:,} lines of {len(TEXT)} chars; loop lag at {args.rate:,} lines/s")
    print("| store | sustained lines/s | loop lag p50 ms | p99 ms | max ms | bytes/line |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-") as tmp:
        workdir = Path(tmp)
        redis, url = start_redis(workdir)
        try:
            for kind in args.stores.split(","):
                await run(kind, args, workdir, url)
        finally:
            redis.terminate()
            redis.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
