"""Starting and stopping a VideoRoom's recording on Janus, and making it playable after.

Janus records every publisher of a room once ``enable_recording`` is on
(publishers who join later too), one ``.mjr`` per stream, into the room's
``rec_dir``. chinwag points ``rec_dir`` at a fresh folder for each recording
(``edit`` with ``new_rec_dir``) just before switching it on, so two
recordings of one call never mix. Both requests need the room's secret,
which only chinwag holds; rooms are created with ``lock_record`` so nothing
else can switch recording on or off.

Janus saves nothing of a video stream until a keyframe arrives, and asks
each publisher for one only once, when recording starts; a browser that got
another keyframe request a moment before may let that one pass (Chromium
spaces them out), and the person's video file would stay empty. So
:func:`keyframes_until_recorded` asks again, every half second for a few
seconds, for each video whose file has no frame yet.

When recording stops, :class:`Recorder` runs :func:`~chinwag.sfu.recordings.finish`
in a task it owns (conversion is child processes, so the event loop stays
free) and waits for those tasks on :meth:`Recorder.close`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from .janus import JanusError, JanusHandle, JanusLost
from .recordings import MJR_HEADER, finish, recording_id, start_manifest, streams_in

__all__ = [
    "CallRecordings",
    "Recorder",
    "keyframes_until_recorded",
    "start_recording",
    "stop_recording",
]

log = logging.getLogger("chinwag.sfu.recorder")

#: Rounds of keyframe requests for videos that have saved no frame, and the seconds
#: between them (more than the gap a browser keeps between two keyframes it sends).
KEYFRAME_ROUNDS: Final = 10
KEYFRAME_INTERVAL: Final = 0.5


async def start_recording(handle: JanusHandle, room: int, secret: str, folder: Path) -> None:
    """Point room ``room``'s ``rec_dir`` at ``folder`` and record every publisher from now on.

    Raises JanusError if the VideoRoom refuses (e.g. ``folder`` is in Janus's
    ``protected_folders``), JanusLost if Janus went away.
    """
    await handle.request(
        {"request": "edit", "room": room, "secret": secret, "new_rec_dir": str(folder)}
    )
    await handle.request(
        {"request": "enable_recording", "room": room, "secret": secret, "record": True}
    )


async def stop_recording(handle: JanusHandle, room: int, secret: str) -> None:
    """Stop recording room ``room``: Janus closes every ``.mjr`` file at once."""
    await handle.request(
        {"request": "enable_recording", "room": room, "secret": secret, "record": False}
    )


async def keyframes_until_recorded(
    folder: Path,
    ask: Callable[[str], Awaitable[None]],
    *,
    rounds: int = KEYFRAME_ROUNDS,
    interval: float = KEYFRAME_INTERVAL,
) -> set[str]:
    """Ask for a keyframe (``ask(feed)``) from each publisher whose video in ``folder`` has
    no frame yet, every ``interval`` seconds until all have one; the feeds still without.

    Bounded by ``rounds``; stops early when Janus is lost or refuses (the recording's own
    outcome then says what happened).
    """
    waiting: set[str] = set()
    for _ in range(rounds):
        await asyncio.sleep(interval)
        waiting = {
            stream.feed
            for stream in streams_in(folder)
            if stream.kind == "video" and stream.mjr.stat().st_size <= MJR_HEADER
        }
        if not waiting:
            break
        try:
            for feed in sorted(waiting):
                await ask(feed)
        except (JanusError, JanusLost) as error:
            log.warning("recording in %s: keyframe request failed: %s", folder.name, error)
            break
    if waiting:
        log.warning("recording in %s: no video frame yet from feeds %s", folder.name, waiting)
    return waiting


class Recorder:
    """Owns the recordings' folders and their conversion tasks (one per stopped recording)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._converting: set[asyncio.Task[dict[str, Any]]] = set()
        self.outcomes: Counter[str] = Counter()  # finished conversions by state (ready, failed)
        #: Told of each finished recording (its id, room, state): the ``recording.finished``
        #: webhook. Called on the event loop; must not block.
        self.finished: Callable[[str, str, str], None] = lambda _id, _room, _state: None

    def folder(self, recording: str) -> Path:
        return self.root / recording

    def prepare(self, recording: str, room: str, since_ms: int, by: str) -> Path:
        """Create the folder (and manifest) Janus is about to record into."""
        folder = self.folder(recording)
        start_manifest(folder, room, since_ms, by)
        return folder

    def convert(
        self, recording: str, people: Mapping[str, str], stopped_ms: int
    ) -> asyncio.Task[dict[str, Any]]:
        """Make the stopped recording playable in the background; the task gives its manifest."""
        task = asyncio.create_task(
            finish(self.folder(recording), people, stopped_ms=stopped_ms),
            name=f"recording-{recording}",
        )
        self._converting.add(task)
        task.add_done_callback(lambda done: self._converted(done, recording))
        return task

    def _converted(self, task: asyncio.Task[dict[str, Any]], recording: str) -> None:
        self._converting.discard(task)
        failed = task.cancelled() or task.exception() is not None
        manifest = {} if failed else task.result()
        state = str(manifest.get("state", "failed"))
        self.outcomes[state] += 1
        self.finished(recording, str(manifest.get("room", "")), state)

    @property
    def converting(self) -> int:
        """Recordings being made playable right now."""
        return len(self._converting)

    async def close(self) -> None:
        """Wait for the conversions under way (they are bounded by their own timeouts)."""
        if self._converting:
            log.info("waiting for %d recording(s) to be converted", len(self._converting))
            await asyncio.gather(*self._converting, return_exceptions=True)


