"""The servers under test: their command lines, processes and shared constants."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import procstat

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
HOST = "127.0.0.1"
TARGETS = ("chinwag", "node", "aiohttp")
# Not run by default: chinwag on asyncio's own loop (`chinwag` takes uvloop's when installed).
EXTRA_TARGETS = ("chinwag-asyncio",)
# Loopback load comes from one address, so lift the per-IP and total caps;
# warnings only, as the other relays log nothing per connection.
_CHINWAG_FLAGS = (
    *("serve", "--host", HOST, "--port", "0", "--max-per-ip", "100000"),
    *("--max-connections", "100000", "--log-level", "warning"),
)
_LISTENING = re.compile(rb"listening on http://[^/]*:(\d+)/")

# Targets (from the issue): chinwag vs the Node relay measured in the same run.
CPU_RATIO_TARGET = 0.6
IDLE_CONNECTION_TARGET_KIB = 10.0
P99_TARGET_MS = 5.0
SIGNIN_TARGET_SECONDS = 5.0
# A measurement during which other processes used more CPU than this is repeated.
NOISE_CORES = 0.25


def say(text: str) -> None:
    print(text, flush=True)


# --- servers --------------------------------------------------------------------------------


def server_command(target: str) -> list[str]:
    """The command line that starts one target's server on a free port of 127.0.0.1."""
    if target in ("chinwag", "chinwag-asyncio"):
        venv = ROOT / ".venv" / "bin"
        script = str(venv / "chinwag") if (venv / "chinwag").exists() else "chinwag"
        loop = ("--loop", "asyncio") if target == "chinwag-asyncio" else ()
        return [script, *_CHINWAG_FLAGS, *loop]
    if target == "node":
        return ["node", str(BENCH / "node_relay" / "relay.js"), "--host", HOST, "--port", "0"]
    if target == "aiohttp":
        return [sys.executable, str(BENCH / "aiohttp_relay.py"), "--host", HOST, "--port", "0"]
    raise ValueError(f"unknown target {target!r}")


class Server:
    """One server process: started, its port read from its first line, stopped by PID."""

    def __init__(self, target: str, log: IO[bytes], args: Sequence[str] = ()) -> None:
        """Start ``target``'s server, with ``args`` added to its command line."""
        self.target = target
        self.process = subprocess.Popen(
            [*server_command(target), *args],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.process.pid
        self.port = self._read_port(log, deadline=time.monotonic() + 30)
        threading.Thread(target=self._copy_output, args=(log,), daemon=True).start()

    def _read_port(self, log: IO[bytes], deadline: float) -> int:
        assert self.process.stdout is not None
        for _ in range(100):
            if time.monotonic() > deadline or self.process.poll() is not None:
                break
            line = self.process.stdout.readline()
            log.write(line)
            found = _LISTENING.search(line)
            if found:
                return int(found.group(1))
        self.stop()
        raise RuntimeError(f"{self.target} did not say where it listens (see the log)")

    def _copy_output(self, log: IO[bytes]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            log.write(line)

    def usage(self) -> procstat.Usage:
        return procstat.usage(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def settle(self, quiet_for: float = 0.6, at_most: float = 8.0) -> None:
        """Wait until the server has used no CPU for ``quiet_for`` seconds (bounded)."""
        deadline = time.monotonic() + at_most
        last = self.usage().cpu_seconds
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.usage().cpu_seconds
            if now - last > 0.011:  # more than one clock tick
                quiet_since = time.monotonic()
            last = now
            if time.monotonic() - quiet_since >= quiet_for:
                return


@contextmanager
def running(target: str, log: IO[bytes], args: Sequence[str] = ()) -> Iterator[Server]:
    """A fresh server for one test (``args``: more command-line options)."""
    server = Server(target, log, args)
    try:
        yield server
    finally:
        server.stop()
