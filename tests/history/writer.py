"""A child process that writes chat history until it is killed (for the kill -9 test).

Usage: ``python -m tests.history.writer sqlite PATH`` or ``... redis URL``. It
appends numbered lines without end (bounded: 100,000 at most) and prints
``stored N`` each time the store has written N lines, so the parent knows what
must survive the kill.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from chinwag.history import ChatLine, HistoryStore, Retention
from chinwag.history.redis import RedisHistory
from chinwag.history.sqlite import SqliteHistory

MOST_LINES = 100_000


async def write_until_killed(store: HistoryStore) -> None:
    reported = 0
    for n in range(MOST_LINES):
        store.append(ChatLine("lobby", "writer", int(time.time() * 1000), f"line {n}"))
        await asyncio.sleep(0.001)
        if store.written >= reported + 50:
            reported = store.written
            print(f"stored {reported}", flush=True)
    await store.close()


def main() -> None:
    kind, target = sys.argv[1], sys.argv[2]
    keep_all = Retention(max_lines=MOST_LINES)  # so no line is trimmed before the parent looks
    store: HistoryStore
    if kind == "sqlite":
        store = SqliteHistory(Path(target), keep_all)
    else:
        store = RedisHistory(target, keep_all)
    asyncio.run(write_until_killed(store))


if __name__ == "__main__":
    main()
