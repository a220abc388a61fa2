"""Fixtures for the history tests: stores of either kind on real parts, and a clock to move."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from chinwag.history import ChatLine, HistoryStore, Retention
from chinwag.history.redis import RedisHistory
from chinwag.history.sqlite import SqliteHistory
from tests.cluster.support import eventually

MakeStore = Callable[..., HistoryStore]


class Clock:
    """A wall clock the test moves by hand (Unix seconds)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def line(text: str, room: str = "lobby", name: str = "ann", date_ms: int | None = None) -> ChatLine:
    """A chat line dated now unless told otherwise."""
    return ChatLine(room, name, int(time.time() * 1000) if date_ms is None else date_ms, text)


async def stored(store: HistoryStore, lines: list[ChatLine]) -> None:
    """Append ``lines`` and wait until the store has written them all."""
    for each in lines:
        store.append(each)
    assert await store.flush(10), f"{store.pending} lines still queued, {store.failed} failures"


async def until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    await eventually(condition, timeout, what)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[MakeStore]:
    """Factory: a store of the parametrised kind, on one place (a second one sees the first's
    lines); every store made is closed after the test."""
    made: list[HistoryStore] = []
    url = request.getfixturevalue("redis_server").url if request.param == "redis" else None

    def make(retention: Retention | None = None, **options: Any) -> HistoryStore:
        retention = retention or Retention()
        options = {"clock": clock, "prune_interval": 3600.0, **options}
        store: HistoryStore
        if url is not None:
            store = RedisHistory(url, retention, **options)
        else:
            store = SqliteHistory(tmp_path / "data" / "history.sqlite3", retention, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()
