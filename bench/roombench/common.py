"""What every room benchmark shares: the server's options and the machine's load."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The web client's features (src/chinwag/web/js/app.js, FEATURES): the load is
# what chinwag's own clients cost the server.
WEB_FEATURES = ["deltas", "ringing", "plain-text", "seq", "rooms"]


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (other people share the machine)."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def waited_ns(pid: int) -> int:
    """Nanoseconds the process's main thread has spent runnable but not running.

    /proc/PID/schedstat's second field. When it grows as fast as the clock, the
    server was ready to work and the machine gave the core to someone else.
    """
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
    except (FileNotFoundError, IndexError):
        return 0


@contextmanager
def history_args(history: bool) -> Iterator[list[str]]:
    """``chinwag serve`` options for history on (SQLite in a fresh directory) or off."""
    if not history:
        yield ["--no-history"]
        return
    with tempfile.TemporaryDirectory(prefix="roombench-") as data:
        yield ["--history", "--data-dir", str(Path(data))]
