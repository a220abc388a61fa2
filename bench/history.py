"""How fast chat history is stored, what it costs the event loop, and its size per line.

Run by hand (never in CI or pytest); results go in docs/performance.md::

    .venv/bin/python bench/history.py                     # SQLite and Redis, about 30 s
    .venv/bin/python bench/history.py --lines 50000 --stores sqlite

For each store (``off`` is the baseline with no store at all):

* **sustained**: ``--lines`` lines appended as fast as the loop allows, in
  bursts of 1,000, until all are written: lines per second end to end;
* **loop lag at a paced rate**: ``--rate`` lines/s for ``--seconds`` while a
  ticker measures how late a 1 ms sleep wakes up (p50/p99/max): what a relay
  sharing the loop with the store would feel;
* **bytes per line**: the SQLite file (after a WAL checkpoint) or the Redis
  stream's ``MEMORY USAGE``, over the lines it holds.

Redis is a real ``redis-server`` started on a free loopback port and stopped
afterwards. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=2000, help="lines/s for the loop-lag run")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--stores", default="off,sqlite,redis")
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, {time.strftime('%Y-%m-%d')}")  # fmt: skip
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
