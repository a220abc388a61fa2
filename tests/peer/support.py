"""Helpers for the peer tests: the browser harness, the CLI as a subprocess, polling."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page


class BrowserUser:
    """A browser person on the test page (tests/peer/page), calling through the harness."""

    def __init__(self, page: Page) -> None:
        self.page = page

    async def run(self, function: str, *args: Any) -> Any:
        """Call ``function(*args)`` exported by harness.js and return its result."""
        script = "async ([name, args]) => (await import('./harness.js'))[name](...args)"
        return await self.page.evaluate(script, [function, list(args)])

    async def inbound(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.run("inbound")
        return result


CLI = (sys.executable, "-m", "chinwag")  # the real `chinwag` command
CLI_DEADLINE = 40.0  # seconds any one command may run in a test


@dataclass
class Finished:
    returncode: int
    output: str


async def run_cli(*args: str, stdin: bytes | None = None) -> Finished:
    """Run ``chinwag peer|call ...`` as a real subprocess to the end; return status and output."""
    process = (await start_cli(*args)).process
    try:
        async with asyncio.timeout(CLI_DEADLINE):
            output, _ = await process.communicate(stdin)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        raise AssertionError(f"chinwag {' '.join(args)} ran too long:\n{output.decode()}") from None
    assert process.returncode is not None
    return Finished(process.returncode, output.decode())


class RunningCli:
    """A long-running ``chinwag peer|call`` subprocess whose output the test reads."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._unread = ""
        self.finished: Finished | None = None

    async def expect(self, text: str, within: float = 30.0) -> None:
        """Read output until it contains ``text`` (a prompt need not end its line)."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            async with asyncio.timeout(within):
                while text not in self._unread:
                    chunk = await stdout.read(4096)
                    if not chunk:
                        break
                    self._unread += chunk.decode()
        except TimeoutError:
            pass
        if text not in self._unread:
            raise AssertionError(f"no {text!r} in the output:\n{self._unread}")
        self._unread = self._unread.split(text, 1)[1]

    def type(self, line: str) -> None:
        """Write ``line`` and a newline to the command's standard input."""
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")

    async def stop(self) -> Finished:
        """SIGTERM the command and collect its status and remaining output (once)."""
        if self.finished is not None:
            return self.finished
        self.process.terminate()
        try:
            # Generous: aiortc's shutdown (closing peer connections, TURN
            # allocations) can take seconds when the machine is busy.
            async with asyncio.timeout(30):
                output, _ = await self.process.communicate()
        except TimeoutError:
            self.process.kill()
            output, _ = await self.process.communicate()
        assert self.process.returncode is not None
        self.finished = Finished(self.process.returncode, self._unread + output.decode())
        return self.finished


async def start_process(*argv: str) -> RunningCli:
    """Start a Python program the test talks to; its stdout and stderr are read together."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each line arrives as it is printed
    )
    return RunningCli(process)


async def start_cli(*args: str) -> RunningCli:
    """Start ``chinwag peer|call ...``; see :func:`start_process`."""
    return await start_process(*CLI, *args)


async def eventually(
    condition: Callable[[], Awaitable[Any]], what: str, within: float = 30.0
) -> Any:
    """Poll an async ``condition`` until it returns something truthy, or fail after ``within``."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await condition()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}")


class FrameCounter:
    """Reads every received track with ``track.recv()`` and counts frames per kind.

    Pass ``counter.consume`` in ``CallMedia``'s consumers; ``sizes`` holds each
    video frame's (width, height).
    """

    def __init__(self) -> None:
        self.frames = {"audio": 0, "video": 0}
        self.sizes: set[tuple[int, int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def consume(self, track: Any) -> None:
        task = asyncio.ensure_future(self._read(track))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.frames[track.kind] += 1
                if track.kind == "video":
                    self.sizes.add((frame.width, frame.height))

    async def rising(self, kind: str, by: int, within: float = 15.0) -> None:
        """Wait until ``by`` more frames of ``kind`` arrived than now."""
        start = self.frames[kind]

        async def grown() -> bool:
            return self.frames[kind] >= start + by

        await eventually(grown, f"{by} more {kind} frames (had {start})", within)

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()


class FramesBySender:
    """Video frames an aiortc peer in an SFU call decodes, per person who sent them.

    Pass ``counter.consume`` in ``CallMedia``'s consumers and a function returning
    what names a received track's sender (``lambda: mesh``: a
    :class:`~chinwag.peer.mesh.RoomMesh`, on the SFU or a mesh link). The
    consumer gets a MediaRelay copy of the received track; its ``_source`` is
    the receiver's own track.
    """

    def __init__(self, peer: Callable[[], Any]) -> None:
        self.peer = peer
        self.frames: dict[str, int] = {}
        self.last_size: dict[str, tuple[int, int]] = {}  # per sender: its latest frame's
        self._reading = FrameCounter()

    def consume(self, track: Any) -> None:
        if track.kind != "video":
            return
        peer = self.peer()
        name = peer.sender_of(getattr(track, "_source", track)) if peer is not None else ""
        if name:
            self.frames.setdefault(name, 0)
            self._reading.consume(_Counted(track, lambda frame: self._count(name, frame)))

    def _count(self, name: str, frame: Any) -> None:
        self.frames[name] += 1
        self.last_size[name] = (frame.width, frame.height)

    async def rising(self, names: set[str], by: int = 10, within: float = 60.0) -> None:
        """Wait until each of ``names`` has sent ``by`` more decoded frames than now."""
        start = {name: self.frames.get(name, 0) for name in names}

        async def grown() -> bool:
            return all(self.frames.get(n, 0) >= start[n] + by for n in names)

        try:
            await eventually(grown, f"{by} more video frames from each of {sorted(names)}", within)
        except AssertionError as error:
            raise AssertionError(f"{error}; had {start}, now {self.frames}") from None

    def stop(self) -> None:
        self._reading.stop()


class _Counted:
    """A track whose every ``recv`` also calls ``counted`` (for FramesBySender)."""

    def __init__(self, track: Any, counted: Callable[[Any], None]) -> None:
        self.kind = track.kind
        self._track = track
        self._counted = counted

    async def recv(self) -> Any:
        frame = await self._track.recv()
        self._counted(frame)
        return frame
