"""What a call sends and what it does with what it receives (aiortc tracks).

Sources: a media file (:class:`aiortc.contrib.media.MediaPlayer`), or a
generated moving test pattern and a tone, or an echo of the caller's own
tracks (:class:`aiortc.contrib.media.MediaRelay`). Sinks: a recording
(:class:`aiortc.contrib.media.MediaRecorder`; the container follows the file
name: ``.mp4``, ``.webm``, ``.mkv``), and any number of extra consumers that
get their own copy of each received track.

Every received track is always read: aiortc queues decoded frames until
someone reads them, so an unread track would grow without bound.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaBlackhole, MediaPlayer, MediaRecorder, MediaRelay
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack
from av import AudioFrame, VideoFrame

from .holds import HeldTrack, Holds

__all__ = ["CallMedia", "MediaOptions", "TestPattern", "Tone"]

logger = logging.getLogger("chinwag.peer.media")

TrackConsumer = Callable[[MediaStreamTrack], None]


class TestPattern(VideoStreamTrack):
    """A moving test pattern: vertical grey bars that slide one step per frame."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, width: int = 640, height: int = 480, bar_width: int = 40) -> None:
        super().__init__()
        self.width = width
        self.height = height
        # One row of luma: dark and light bars; each frame shows it rotated a bit further.
        self._row = bytes(
            64 + 128 * ((x // bar_width) % 2) + (x * 63 // width) for x in range(width)
        )
        self._chroma = bytes([128]) * (width // 2 * height // 2)
        self._shift = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        self._shift = (self._shift + 4) % self.width
        row = self._row[self._shift :] + self._row[: self._shift]
        _fill_plane(frame.planes[0], row, self.height)
        for plane in frame.planes[1:]:
            _fill_plane(plane, self._chroma[: self.width // 2], self.height // 2)
        frame.pts = pts
        frame.time_base = time_base
        return frame


def _fill_plane(plane: object, row: bytes, rows: int) -> None:
    """Write ``row`` into every line of a plane, padding to its line size."""
    line_size: int = plane.line_size  # type: ignore[attr-defined]
    padded = row + bytes(line_size - len(row))
    plane.update(padded * rows)  # type: ignore[attr-defined]


class Tone(MediaStreamTrack):
    """A continuous sine tone (default 440 Hz), 20 ms frames of 48 kHz mono."""

    kind = "audio"
    sample_rate: Final = 48000
    frame_samples: Final = 960

    def __init__(self, frequency: float = 440.0, volume: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = int(32767 * volume)
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:  # pace frames in real time, as a microphone would
            await asyncio.sleep(self._start + self._sent / self.sample_rate - time.time())
        step = 2 * math.pi * self.frequency / self.sample_rate
        samples = array(
            "h",
            (
                int(self.amplitude * math.sin(step * (self._sent + i)))
                for i in range(self.frame_samples)
            ),
        )
        frame = AudioFrame(format="s16", layout="mono", samples=self.frame_samples)
        frame.planes[0].update(samples.tobytes())
        frame.pts = self._sent
        frame.sample_rate = self.sample_rate
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        self._sent += self.frame_samples
        return frame


@dataclass(frozen=True)
class MediaOptions:
    """How calls use media; one instance serves every call of a peer.

    ``echo`` sends each caller's own tracks back; otherwise ``play`` (a file)
    or, when it is None, a test pattern and a tone are sent. ``record``
    writes what is received (one file per call; a second call overwrites it).
    """

    echo: bool = False
    play: str | None = None
    loop: bool = False
    record: str | None = None
    audio: bool = True
    video: bool = True


class CallMedia:
    """The media of one call: tracks to send, and where received tracks go.

    Use: add :meth:`outgoing` tracks (not for echo), pass every received
    track to :meth:`incoming` and add the track it returns, if any; call
    :meth:`start` once the remote description is set and :meth:`stop` at the
    end of the call.
    """

    def __init__(
        self,
        options: MediaOptions,
        consumers: tuple[TrackConsumer, ...] = (),
        holds: Holds | None = None,
    ) -> None:
        self.options = options
        self._consumers = consumers
        self._holds = holds  # a host's mutes: what we send goes quiet while held
        self._relay = MediaRelay()
        self._recorder = MediaRecorder(options.record) if options.record else None
        self._discard = MediaBlackhole()
        self._player: MediaPlayer | None = None
        self._generated: list[MediaStreamTrack] = []
        self._started = False

    def outgoing(self) -> list[MediaStreamTrack]:
        """The tracks to send (empty for an echo: it sends what it receives)."""
        if self.options.echo:
            return []
        if self.options.play:
            self._player = MediaPlayer(self.options.play, loop=self.options.loop)
            tracks = [self._player.audio, self._player.video]
            return [self._held(t) for t in tracks if t is not None and self._wanted(t.kind)]
        if self.options.audio:
            self._generated.append(Tone())
        if self.options.video:
            self._generated.append(TestPattern())
        return [self._held(t) for t in self._generated]

    def _held(self, track: MediaStreamTrack) -> MediaStreamTrack:
        return track if self._holds is None else HeldTrack(track, self._holds)

    def echoed(self) -> list[str]:
        """The kinds an echo sends back once it receives them (none unless echoing).

        An echo that makes the offer (it dialed, or renews a cut connection) has no
        tracks yet, so its offer carries a ``sendrecv`` transceiver per kind instead;
        the echoed track takes it over when it arrives, with no renegotiation.
        """
        return [k for k in ("audio", "video") if self.options.echo and self._wanted(k)]

    def _wanted(self, kind: str) -> bool:
        return self.options.audio if kind == "audio" else self.options.video

    def incoming(self, track: MediaStreamTrack) -> MediaStreamTrack | None:
        """Route a received track to its sinks; return the track to send back, if echoing."""
        logger.info("receiving %s", track.kind)
        if self._recorder is not None and not self._started:
            self._recorder.addTrack(self._relay.subscribe(track))
        else:  # a container's streams are fixed once it is written, so late tracks are read only
            self._discard.addTrack(self._relay.subscribe(track))
        for consume in self._consumers:
            consume(self._relay.subscribe(track))
        if self.options.echo:
            return self._held(self._relay.subscribe(track, buffered=False))
        return None

    async def start(self) -> None:
        """Start reading what is received; call after each negotiation (it is idempotent)."""
        if not self._started and self._recorder is not None:
            await self._recorder.start()
        self._started = True
        await self._discard.start()  # starts only the tracks it has not started yet

    async def stop(self) -> None:
        """Finish the recording and stop every source."""
        if self._recorder is not None:
            await self._recorder.stop()
            self._recorder = None
        await self._discard.stop()
        for track in self._generated:
            track.stop()
        if self._player is not None:
            for player_track in (self._player.audio, self._player.video):
                if player_track is not None:
                    player_track.stop()
