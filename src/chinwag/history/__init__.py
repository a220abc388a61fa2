"""Chat history per room: one interface, two stores.

* :class:`~chinwag.history.sqlite.SqliteHistory` (the default): one SQLite file
  in the data directory (``--data-dir``).
* :class:`~chinwag.history.redis.RedisHistory` (whenever ``--redis`` is set):
  Redis Streams, so every process of a cluster serves the same history.

Both pass the same contract tests (``tests/history/test_contract.py``). The
store knows nothing of the lobby: the server appends public chat lines, asks
for ``recent`` lines on join, ``since`` on resume and ``before`` for paging.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from ..config import Settings
from .base import DAY, ChatLine, ChatRecord, HistoryStore, HistoryUnavailable, Retention

__all__ = [
    "ChatLine",
    "ChatRecord",
    "HistoryStore",
    "HistoryUnavailable",
    "Retention",
    "create_history",
    "data_dir",
    "open_history",
]

HISTORY_FILE = "history.sqlite3"


def data_dir(settings: Settings) -> Path:
    """Where chinwag keeps files: ``--data-dir``, else $XDG_DATA_HOME/chinwag or ~/.local/share."""
    if settings.data_dir:
        return Path(settings.data_dir)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "chinwag"


def create_history(settings: Settings) -> HistoryStore | None:
    """The history store the server should use, or None when history is off."""
    return open_history(settings) if settings.history else None


def open_history(settings: Settings, clock: Callable[[], float] = time.time) -> HistoryStore:
    """The store for these settings, whether history is on or off (for the CLI)."""
    retention = Retention(
        settings.history_max_lines, settings.history_max_age * DAY, settings.history_max_total
    )
    if settings.redis:
        from .redis import RedisHistory

        return RedisHistory(settings.redis, retention, clock=clock)
    from .sqlite import SqliteHistory

    return SqliteHistory(data_dir(settings) / HISTORY_FILE, retention, clock=clock)
