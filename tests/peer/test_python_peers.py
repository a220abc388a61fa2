"""Python peers with no browser: two phones through the server and coturn, and ``chinwag call``'s
outcomes against users who decline, are busy, do not answer or are not online."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection
from aiortc.contrib.media import MediaRecorder

from chinwag.client import CallDecline, CallInvite, ChinwagClient, HangUp, VideoAnswer
from chinwag.core.calls import CallState
from chinwag.peer.call import rtc_configuration
from chinwag.peer.cli import EXIT_CODES
from chinwag.peer.media import CallMedia, MediaOptions, TestPattern
from chinwag.peer.phone import DialOutcome, Phone
from chinwag.transport.server import ChinwagServer
from tests.peer.support import FrameCounter, eventually, run_cli, start_cli

pytestmark = pytest.mark.asyncio(loop_scope="session")

OpenPhone = Callable[..., Any]


@pytest_asyncio.fixture(loop_scope="session")
async def open_phone(
    sign_in: Callable[[str], Any],
) -> AsyncIterator[OpenPhone]:
    """Factory: a signed-in phone (relay only, via coturn) whose received frames are counted."""
    running: list[tuple[Phone, asyncio.Task[None], FrameCounter]] = []

    async def open_one(name: str, **media: Any) -> tuple[Phone, FrameCounter]:
        client: ChinwagClient = await sign_in(name)
        counter = FrameCounter()
        options = MediaOptions(**media)
        phone = Phone(client, lambda: CallMedia(options, (counter.consume,)), relay_only=True)
        running.append((phone, asyncio.create_task(phone.run()), counter))
        return phone, counter

    yield open_one
    for phone, task, counter in running:
        await phone.hang_up()
        task.cancel()
        counter.stop()


async def both_kinds_rise(*counters: FrameCounter) -> None:
    """Video and audio frames keep arriving at each of ``counters``."""
    for counter in counters:
        await counter.rising("video", 20)
        await counter.rising("audio", 20)


async def test_two_python_peers_call_each_other_through_the_relay(
    open_phone: OpenPhone, sign_in: Callable[[str], Any], server: ChinwagServer
) -> None:
    alice, alice_got = await open_phone("alice")
    bob, bob_got = await open_phone("bob", echo=True)

    assert await alice.dial("bob") is DialOutcome.ACCEPTED
    # Each side gets the other's media: bob the test pattern and tone, alice bob's echo of them.
    await both_kinds_rise(bob_got, alice_got)
    assert alice_got.sizes == {(640, 480)}

    # Media flows, so both said call-connected: the call is active for them and the server.
    async def both_active() -> bool:
        reported = server.lobby.received_types["call-connected"] >= 2
        return reported and alice.state is bob.state is CallState.ACTIVE

    await eventually(both_active, "both phones to report the call active")
    assert server.lobby.is_busy("alice") and server.lobby.partner_of("bob") == "alice"
    assert alice.call is not None and bob.call is not None
    for sdp in (alice.call.pc.localDescription.sdp, bob.call.pc.localDescription.sdp):
        assert "typ relay" in sdp and "typ host" not in sdp

    # A third caller finds both busy.
    carol = await sign_in("carol")
    with carol.subscribe() as events:
        await carol.invite("bob")
        async with asyncio.timeout(30):
            refusal = await events.wait_for(CallDecline)
    assert (refusal.name, refusal.reason) == ("bob", "busy")

    with bob.client.subscribe() as events:
        await alice.hang_up()
        async with asyncio.timeout(30):
            hang_up = await events.wait_for(HangUp)
    assert hang_up.name == "alice"
    async with asyncio.timeout(30):
        await bob.call_ended.wait()
    assert bob.line is None and alice.line is None

    # Both phones reported the call connected (call-report): counted once, when it ended.
    async def counted() -> bool:
        return server.metrics.calls["connected"] == 1

    await eventually(counted, "the server to count one connected call")
    assert server.lobby.received_types["call-report"] == 2
    assert server.metrics.calls["started"] == 1 and not server.metrics.calls_failed


async def test_an_echo_peer_that_dials_echoes_what_it_receives(open_phone: OpenPhone) -> None:
    """The echo makes the offer with nothing of its own to send (as when it renews a cut
    connection): the offer still carries audio and video, and the echo goes back on them."""
    _, alice_got = await open_phone("alice")
    echo, echo_got = await open_phone("echo", echo=True)

    assert await echo.dial("alice") is DialOutcome.ACCEPTED
    await both_kinds_rise(echo_got, alice_got)
    assert alice_got.sizes == {(640, 480)}  # alice's own test pattern, back from the echo


async def test_crossing_invites_make_one_call(open_phone: OpenPhone) -> None:
    anna, anna_got = await open_phone("anna")
    zoe, zoe_got = await open_phone("zoe")

    outcomes = await asyncio.gather(anna.dial("zoe"), zoe.dial("anna"))

    assert outcomes == [DialOutcome.ACCEPTED, DialOutcome.ACCEPTED]
    assert anna.call is not None and zoe.call is not None
    # The lower name accepted, so anna is the polite callee and zoe the impolite caller.
    assert (anna.call.polite, zoe.call.polite) == (True, False)
    await anna_got.rising("video", 10)
    await zoe_got.rising("video", 10)


async def _answer_invites_with(client: ChinwagClient, reason: str | None) -> CallInvite:
    """Wait for one invite and decline it with ``reason`` (None: let it ring)."""
    with client.subscribe() as events:
        async with asyncio.timeout(15):
            invite = await events.wait_for(CallInvite)
            if reason is not None:
                await client.decline(invite.name, reason)
    return invite


@pytest.mark.parametrize(("reason", "outcome"), [("declined", "declined"), ("busy", "busy")])
async def test_call_command_reports_a_refusal(
    url: str, sign_in: Callable[[str], Any], reason: str, outcome: str
) -> None:
    fay = await sign_in("fay")
    answering = asyncio.create_task(_answer_invites_with(fay, reason))

    result = await run_cli("call", "fay", "--server", url, "--name", "dialer", "--relay-only")

    assert (await answering).name == "dialer"
    assert result.returncode == EXIT_CODES[outcome], result.output
    assert outcome in result.output


async def test_call_command_gives_up_when_nobody_answers(
    url: str, sign_in: Callable[[str], Any]
) -> None:
    gus = await sign_in("gus")
    with gus.subscribe() as events:
        result = await run_cli("call", "gus", "--server", url, "--ring-timeout", "1")
        async with asyncio.timeout(20):
            await events.wait_for(CallInvite)
            cancel = await events.wait_for(HangUp)

    assert result.returncode == EXIT_CODES["no answer"], result.output
    assert "no answer" in result.output
    assert cancel.reason == "no-answer"


async def test_call_command_to_an_offline_user(url: str) -> None:
    result = await run_cli("call", "nobody-here", "--server", url)

    assert result.returncode == EXIT_CODES["no such user"], result.output
    assert "no such user" in result.output


async def test_call_command_without_a_server() -> None:
    result = await run_cli("call", "anyone", "--server", "http://127.0.0.1:9/")

    assert result.returncode == EXIT_CODES["error"], result.output
    assert "cannot sign in" in result.output


async def test_peer_plays_a_file_to_its_caller(
    url: str, open_phone: OpenPhone, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.webm"
    await record_test_pattern(clip, seconds=1.0)
    player = await start_cli(
        "peer", "--server", url, "--name", "tv", "--play", str(clip), "--loop", "--relay-only"
    )  # fmt: skip
    try:
        await player.expect("waiting for calls")
        viewer, seen = await open_phone("viewer")
        assert await viewer.dial("tv") is DialOutcome.ACCEPTED
        await seen.rising("video", 50)  # more than the clip holds (about 30): it loops
        assert seen.sizes == {(320, 240)}
        with viewer.client.subscribe() as events:
            finished = await player.stop()  # SIGTERM: the player hangs up, then exits
            async with asyncio.timeout(30):
                hang_up = await events.wait_for(HangUp)
    finally:
        finished = await player.stop()
    assert finished.returncode == EXIT_CODES["ok"], finished.output
    assert (hang_up.name, hang_up.reason) == ("tv", "hung-up")  # not the server's "gone"


async def record_test_pattern(path: Path, seconds: float) -> None:
    """Write a short VP8 clip of the moving test pattern (320x240) with PyAV."""
    recorder = MediaRecorder(str(path))
    recorder.addTrack(TestPattern(width=320, height=240))
    await recorder.start()
    await asyncio.sleep(seconds)
    await recorder.stop()


async def test_a_reference_callers_plain_offer_is_answered(url: str, open_phone: OpenPhone) -> None:
    await open_phone("kim")
    # A caller in the tutorial's style: no features, no invite, just a video-offer.
    caller = ChinwagClient(url, "tutorial", features=())
    await caller.connect()
    pc = RTCPeerConnection(rtc_configuration(caller.ice_servers))
    try:
        pc.addTrack(TestPattern())
        await pc.setLocalDescription(await pc.createOffer())
        with caller.subscribe() as events:
            await caller.offer("kim", pc.localDescription.sdp)
            async with asyncio.timeout(30):
                answer = await events.wait_for(VideoAnswer)
        assert answer.name == "kim"
        assert "m=video" in answer.sdp
    finally:
        await pc.close()
        await caller.close()
