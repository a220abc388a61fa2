"""Helpers of the cluster tests: a recording bus handler and bounded polling."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from chinwag.core.events import BusEvent, NamesLost, NodeUsers, UserRecord
from tests.support import Client

__all__ = ["START_WITHIN", "ChinwagProcess", "Recorder", "eventually", "record", "until_list"]

#: How long a ``chinwag serve`` process may take to print its address.
START_WITHIN = 60.0


class Recorder:
    """A bus handler that keeps every event it is given, in order."""

    def __init__(self) -> None:
        self.events: list[BusEvent] = []

    def __call__(self, event: BusEvent) -> None:
        self.events.append(event)

    @property
    def messages(self) -> list[BusEvent]:
        """What other nodes' lobbies said: without the bus's own re-sync events."""
        return [e for e in self.events if not isinstance(e, NodeUsers | NamesLost)]

    def of(self, kind: type) -> list[BusEvent]:
        return [event for event in self.events if isinstance(event, kind)]

    async def wait_for(
        self, predicate: Callable[[BusEvent], bool], timeout: float = 20.0
    ) -> BusEvent:
        """The first recorded event matching ``predicate``, waiting up to ``timeout``."""
        found: list[BusEvent] = []

        def seen() -> bool:
            found[:] = [e for e in self.events if predicate(e)][:1]
            return bool(found)

        await eventually(seen, timeout, f"no matching event in {self.events[-5:]}")
        return found[0]


async def eventually(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; return the seconds it took, fail after ``timeout``."""
    began = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - began
        assert elapsed < timeout, f"after {timeout} s: {what}"
        await asyncio.sleep(0.01)
    return time.monotonic() - began


def record(name: str, node: str, busy: bool = False) -> UserRecord:
    return UserRecord(name, node, ("deltas",), busy)


async def until_list(client: Client, names: set[str], timeout: float = 20.0) -> float:
    """Read until a ``userlist`` of exactly ``names``; return the seconds it took."""
    began = time.monotonic()
    while True:
        remaining = began + timeout - time.monotonic()
        assert remaining > 0, f"{client.name} never saw exactly {sorted(names)}"
        message = await client.next(remaining)
        if message["type"] == "userlist" and set(message["users"]) == names:
            return time.monotonic() - began


class ChinwagProcess:
    """``chinwag serve [--redis URL]`` on an ephemeral loopback port, in its own process.

    Its memory and descriptors are read from /proc, as an operator would.
    """

    def __init__(
        self,
        redis_url: str | None,
        log: Path,
        *extra: str,
        launcher: Sequence[str] = ("-m", "chinwag"),
    ) -> None:
        self.log = log.open("w")
        redis = ["--redis", redis_url] if redis_url else []
        self.process = subprocess.Popen(
            [sys.executable, *launcher, "serve", "--host", "127.0.0.1", "--port", "0",
             *redis, "--presence-interval", "0.02", *extra],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        try:
            self.port = self._read_port()
        except BaseException:  # not up in time (a loaded machine): leave no process behind
            self.stop()
            raise

    def _read_port(self) -> int:
        assert self.process.stdout is not None
        # Python's start-up and chinwag's imports take well under a second on a quiet
        # machine; the bound is for a busy one.
        ready, _, _ = select.select([self.process.stdout], [], [], START_WITHIN)
        assert ready, f"chinwag printed nothing within {START_WITHIN} s"
        line = self.process.stdout.readline()
        match = re.search(r"chinwag listening on https?://127\.0\.0\.1:(\d+)/", line)
        assert match, f"unexpected first line {line!r}"
        return int(match.group(1))

    def rss_kib(self) -> int:
        """The server's resident memory (VmRSS of /proc/PID/status), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")

    def open_files(self) -> int:
        """How many descriptors the server holds open now."""
        return len(list(Path(f"/proc/{self.process.pid}/fd").iterdir()))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