class RecordableRoom(Protocol):
    """What :class:`CallRecordings` needs of a call's room on Janus."""

    async def record(self, folder: Path | None) -> dict[str, str]:
        """Record every publisher into ``folder`` from now on (None: stop); who publishes."""
        ...


@dataclass
class _Active:
    recording: str
    since: int
    people: dict[str, str] = field(default_factory=dict)


CallKey = tuple[str, int]
#: Tells the core a recording ended without anyone asking: (call, since, reason).
Failed = Callable[[CallKey, int, str], None]


class CallRecordings:
    """The recordings this chinwag process started, by call; the SFU link's recording half.

    ``start`` and ``stop`` run in the call's turn (the link serialises them);
    a recording that cannot start, or whose Janus is lost, is reported
    through ``failed`` so everyone in the call sees that it stopped.
    """

    def __init__(self, recorder: Recorder, failed: Failed) -> None:
        self.recorder = recorder
        self._failed = failed
        self.active: dict[CallKey, _Active] = {}

    async def start(
        self,
        call: CallKey,
        room: Callable[[], Awaitable[RecordableRoom]],
        since: int,
        by: str,
        title: str,
    ) -> None:
        """Record ``call`` from now on, into a fresh folder."""
        recording = recording_id(call[0], since)
        try:
            folder = self.recorder.prepare(recording, title, since, by)
            people = await (await room()).record(folder)
        except (JanusError, JanusLost, OSError) as error:
            log.error("recording %s of %r could not start: %s", recording, title, error)
            self._failed(call, since, "media-server")
            return
        self.active[call] = _Active(recording, since, people)
        log.info("recording %s of %r started by %s", recording, title, by)

    async def stop(self, call: CallKey, room: RecordableRoom | None) -> None:
        """Stop recording ``call`` (if this process records it) and make it playable.

        ``room`` is None when its Janus is gone: what was written is converted.
        """
        active = self.active.pop(call, None)
        if active is None:
            return
        if room is not None:
            try:
                active.people.update(await room.record(None))
            except (JanusError, JanusLost) as error:
                log.warning("recording %s: stop failed: %s", active.recording, error)
        self.recorder.convert(active.recording, active.people, int(time.time() * 1000))

    def lost(self, call: CallKey) -> None:
        """``call``'s Janus is gone: its recording ends with what was written."""
        active = self.active.get(call)
        if active is not None:
            self._failed(call, active.since, "media-server-lost")
