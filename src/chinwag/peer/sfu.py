"""The aiortc peer in a room call on the SFU: one connection to send, one to receive.

When ``room-call`` says ``"mode": "sfu"`` (docs/protocol.md, "Room calls on an
SFU"), the peer publishes its tracks once (``sfu-publish``; aiortc sends one
layer, no simulcast), then subscribes (``sfu-subscribe``) and answers every
``sfu-offer`` on one receive-only connection; each received track goes to the
call's media (recorded, echoed or discarded as the options say). Candidates
travel in the SDP: aiortc gathers before it sends a description.

Both connections use ``max-bundle``: Janus bundles every m-line on one
transport anyway, and aiortc's default (``balanced``) loses media when one
offer brings several new m-lines of a kind (a subscription to two or more
people at once). aiortc then gives the second and later video m-lines the
transport of the first one *before* BUNDLE moves that first one onto the
shared transport, and leaves them on the discarded one: their receivers never
start, and their packets, whose SSRCs the router does not know, are taken by
the one started receiver of that payload type (decoded as one garbled stream,
"Invalid data found when processing input") or dropped. With ``max-bundle``
every m-line after the first takes the first one's transport, which is the
bundle's.

The subscriber also declines RTX (RFC 4588) in Janus's offers: aiortc
routes a packet by its SSRC, and registers only each m-line's media SSRC, not
its RTX one; an RTX packet is then routed by payload type, which every video
m-line of the subscription shares, so it is dropped and no lost packet is ever
recovered (the receiver waits until its jitter buffer overflows, then asks for
a key frame). Without RTX, Janus answers a NACK by sending the original packet
again, on the media SSRC, which aiortc routes and uses.

Once someone's media arrives through the SFU the peer says so to them
(``media-state`` with ``receiving: "sfu"``), so a browser closes its mesh
link to the peer. The peer itself drops its mesh links at once when the call
moves (a bot's picture may freeze for a moment; a person's does not).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from ..client import ChinwagClient
from .media import CallMedia

__all__ = ["RoomSfu", "without_rtx"]

logger = logging.getLogger("chinwag.peer.sfu")


class RoomSfu:
    """This peer's publisher and subscriber in an SFU room call."""

    def __init__(
        self,
        client: ChinwagClient,
        media: Callable[[], CallMedia],
        configuration: Callable[[], RTCConfiguration],
    ) -> None:
        self.client = client
        self._new_media = media
        self._configuration = configuration
        self.media: CallMedia | None = None
        self.publisher: RTCPeerConnection | None = None
        self.subscriber: RTCPeerConnection | None = None
        self.mids: dict[str, tuple[str, str]] = {}  # subscriber mid -> (name, kind)
        self.receiving: set[str] = set()  # names whose media arrived through the SFU
        self._turn = asyncio.Lock()

    async def publish(self) -> None:
        """Send our tracks to the SFU (again, after ``sfu-moved``)."""
        async with self._turn:
            await self._close_connections()
            self.media = self._new_media()
            pc = self.publisher = RTCPeerConnection(self._bundled())
            outgoing = self.media.outgoing()
            for track in outgoing:
                pc.addTransceiver(track, direction="sendonly")
            for kind in {"audio", "video"} - {t.kind for t in outgoing}:
                pc.addTransceiver(kind, direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            await self._send_description("sfu-publish", pc)
            logger.info("sfu: publishing %d track(s)", len(outgoing))

    async def handle(self, message: Mapping[str, Any]) -> None:
        """One ``sfu-*`` message from the server (see the module docstring)."""
        kind = message.get("type")
        description = message.get("description")
        async with self._turn:
            if kind == "sfu-published" and isinstance(description, dict):
                if self.publisher is not None:
                    await self.publisher.setRemoteDescription(_description(description))
                    if self.media is not None:
                        await self.media.start()
                    await self.client.send({"type": "sfu-subscribe"})
            elif kind == "sfu-offer" and isinstance(description, dict):
                await self._answer(message, description)
        if kind == "sfu-moved":
            logger.info("sfu: the media server changed; publishing again")
            await self.publish()

    async def close(self) -> None:
        async with self._turn:
            await self._close_connections()

    async def _answer(self, message: Mapping[str, Any], description: dict[str, Any]) -> None:
        streams = message.get("streams")
        self.mids = {
            str(s.get("mid")): (str(s.get("name")), str(s.get("kind")))
            for s in (streams if isinstance(streams, list) else [])
            if isinstance(s, dict)
        }
        if message.get("fresh") and self.subscriber is not None:  # a new subscription
            await self.subscriber.close()
            self.subscriber = None
        if self.subscriber is None:
            self.subscriber = RTCPeerConnection(self._bundled())
            self.subscriber.on("track", self._on_track)
        pc = self.subscriber
        offer = {"type": description["type"], "sdp": without_rtx(str(description["sdp"]))}
        await pc.setRemoteDescription(_description(offer))
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send_description("sfu-answer", pc)

    def _bundled(self) -> RTCConfiguration:
        """The peer's configuration with every m-line on one transport (module docstring)."""
        return dataclasses.replace(self._configuration(), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)

    def sender_of(self, track: MediaStreamTrack) -> str:
        """Whose media a received track carries ("" if it is not one of the subscription's)."""
        pc = self.subscriber
        mid = next(
            (t.mid for t in (pc.getTransceivers() if pc else []) if t.receiver.track is track),
            None,
        )
        return self.mids.get(str(mid), ("", ""))[0]

    def _on_track(self, track: MediaStreamTrack) -> None:
        name = self.sender_of(track)
        logger.info("sfu: receiving %s from %s", track.kind, name or "?")
        if self.media is not None:
            self.media.incoming(track)
        if name and name not in self.receiving:
            self.receiving.add(name)
            state = {"type": "media-state", "target": name, "receiving": "sfu"}
            asyncio.get_running_loop().create_task(self.client.send(state))

    async def _send_description(self, kind: str, pc: RTCPeerConnection) -> None:
        local = pc.localDescription
        description = {"type": local.type, "sdp": local.sdp}
        await self.client.send({"type": kind, "description": description})

    async def _close_connections(self) -> None:
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()
        self.publisher = self.subscriber = None
        self.receiving.clear()
        if self.media is not None:
            await self.media.stop()
            self.media = None


def _description(description: Mapping[str, Any]) -> RTCSessionDescription:
    return RTCSessionDescription(sdp=str(description["sdp"]), type=str(description["type"]))


def without_rtx(sdp: str) -> str:
    """``sdp`` with every RTX payload type and RTX SSRC taken out (see the module docstring)."""
    lines = sdp.splitlines()
    rtx_types = {
        line[len("a=rtpmap:") :].split()[0]
        for line in lines
        if line.startswith("a=rtpmap:") and " rtx/" in line
    }
    groups = [line.split()[1:] for line in lines if line.startswith("a=ssrc-group:FID ")]
    rtx_ssrcs = {group[1] for group in groups if len(group) > 1}  # FID: media SSRC, then RTX
    kept: list[str] = []
    for line in lines:
        if line.startswith("m="):
            fields = line.split()
            kept.append(" ".join(fields[:3] + [f for f in fields[3:] if f not in rtx_types]))
        elif not _about_rtx(line, rtx_types, rtx_ssrcs):
            kept.append(line)
    return "\r\n".join(kept) + "\r\n"


def _about_rtx(line: str, rtx_types: set[str], rtx_ssrcs: set[str]) -> bool:
    """Whether an SDP attribute line describes an RTX payload type, SSRC or SSRC group."""
    name, _, value = line.partition(":")
    first = value.split()[0] if value.split() else ""
    if name in ("a=rtpmap", "a=fmtp", "a=rtcp-fb"):
        return first in rtx_types
    if name == "a=ssrc-group":
        return first == "FID"
    return name == "a=ssrc" and first in rtx_ssrcs
