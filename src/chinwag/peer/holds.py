"""A host's mute, obeyed by the Python peer: silence or black in place of a held kind.

A host or moderator's ``mute`` (docs/protocol.md, "Mute, end the call, hands,
reactions") asks the muted participant to stop sending; the web client turns
the track off, and so does this peer: every track it sends goes through a
:class:`HeldTrack`, which passes frames on until a host holds its kind, then
sends silence (audio) or black (video) frames of the same shape and timing.
Keeping the track (rather than removing it) keeps every peer connection as
negotiated: nothing to renegotiate with each browser. The hold lasts for the
rest of the call: a bot has nobody to unmute it (``screen`` holds nothing, a
bot shares no screen). On the SFU, Janus also drops the stream whatever the
peer sends.
"""

from __future__ import annotations

from typing import Any

from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.packet import Packet

__all__ = ["HeldTrack", "Holds"]

BLACK_LUMA, NEUTRAL_CHROMA = 16, 128  # black in limited-range YUV


class Holds:
    """The kinds a host has muted for this peer, shared by every link of its call."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()

    def hold(self, kind: str) -> bool:
        """Hold ``kind`` ("audio", "video"; "screen" holds nothing); True if it changed."""
        if kind not in ("audio", "video") or kind in self.kinds:
            return False
        self.kinds.add(kind)
        return True

    def sending(self) -> dict[str, bool]:
        """What this peer sends now, as ``media-state`` says it."""
        return {"audio": "audio" not in self.kinds, "video": "video" not in self.kinds}


class HeldTrack(MediaStreamTrack):
    """``source``'s frames, or quiet ones of the same shape while its kind is held."""

    def __init__(self, source: MediaStreamTrack, holds: Holds) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._holds = holds

    async def recv(self) -> Frame | Packet[Any]:
        frame = await self._source.recv()
        if self.kind not in self._holds.kinds or not isinstance(frame, Frame):
            return frame
        return quiet(frame)


def quiet(frame: Frame) -> Frame:
    """A silent (audio) or black (video) frame with ``frame``'s size and timestamps."""
    if isinstance(frame, AudioFrame):
        silent = AudioFrame(
            format=frame.format.name, layout=frame.layout.name, samples=frame.samples
        )
        for sound in silent.planes:
            sound.update(bytes(sound.buffer_size))
        silent.sample_rate = frame.sample_rate
        still: Frame = silent
    elif isinstance(frame, VideoFrame):
        black = VideoFrame(width=frame.width, height=frame.height, format="yuv420p")
        for index, plane in enumerate(black.planes):
            value = BLACK_LUMA if index == 0 else NEUTRAL_CHROMA
            plane.update(bytes([value]) * plane.buffer_size)
        still = black
    else:
        return frame
    still.pts = frame.pts
    still.time_base = frame.time_base
    return still
