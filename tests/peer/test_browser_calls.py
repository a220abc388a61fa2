"""The Python peer against real Chromium (the test page in tests/peer/page), through coturn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from chinwag.client import ChinwagClient
from chinwag.peer.cli import EXIT_CODES
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.phone import DialOutcome, Phone
from tests.peer.support import (
    BrowserUser,
    FrameCounter,
    eventually,
    run_cli,
    start_cli,
)

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

OpenUser = Callable[..., Any]


async def media_rising(user: BrowserUser, frames: int = 20, samples: int = 20000) -> None:
    """Wait until the browser has decoded ``frames`` more video frames and ``samples`` audio."""
    start = await user.inbound()

    async def grown() -> dict[str, Any] | None:
        now = await user.inbound()
        video = now["framesDecoded"] >= start["framesDecoded"] + frames
        audio = now["totalSamplesReceived"] >= start["totalSamplesReceived"] + samples
        return now if video and audio else None

    await eventually(grown, f"{frames} frames and {samples} samples more than {start}")


async def test_browser_calls_the_echo_peer(url: str, open_browser_user: OpenUser) -> None:
    echo = await start_cli(
        "peer", "--server", url, "--name", "echo", "--echo", "--relay-only"
    )  # fmt: skip
    try:
        await echo.expect("waiting for calls")
        alice = await open_browser_user("alice")
        await alice.run("invite", "echo")

        # The browser decodes its own fake camera and microphone, sent back by the peer.
        await media_rising(alice)
        await media_rising(alice)
        stats = await alice.inbound()
        assert stats["frameWidth"] == 640
        assert any(c.startswith("local-candidate:relay") for c in stats["candidates"])

        await alice.run("hangUp")
        await echo.expect("alice hung up")
    finally:
        finished = await echo.stop()
    assert finished.returncode == EXIT_CODES["ok"], finished.output


async def test_peer_calls_a_browser_user_who_accepts(
    sign_in: Callable[[str], Any], open_browser_user: OpenUser
) -> None:
    dave = await open_browser_user("dave")
    client: ChinwagClient = await sign_in("robot")
    counter = FrameCounter()
    phone = Phone(client, lambda: CallMedia(MediaOptions(), (counter.consume,)), relay_only=True)
    running = asyncio.create_task(phone.run())
    try:
        assert await phone.dial("dave") is DialOutcome.ACCEPTED
        # track.recv() on the Python side returns the browser's fake-camera frames...
        await counter.rising("video", 20)
        await counter.rising("audio", 20)
        assert counter.sizes == {(640, 480)}
        # ...and the browser decodes the peer's moving test pattern and tone.
        await media_rising(dave)

        await phone.hang_up()

        async def browser_hung_up() -> bool:
            return not await dave.run("inCall")

        await eventually(browser_hung_up, "the browser to end the call")
    finally:
        running.cancel()
        counter.stop()


async def test_call_command_records_what_the_browser_sends(
    url: str, open_browser_user: OpenUser, tmp_path: Path
) -> None:
    erin = await open_browser_user("erin")
    recording = tmp_path / "erin.mkv"

    caller = await start_cli(
        "call", "erin", "--server", url, "--record", str(recording), "--relay-only"
    )  # fmt: skip
    try:
        await caller.expect("connected to erin")
        # The browser decodes 60 frames of the peer's pattern: the media path is up both
        # ways, so the peer records erin's camera meanwhile (however late media began).
        await media_rising(erin, frames=60)
    finally:
        result = await caller.stop()  # SIGTERM: the caller hangs up and closes the file

    assert result.returncode == EXIT_CODES["ok"], result.output
    assert "hung up" in result.output
    assert "video-offer" in await erin.run("received")
    with av.open(str(recording)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 480)
        times = [frame.time for frame in container.decode(video) if frame.time is not None]
    assert len(times) > 20, (times, result.output)
    assert max(times) - min(times) > 1.0, (times, result.output)


async def test_call_command_against_a_browser_that_declines(
    url: str, open_browser_user: OpenUser
) -> None:
    await open_browser_user("frank", answer="decline")

    result = await run_cli("call", "frank", "--server", url, "--relay-only")

    assert result.returncode == EXIT_CODES["declined"], result.output
    assert "frank declined" in result.output
