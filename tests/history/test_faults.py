"""Faults of real parts never reach the caller: kill -9, a read-only or full disk, a lock,
Redis stopped. Each test also proves the store recovers once the fault is gone."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chinwag.history import HistoryStore
from chinwag.history.redis import RedisHistory
from chinwag.history.sqlite import SqliteHistory
from tests.history.conftest import line, stored, until
from tests.redis_server import RedisServer

FAST = {"max_backoff": 0.2, "prune_interval": 3600.0}


@contextlib.contextmanager
def tmpfs(where: Path, size: str, *options: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``where`` for the test, unmounted afterwards."""
    where.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(where)],
        check=True,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


async def test_a_read_only_data_dir_fails_quietly_and_recovers(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "1m", "ro") as data:
        store = SqliteHistory(data / "history.sqlite3", max_pending=5, **FAST)
        try:
            for n in range(20):
                store.append(line(f"{n}"))
            await until(lambda: store.failed >= 2, "a read-only dir never failed a write")
            assert await store.recent("lobby", 10) == []
            assert (store.written, store.pending, store.dropped) == (0, 5, 15)
            remount(data, "rw")
            await until(lambda: store.pending == 0, f"{store.pending} lines never written")
            assert store.written == 5
            assert [r.text for r in await store.recent("lobby", 50)] == [
                f"{n}" for n in range(15, 20)
            ]
        finally:
            await store.close()


async def test_a_full_disk_fails_quietly_and_recovers(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "1m") as data:
        store = SqliteHistory(data / "history.sqlite3", **FAST)
        try:
            await stored(store, [line("before the disk filled")])
            filler = data / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            big = "x" * 3000
            for n in range(60):
                store.append(line(f"{n} {big}"))
            await until(lambda: store.failed >= 2, "a full disk never failed a write")
            assert store.pending == 60
            filler.unlink()
            await until(lambda: store.pending == 0, f"{store.pending} lines never written")
            assert len(await store.recent("lobby", 100)) == 61
        finally:
            await store.close()


async def test_a_locked_database_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = SqliteHistory(path, **FAST)
    try:
        await stored(store, [line("first")])
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
        try:
            store.append(line("second"))
            await until(lambda: store.failed >= 1, "a locked database never failed a write")
            assert store.pending == 1
        finally:
            other.execute("ROLLBACK")
            other.close()
        await until(lambda: store.pending == 0, "the line was never written after the lock")
        assert [r.text for r in await store.recent("lobby", 10)] == ["first", "second"]
    finally:
        await store.close()


async def test_redis_stopped_mid_run_fails_quietly_and_recovers(
    redis_server: RedisServer,
) -> None:
    store = RedisHistory(redis_server.url, timeout=1.0, **FAST)
    try:
        await stored(store, [line("before")])
        redis_server.stop()
        for n in range(3):
            store.append(line(f"during {n}"))
        await until(lambda: store.failed >= 2, "Redis down never failed a write")
        assert await store.recent("lobby", 10) == []
        redis_server.start()  # without persistence: an empty Redis
        await until(lambda: store.pending == 0, f"{store.pending} lines never written")
        texts = [r.text for r in await store.recent("lobby", 10)]
        assert texts == ["during 0", "during 1", "during 2"]
    finally:
        await store.close()


def kill_writer_once_it_stored(kind: str, target: str, enough: int) -> int:
    """Run tests/history/writer.py, kill -9 it once it stored ``enough`` lines; return how
    many it had reported stored."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.history.writer", kind, target],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    stored_count = 0
    try:
        assert child.stdout is not None
        for report in child.stdout:  # bounded: the child writes at most 100,000 lines
            stored_count = int(report.split()[1])
            if stored_count >= enough:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert stored_count >= enough, "the child stopped before storing enough lines"
    return stored_count


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_lines_written_before_kill_9_are_there_after_a_restart(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "history.sqlite3"
    target = request.getfixturevalue("redis_server").url if kind == "redis" else str(path)
    stored_count = kill_writer_once_it_stored(kind, target, 200)
    store: HistoryStore = SqliteHistory(path) if kind == "sqlite" else RedisHistory(target)
    try:
        texts = [r.text async for r in store.export("lobby")]
    finally:
        await store.close()
    assert len(texts) >= stored_count
    assert texts == [f"line {n}" for n in range(len(texts))]
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
