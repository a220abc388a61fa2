"""A host's mute on a real Janus: the stream stops reaching the others whatever the
muted client does, stays stopped when it publishes again, and flows after it unmutes.

chinwag's core (the lobby, called directly as in tests/unit/test_lobby_sfu.py)
and its SFU link drive a real Janus; ben publishes a tone from aiortc, cat
receives through its subscription, ann (who opened the room: its host) mutes.
Ben's client never stops sending: only Janus's ``moderate`` can hold it back.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from chinwag.core.effects import SfuModerate
from chinwag.peer.media import Tone
from chinwag.sfu.link import SfuLink
from tests.janus import Janus
from tests.unit.test_lobby import sent
from tests.unit.test_lobby_sfu import Call

#: Seconds for media or an answer to arrive on a busy machine.
DEADLINE = 60.0
#: A stream that has not moved for this long (while its sender sends) is held back.
STILL = 3.0


class Pipeline:
    """The lobby's effects carried out by a real SfuLink; messages to people kept."""

    def __init__(self, janus: Janus) -> None:
        self.call = Call(mesh_max=1)
        self.inbox: dict[str, list[dict[str, Any]]] = {}
        self.arrived = asyncio.Event()
        self.link = SfuLink([janus.url], janus.secret, self.call.lobby, self.apply)
        self.moderated: list[SfuModerate] = []

    def apply(self, effects: Any) -> None:
        effects = list(effects)
        for name, conn in self.call.conns.items():
            self.inbox.setdefault(name, []).extend(sent(effects, conn))
        for effect in effects:
            if isinstance(effect, SfuModerate):
                self.moderated.append(effect)
            self.link.carry(effect)
        self.arrived.set()

    def say(self, who: str, **fields: Any) -> None:
        self.apply(self.call.say(who, **fields))

    async def next(self, who: str, kind: str) -> dict[str, Any]:
        """The next ``kind`` message to ``who`` (taken out of its inbox)."""

        async def wait() -> dict[str, Any]:
            while True:
                for message in self.inbox.get(who, []):
                    if message["type"] == kind:
                        self.inbox[who].remove(message)
                        return message
                    assert message["type"] != "error", message
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), DEADLINE)


async def publish(pipeline: Pipeline, who: str) -> tuple[RTCPeerConnection, dict[str, Any]]:
    """``who`` publishes a tone from aiortc; the connection and the ``sfu-published``."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(Tone(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    pipeline.say(who, type="sfu-publish", description=offer)
    published = await pipeline.next(who, "sfu-published")
    answer = published["description"]
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return pc, published


async def answer_offers(pipeline: Pipeline, who: str, pc: RTCPeerConnection) -> None:
    """Answer every ``sfu-offer`` of ``who``'s subscription, as the web client does."""
    while True:
        offer = (await pipeline.next(who, "sfu-offer"))["description"]
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"type": "answer", "sdp": pc.localDescription.sdp}
        pipeline.say(who, type="sfu-answer", description=answer)


async def audio_packets(pc: RTCPeerConnection, direction: str) -> int:
    """Audio RTP packets ``pc`` received (``inbound-rtp``) or sent (``outbound-rtp``)."""
    counted = "packetsReceived" if direction == "inbound-rtp" else "packetsSent"
    report = await pc.getStats()
    return sum(
        getattr(stat, counted)
        for stat in report.values()
        if stat.type == direction and stat.kind == "audio"
    )


async def rising(pc: RTCPeerConnection, direction: str, by: int = 50) -> None:
    """Wait until ``pc``'s audio packets count rises by ``by``."""
    start = await audio_packets(pc, direction)
    async with asyncio.timeout(DEADLINE):
        while True:  # getStats has no event to wait on: sample it
            if await audio_packets(pc, direction) >= start + by:
                return
            await asyncio.sleep(0.2)


async def held_back(receiver: RTCPeerConnection, sender: RTCPeerConnection) -> None:
    """Wait until ``receiver`` gets no audio for STILL seconds while ``sender`` sends."""
    async with asyncio.timeout(DEADLINE):
        while True:
            received = await audio_packets(receiver, "inbound-rtp")
            sending = await audio_packets(sender, "outbound-rtp")
            await asyncio.sleep(STILL)  # the window in which nothing may arrive
            if await audio_packets(receiver, "inbound-rtp") == received:
                # 50 packets a second: the sender really sent through the window.
                assert await audio_packets(sender, "outbound-rtp") >= sending + 100
                return


async def test_a_hosts_mute_is_enforced_at_janus_until_the_person_unmutes(
    janus: Janus,
) -> None:
    pipeline = Pipeline(janus)
    pipeline.call.seat("ann", "ben", "cat")  # ann opened the room: she is its host
    await pipeline.link.start()
    listener = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pcs = [listener]
    answering = asyncio.create_task(answer_offers(pipeline, "cat", listener))
    try:
        sender, published = await publish(pipeline, "ben")
        pcs.append(sender)
        assert "muted" not in published
        pipeline.say("cat", type="sfu-subscribe")
        await rising(listener, "inbound-rtp")

        pipeline.say("ann", type="mute", target="ben", kind="audio")
        assert [m.name for m in pipeline.moderated] == ["ben"]
        await held_back(listener, sender)

        # Ben publishes again (a reload, sfu-moved): the new stream is held back too.
        await sender.close()
        sender, published = await publish(pipeline, "ben")
        pcs.append(sender)
        assert published["muted"] == ["audio"]  # so ben's page shows the mic off
        await rising(sender, "outbound-rtp", by=100)
        await held_back(listener, sender)

        pipeline.say("ben", type="sfu-unmute", kind="audio")  # as in Meet: his own choice
        await rising(listener, "inbound-rtp")
    finally:
        answering.cancel()
        for pc in pcs:
            await pc.close()
        await pipeline.link.stop()
