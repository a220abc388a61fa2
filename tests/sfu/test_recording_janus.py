"""Recording on a real Janus: an aiortc publisher, ``enable_recording``, janus-pp-rec, ffprobe.

This drives Janus through chinwag's own client and recorder (not through a
chinwag server): it proves that the configuration from ``janus-config``
lets the VideoRoom record into chinwag's data directory, and that a 5 s
recording comes out as playable files of about 5 s per stream.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from chinwag.cli import main
from chinwag.peer.media import TestPattern, Tone
from chinwag.sfu.janus import JanusError, JanusHandle, JanusSession
from chinwag.sfu.recorder import Recorder, start_recording, stop_recording
from chinwag.sfu.recordings import list_recordings, recording_id, streams_in
from tests.janus import VIDEOROOM, Janus

RECORDED_SECONDS = 5.0
#: Seconds the publisher may take to get media flowing into Janus on a busy machine.
MEDIA_DEADLINE = 60.0


def ffprobe(path: Path, entries: str) -> dict[str, Any]:
    """What ffprobe reads from the file's container (``-show_entries entries``)."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found: dict[str, Any] = json.loads(probe.stdout)
    return found


def duration(path: Path) -> float:
    """The file's duration in seconds, as ffprobe reads it from the container."""
    return float(ffprobe(path, "format=duration")["format"]["duration"])


def stream_kinds(path: Path) -> list[str]:
    return sorted(s["codec_type"] for s in ffprobe(path, "stream=codec_type")["streams"])


async def publish(
    session: JanusSession, room: int, feed: int, name: str
) -> tuple[RTCPeerConnection, asyncio.Event]:
    """An aiortc publisher (test pattern and tone) in ``room``; the event is set once
    Janus says it receives both audio and video."""
    receiving: set[str] = set()
    flowing = asyncio.Event()

    def on_event(_handle: JanusHandle, data: dict[str, Any], _jsep: Any) -> None:
        if data.get("janus") == "media" and data.get("receiving"):
            receiving.add(str(data.get("type")))
        if {"audio", "video"} <= receiving:
            flowing.set()

    handle = await session.attach(VIDEOROOM, on_event)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(Tone())
    pc.addTrack(TestPattern(320, 240))
    await pc.setLocalDescription(await pc.createOffer())
    reply = await handle.request(
        {"request": "joinandconfigure", "ptype": "publisher", "room": room, "id": feed,
         "display": name},
        {"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False},
    )  # fmt: skip
    assert reply.jsep is not None, reply.data
    await pc.setRemoteDescription(RTCSessionDescription(reply.jsep["sdp"], "answer"))
    return pc, flowing


async def test_a_five_second_recording_gives_five_second_files(
    janus: Janus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder(tmp_path / "recordings")
    finished: list[tuple[str, str, str]] = []  # what the recording.finished webhook is told
    recorder.finished = lambda *told: finished.append(told)
    room, room_secret, feed = secrets.randbelow(1 << 40) + 1, secrets.token_hex(8), 4711
    async with JanusSession(janus.url, janus.secret, timeout=20) as session:
        admin = await session.attach(VIDEOROOM)
        await admin.request(
            {"request": "create", "room": room, "secret": room_secret, "admin_key": janus.secret,
             "lock_record": True, "is_private": True}
        )  # fmt: skip
        pc, flowing = await publish(session, room, feed, "Zoë Ångström")
        try:
            await asyncio.wait_for(flowing.wait(), MEDIA_DEADLINE)
            since = int(time.time() * 1000)
            recording = recording_id("standup", since)
            folder = recorder.prepare(recording, "standup", since, "alice")
            await start_recording(admin, room, room_secret, folder)
            await asyncio.sleep(RECORDED_SECONDS)  # the length of the recording under test
            await stop_recording(admin, room, room_secret)
            stopped = int(time.time() * 1000)
        finally:
            await pc.close()
        manifest = await recorder.convert(recording, {str(feed): "Zoë Ångström"}, stopped)
        await recorder.close()

    assert folder.stat().st_mode & 0o077 == 0  # recordings are private
    kinds = sorted(stream.kind for stream in streams_in(folder))
    assert kinds == ["audio", "video"], sorted(p.name for p in folder.iterdir())
    assert manifest["state"] == "ready", manifest
    assert finished == [(recording, "standup", "ready")]
    for stream in streams_in(folder):  # each recorded stream, converted by janus-pp-rec
        seconds = duration(stream.playable)
        assert 4.0 <= seconds <= 6.0, (stream.playable.name, seconds)
    [person] = manifest["files"]  # and muxed into one file for the one person
    assert person["person"] == "Zoë Ångström" and person["kind"] == "audio+video"
    muxed = folder / person["file"]
    assert muxed.name == "Zoë_Ångström.webm"
    assert stream_kinds(muxed) == ["audio", "video"]
    assert 4.0 <= duration(muxed) <= 6.0
    [listed] = list_recordings(tmp_path / "recordings")
    assert listed["id"] == recording and listed["by"] == "alice" and listed["bytes"] > 10_000

    # The CLI finds it in the data directory, converts it again, and exports the playable file.
    # A second person whose video Janus saved no frame of, and whose audio is damaged, is
    # listed as missing (who, which, why); the first person's file is still made.
    data = ["--data-dir", str(tmp_path)]
    muxed.unlink()
    blank = folder / f"videoroom-{room}-user-99-{since}-video-1.mjr"
    blank.write_bytes(b"MJR00002")  # what Janus leaves when no keyframe ever came
    (folder / f"videoroom-{room}-user-99-{since}-audio-0.mjr").write_bytes(b"MJR00002" + b"!" * 64)
    manifest_file = folder / "recording.json"
    manifest_file.write_text(
        manifest_file.read_text().replace('"people": {', '"people": {"99": "Ben", ')
    )
    assert await asyncio.to_thread(main, ["recordings", "convert", recording, *data]) == 0
    assert 4.0 <= duration(muxed) <= 6.0
    converted = json.loads(manifest_file.read_text())
    assert converted["state"] == "ready", converted
    assert [f["person"] for f in converted["files"]] == ["Zoë Ångström"]
    missing = sorted((m["person"], m["feed"], m["kind"]) for m in converted["missing"])
    assert missing == [("Ben", "99", "audio"), ("Ben", "99", "video")], converted
    [no_video] = [m for m in converted["missing"] if m["kind"] == "video"]
    assert "no frame" in no_video["reason"]
    assert main(["recordings", "list", *data]) == 0
    listed_lines = capsys.readouterr().out
    assert "  missing: Ben's video: Janus saved no frame" in listed_lines, listed_lines
    assert main(["recordings", "export", recording, str(tmp_path / "out"), *data]) == 0
    exported = sorted(p.name for p in (tmp_path / "out" / recording).iterdir())
    assert exported == sorted([muxed.name, "recording.json"])


async def test_recording_can_only_be_switched_with_the_room_secret(janus: Janus) -> None:
    room, room_secret = secrets.randbelow(1 << 40) + 1, secrets.token_hex(8)
    async with JanusSession(janus.url, janus.secret) as session:
        admin = await session.attach(VIDEOROOM)
        await admin.request(
            {"request": "create", "room": room, "secret": room_secret, "admin_key": janus.secret,
             "lock_record": True}
        )  # fmt: skip
        with pytest.raises(JanusError) as refused:
            await stop_recording(admin, room, "a-guess")
        assert refused.value.code == 433  # JANUS_VIDEOROOM_ERROR_UNAUTHORIZED
