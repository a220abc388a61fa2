"""Keyframe requests while a recording has saved no video frame (``keyframes_until_recorded``).

The folder and its files are real; the request is a function that notes which
feed was asked (on a real Janus it is a publisher ``configure`` with
``keyframe``, exercised by the browser recording test).
"""

from __future__ import annotations

from pathlib import Path

from chinwag.sfu.janus import JanusLost
from chinwag.sfu.recorder import keyframes_until_recorded

HEADER = b"MJR00002"  # all Janus writes before the first saved frame


def mjr(folder: Path, feed: int, kind: str, content: bytes) -> Path:
    path = folder / f"videoroom-7-user-{feed}-1000-{kind}-{1 if kind == 'video' else 0}.mjr"
    path.write_bytes(content)
    return path


async def test_asks_until_every_video_has_a_frame(tmp_path: Path) -> None:
    empty = mjr(tmp_path, 1, "video", HEADER)
    mjr(tmp_path, 1, "audio", HEADER)  # audio needs no keyframe
    mjr(tmp_path, 2, "video", HEADER + b"x" * 2000)  # already recording
    asked: list[str] = []

    async def ask(feed: str) -> None:
        asked.append(feed)
        if len(asked) == 2:  # the second request is answered with a keyframe
            empty.write_bytes(HEADER + b"frame" * 100)

    assert await keyframes_until_recorded(tmp_path, ask, interval=0.01) == set()
    assert asked == ["1", "1"]


async def test_gives_up_after_its_rounds_and_says_who_has_no_frame(tmp_path: Path) -> None:
    mjr(tmp_path, 3, "video", HEADER)
    asked: list[str] = []

    async def ask(feed: str) -> None:
        asked.append(feed)

    assert await keyframes_until_recorded(tmp_path, ask, rounds=4, interval=0.01) == {"3"}
    assert asked == ["3"] * 4


async def test_stops_when_janus_is_lost(tmp_path: Path) -> None:
    mjr(tmp_path, 3, "video", HEADER)
    asked: list[str] = []

    async def ask(feed: str) -> None:
        asked.append(feed)
        raise JanusLost("gone")

    assert await keyframes_until_recorded(tmp_path, ask, interval=0.01) == {"3"}
    assert asked == ["3"]
