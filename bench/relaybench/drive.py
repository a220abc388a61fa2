"""The load-generator worker processes (bench/loadgen.py) and the groups of clients they hold."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import loadgen
import procstat

# --- load generators ------------------------------------------------------------------------


class LoadGen:
    """Worker processes (bench/loadgen.py) that hold the client connections."""

    def __init__(
        self, procs: int, main: Callable[[Connection], None] = loadgen.worker_main
    ) -> None:
        """Start ``procs`` workers running ``main`` (another module may add ops)."""
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(procs):
            mine, theirs = context.Pipe()
            process = context.Process(target=main, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.pipes)

    def ask(self, commands: list[dict[str, Any]], timeout: float = 120.0) -> list[dict[str, Any]]:
        """Send one command to each of the first len(commands) workers; gather the replies."""
        for pipe, command in zip(self.pipes, commands, strict=False):
            pipe.send(command)
        replies = []
        deadline = time.monotonic() + timeout
        for pipe in self.pipes[: len(commands)]:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError("a load generator did not answer in time")
            reply = pipe.recv()
            if "error" in reply and len(reply) == 1:
                raise RuntimeError(f"load generator: {reply['error']}")
            replies.append(reply)
        return replies

    def usage(self) -> procstat.Usage:
        readings = [procstat.usage(p.pid) for p in self.processes if p.pid is not None]
        total = readings[0]
        for reading in readings[1:]:
            total += reading
        return total

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send({"op": "quit"})
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)


def split(items: list[Any], parts: int, multiple: int = 1) -> list[list[Any]]:
    """Cut a list into ``parts`` nearly equal runs whose lengths are multiples of ``multiple``."""
    units = len(items) // multiple
    runs = []
    for part in range(parts):
        lo, hi = units * part // parts, units * (part + 1) // parts
        runs.append(items[lo * multiple : hi * multiple])
    return runs


def open_group(
    gen: LoadGen,
    port: int,
    group: str,
    names: list[str],
    *,
    sign_in: bool,
    features: list[str],
    wait: str,
    multiple: int = 1,
    extras: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Open connections for ``names`` spread over the workers; fail loudly if any failed.

    ``extras``: added sign-in fields per name (``room``), split like the names.
    """
    runs = split(names, len(gen), multiple)
    extra_runs = split(extras, len(gen), multiple) if extras else [None] * len(runs)
    commands = [
        {
            "op": "open",
            "group": group,
            "port": port,
            "names": run,
            "sign_in": sign_in,
            "features": features,
            "wait": wait,
            "concurrency": 64,
            "patience": 30.0,
            "extras": extra_run,
        }
        for run, extra_run in zip(runs, extra_runs, strict=True)
    ]
    replies = gen.ask(commands)
    failed = sum(r["failed"] for r in replies)
    if failed:
        examples = [f for r in replies for f in r["failures"]][:3]
        raise RuntimeError(f"{failed} of {len(names)} connections failed: {examples}")
    return {"seconds": max(r["seconds"] for r in replies)}


def close_group(gen: LoadGen, group: str) -> list[str]:
    replies = gen.ask([{"op": "close", "group": group}] * len(gen))
    return [e for r in replies for e in r["errors"]]
