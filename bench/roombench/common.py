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


@contextmanager
def history_args(history: bool) -> Iterator[list[str]]:
    """``chinwag serve`` options for history on (SQLite in a fresh directory) or off."""
    if not history:
        yield ["--no-history"]
        return
    with tempfile.TemporaryDirectory(prefix="roombench-") as data:
        yield ["--history", "--data-dir", str(Path(data))]
