"""Recordings of SFU calls on disk: the folder Janus writes into, playable files, the manifest.

One recording is one folder, ``data_dir/recordings/<id>``, with ``<id>`` =
``<UTC start>-<room>-<hash>`` (the hash keeps two rooms whose names clean to
the same text apart). While it runs, Janus's VideoRoom writes one ``.mjr``
file per stream there (``videoroom-<room>-user-<feed>-<ms>-<audio|video>-<mindex>.mjr``).
When it stops, :func:`finish` turns each into a playable file with
``janus-pp-rec`` (``.opus`` for audio, ``.webm`` for video), then, if ffmpeg is
installed, muxes each person's audio and video into one ``<person>.webm``.
The conversions run as child processes, at most :data:`JOBS` at once and
each within :data:`CONVERT_TIMEOUT`, so the event loop never waits on them.

``recording.json`` (the manifest) says which room, who started it and when,
when it stopped, whose feed each file is, and its ``state``: ``recording``,
``converting``, ``ready`` or ``failed`` (with ``error``). A stream that gives
no playable file (Janus saved none of its frames, or its conversion failed)
does not fail the others: it is listed under ``missing`` with the person,
the kind and why. The recording is ``failed`` only when no stream could be
made playable. The ``.mjr`` files are kept until the recording is purged:
they are the originals.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "CONVERT_TIMEOUT",
    "JOBS",
    "MANIFEST",
    "MJR_HEADER",
    "Stream",
    "finish",
    "list_recordings",
    "read_manifest",
    "recording_id",
    "start_manifest",
]

log = logging.getLogger("chinwag.sfu.recordings")

MANIFEST: Final = "recording.json"
#: Conversions running at once (each is one janus-pp-rec or ffmpeg process).
JOBS: Final = 2
#: Seconds one conversion may take before it is killed (and the recording marked failed).
CONVERT_TIMEOUT: Final = 600.0
_MJR: Final = re.compile(
    r"videoroom-(?P<room>[^-]+)-user-(?P<feed>[^-]+)-(?P<ms>\d+)-(?P<kind>audio|video|data)-(?P<mindex>\d+)\.mjr"
)
_EXTENSION: Final = {"audio": ".opus", "video": ".webm"}
#: Bytes of an ``.mjr`` that holds no frame yet (the magic Janus writes when it opens the
#: file; its info header comes with the first saved frame).
MJR_HEADER: Final = 8


@dataclass(frozen=True)
class Stream:
    """One recorded stream: its ``.mjr`` original and whose feed it was."""

    mjr: Path
    feed: str
    kind: str  # audio or video

    @property
    def playable(self) -> Path:
        return self.mjr.with_suffix(_EXTENSION[self.kind])


def recording_id(room: str, since_ms: int) -> str:
    """The folder name of the recording of ``room`` (its key) started at ``since_ms``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(since_ms / 1000))
    slug = re.sub(r"[^a-z0-9]+", "-", room.lower()).strip("-")[:32] or "lobby"
    digest = hashlib.sha256(f"{room}\0{since_ms}".encode()).hexdigest()[:8]
    return f"{stamp}-{slug}-{digest}"


