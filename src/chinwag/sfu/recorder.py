"""Starting and stopping a VideoRoom's recording on Janus, and making it playable after.

Janus records every publisher of a room once ``enable_recording`` is on
(publishers who join later too), one ``.mjr`` per stream, into the room's
``rec_dir``. chinwag points ``rec_dir`` at a fresh folder for each recording
(``edit`` with ``new_rec_dir``) just before switching it on, so two
recordings of one call never mix. Both requests need the room's secret,
which only chinwag holds; rooms are created with ``lock_record`` so nothing
else can switch recording on or off.

When recording stops, :class:`Recorder` runs :func:`~chinwag.sfu.recordings.finish`
in a task it owns (conversion is child processes, so the event loop stays
free) and waits for those tasks on :meth:`Recorder.close`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .janus import JanusHandle
from .recordings import finish, start_manifest

__all__ = ["Recorder", "start_recording", "stop_recording"]

log = logging.getLogger("chinwag.sfu.recorder")


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


class Recorder:
    """Owns the recordings' folders and their conversion tasks (one per stopped recording)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._converting: set[asyncio.Task[dict[str, Any]]] = set()

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
        task.add_done_callback(self._converting.discard)
        return task

    @property
    def converting(self) -> int:
        """Recordings being made playable right now."""
        return len(self._converting)

    async def close(self) -> None:
        """Wait for the conversions under way (they are bounded by their own timeouts)."""
        if self._converting:
            log.info("waiting for %d recording(s) to be converted", len(self._converting))
            await asyncio.gather(*self._converting, return_exceptions=True)