def start_manifest(folder: Path, room: str, since_ms: int, by: str) -> None:
    """Create the recording's folder (Janus writes into it) and its manifest.

    Folders are private to chinwag's user (and Janus, run as the same user):
    a recording is what people said.
    """
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    _write_manifest(
        folder,
        {"id": folder.name, "room": room, "since": since_ms, "by": by, "state": "recording"},
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the recording in ``folder`` (``{}`` if it has none or it is unreadable)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    temporary = folder / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    temporary.replace(folder / MANIFEST)


def streams_in(folder: Path) -> list[Stream]:
    """The audio and video ``.mjr`` files Janus wrote in ``folder``, in name order."""
    found = []
    for path in sorted(folder.glob("*.mjr")):
        match = _MJR.fullmatch(path.name)
        if match is not None and match["kind"] in _EXTENSION:
            found.append(Stream(path, match["feed"], match["kind"]))
    return found


async def finish(
    folder: Path,
    people: Mapping[str, str],
    *,
    stopped_ms: int | None = None,
    jobs: int = JOBS,
    per_process: float = CONVERT_TIMEOUT,
) -> dict[str, Any]:
    """Make the recording in ``folder`` playable; its manifest, as written.

    ``people`` maps feed ids (as text) to names. Never raises for a failed
    conversion: a stream without a playable file is listed under ``missing``
    (person, feed, kind, reason); the ``state`` is ``failed`` (with ``error``)
    only when nothing could be made playable.
    """
    manifest = read_manifest(folder) or {"id": folder.name}
    manifest.update(
        state="converting",
        until=stopped_ms if stopped_ms is not None else int(time.time() * 1000),
        people={**manifest.get("people", {}), **people},
    )
    _write_manifest(folder, manifest)
    limit = asyncio.Semaphore(jobs)
    streams = streams_in(folder)
    try:
        why_not = await asyncio.gather(*(_convert(limit, per_process, s) for s in streams))
        playable = [stream for stream, why in zip(streams, why_not, strict=True) if why is None]
        files = await _mux_people(folder, playable, manifest["people"], limit, per_process)
    except (OSError, RuntimeError) as error:
        manifest.update(state="failed", error=str(error))
        log.error("recording %s: conversion failed: %s", folder.name, error)
    else:
        missing = [
            {"person": _person(manifest["people"], s.feed), "feed": s.feed, "kind": s.kind}
            | {"reason": why}
            for s, why in zip(streams, why_not, strict=True)
            if why is not None
        ]
        manifest.update(state="ready", files=files, missing=missing)
        for gap in missing:
            log.warning(
                "recording %s: no %s of %s: %s",
                folder.name, gap["kind"], gap["person"], gap["reason"],
            )  # fmt: skip
        if streams and not files:
            manifest.update(state="failed", error="no stream could be made playable")
        log.info("recording %s: %d file(s) ready", folder.name, len(files))
    _write_manifest(folder, manifest)
    return manifest


def _person(people: Mapping[str, str], feed: str) -> str:
    return people.get(feed, f"feed-{feed}")


async def _convert(limit: asyncio.Semaphore, per_process: float, stream: Stream) -> str | None:
    """Turn one ``.mjr`` into its playable file; why there is none (None: there is one).

    Raises OSError only when janus-pp-rec cannot be run at all (every stream would fail).
    """
    if stream.mjr.stat().st_size <= MJR_HEADER:
        return "Janus saved no frame of it (no media, or no keyframe, reached the recording)"
    try:
        await _run(limit, per_process, "janus-pp-rec", str(stream.mjr), str(stream.playable))
    except RuntimeError as error:
        return str(error)
    if not stream.playable.is_file() or stream.playable.stat().st_size == 0:
        return "janus-pp-rec found nothing playable in it"
    return None


async def _mux_people(
    folder: Path,
    streams: list[Stream],
    people: Mapping[str, str],
    limit: asyncio.Semaphore,
    per_process: float,
) -> list[dict[str, Any]]:
    """One file per feed: audio and video muxed with ffmpeg when both are playable and ffmpeg
    is installed (and succeeds), else the converted stream files themselves. Each entry names
    its person."""
    by_feed: dict[str, list[Stream]] = {}
    for stream in streams:
        by_feed.setdefault(stream.feed, []).append(stream)
    files: list[dict[str, Any]] = []
    taken: set[str] = set()
    for feed, own in by_feed.items():
        person = _person(people, feed)
        kinds = {stream.kind: stream for stream in own}
        if len(own) == 2 and set(kinds) == {"audio", "video"} and shutil.which("ffmpeg"):
            target = folder / _unique(_safe(person), ".webm", taken)
            try:
                await _run(
                    limit, per_process, "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
                    "-i", str(kinds["video"].playable), "-i", str(kinds["audio"].playable),
                    "-map", "0:v", "-map", "1:a", "-c", "copy", str(target),
                )  # fmt: skip
            except RuntimeError as error:  # the two files stand alone instead
                log.warning("recording %s: %s's files stay apart: %s", folder.name, person, error)
            else:
                files.append(
                    {"person": person, "feed": feed, "kind": "audio+video", "file": target.name}
                )
                continue
        for stream in own:
            files.append(
                {"person": person, "feed": feed, "kind": stream.kind, "file": stream.playable.name}
            )
    return files


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._")
    return cleaned[:48] or "person"


def _unique(stem: str, suffix: str, taken: set[str]) -> str:
    candidate, n = stem + suffix, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}{suffix}", n + 1
    taken.add(candidate)
    return candidate


async def _run(limit: asyncio.Semaphore, per_process: float, *command: str) -> None:
    """Run one conversion, no more than ``limit`` at once; RuntimeError if it fails."""
    async with limit:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            _, errors = await asyncio.wait_for(process.communicate(), per_process)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(f"{command[0]} took over {per_process:.0f} s") from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
    if process.returncode != 0:
        said = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"{command[0]} exited with {process.returncode}: {said[0]}")


def list_recordings(root: Path) -> list[dict[str, Any]]:
    """Every recording under ``root`` (newest first): its manifest plus ``bytes`` on disk."""
    found = []
    for folder in sorted(root.iterdir() if root.is_dir() else [], reverse=True):
        if not folder.is_dir():
            continue
        manifest = read_manifest(folder) or {"id": folder.name, "state": "unknown"}
        manifest["bytes"] = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        found.append(manifest)
    return found
