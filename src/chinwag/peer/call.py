"""One WebRTC call with one remote user, negotiated over a chinwag client.

aiortc's limits (as of aiortc 1.16) decide the shape of this module:

* No trickle from our side: ``setLocalDescription`` gathers every candidate
  and puts them in the SDP, so we never send ``new-ice-candidate``.
* Trickled candidates *from* the browser are parsed with
  ``aiortc.sdp.candidate_from_sdp`` and applied; those that arrive before the
  remote description are held until it is set.
* No rollback: perfect negotiation's polite side would need it. The callee is
  polite by the protocol, and this peer as callee never offers, so no glare
  can reach it; as caller it is impolite and ignores a crossing offer. In a
  room call the peer declares ``no-rollback``, which makes it the impolite
  side of every pair (``peer/mesh.py``).
* The same machinery serves one-to-one calls (``video-offer``/``-answer``)
  and room calls (``room-signal``): only :class:`Signaling` differs.
* Never a public STUN server: the configuration is always explicit, built
  from the server's ``ice-servers``.
* No ICE restart: an offer that changes the remote ICE credentials (the
  browser restarting ICE after a cut path) is not applied; it sets
  ``restart_wanted``, and the phone renegotiates a new connection instead
  (docs/python.md, "A cut path").
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from ..client import (
    ChinwagClient,
    Event,
    IceCandidate,
    IceServers,
    RoomSignal,
    VideoAnswer,
    VideoOffer,
)
from .media import CallMedia

__all__ = ["Call", "RoomSignaling", "Signaling", "rtc_configuration"]

logger = logging.getLogger("chinwag.peer.call")


def rtc_configuration(servers: IceServers | None, relay_only: bool = False) -> RTCConfiguration:
    """The RTCConfiguration for the server's ``ice-servers`` (an empty list when none).

    ``relay_only`` uses TURN relays only; with a TURN server on loopback this
    is how two aiortc peers on one machine meet, since aioice never offers
    loopback host candidates.
    """
    ice_servers = [
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in (servers.servers if servers else ())
    ]
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=ice_servers, iceTransportPolicy=policy)


class Signaling:
    """How a call's descriptions reach ``remote``: the tutorial's one-to-one messages."""

    def __init__(self, client: ChinwagClient, remote: str) -> None:
        self.client = client
        self.remote = remote

    async def offer(self, sdp: str) -> None:
        await self.client.offer(self.remote, sdp)

    async def answer(self, sdp: str) -> None:
        await self.client.answer(self.remote, sdp)


class RoomSignaling(Signaling):
    """Descriptions as ``room-signal`` messages, to one other participant of a room call."""

    async def offer(self, sdp: str) -> None:
        await self.client.room_signal(self.remote, description=("offer", sdp))

    async def answer(self, sdp: str) -> None:
        await self.client.room_signal(self.remote, description=("answer", sdp))


class Call:
    """A peer connection with ``remote``: offers, answers and candidates.

    The caller (``polite=False``) calls :meth:`start` to add its tracks and
    send the first offer. Both sides pass every signaling event from
    ``remote`` to :meth:`handle`. ``ended`` is set when the connection fails
    or closes; :meth:`close` ends it from this side.
    """

    def __init__(
        self,
        client: ChinwagClient,
        remote: str,
        *,
        polite: bool,
        media: CallMedia,
        configuration: RTCConfiguration,
        signaling: Signaling | None = None,
    ) -> None:
        self.client = client
        self.remote = remote
        self.signaling = signaling or Signaling(client, remote)
        self.polite = polite
        self.media = media
        self.pc = RTCPeerConnection(configuration)
        self.ended = asyncio.Event()
        self.connected = asyncio.Event()
        self.restart_wanted = asyncio.Event()
        self._tracks_added = False
        self._pending_candidates: list[IceCandidate] = []
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        echo = self.media.incoming(track)
        if echo is not None:
            self.pc.addTrack(echo)  # reuses the transceiver the offer created

    async def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        logger.info("call with %s: connection %s", self.remote, state)
        if state == "connected":
            self.connected.set()
        elif state in ("failed", "closed"):
            self.ended.set()

    def _add_outgoing_tracks(self, answering: bool) -> None:
        if self._tracks_added:
            return
        self._tracks_added = True
        # An answer cannot add media the offer lacks; such tracks are not sent.
        offered = {t.kind for t in self.pc.getTransceivers()} if answering else None
        for track in self.media.outgoing():
            if offered is None or track.kind in offered:
                self.pc.addTrack(track)
            else:
                track.stop()

    async def start(self) -> None:
        """As caller: add our tracks and send the first offer."""
        self._add_outgoing_tracks(answering=False)
        for kind in self.media.echoed():  # an offer with no m= section is refused
            self.pc.addTransceiver(kind, direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.signaling.offer(self.pc.localDescription.sdp)

    async def handle(self, event: Event) -> None:
        """Apply one signaling event from ``remote`` (offer, answer or candidate)."""
        if isinstance(event, RoomSignal):
            if event.candidate is not None:
                await self._on_candidate(event.candidate)
            elif event.description_type == "offer" and event.sdp is not None:
                await self._on_offer(event.sdp)
            elif event.description_type == "answer" and event.sdp is not None:
                await self._on_answer(event.sdp)
        elif isinstance(event, VideoOffer):
            await self._on_offer(event.sdp)
        elif isinstance(event, VideoAnswer):
            await self._on_answer(event.sdp)
        elif isinstance(event, IceCandidate):
            await self._on_candidate(event)

    async def _on_offer(self, sdp: str) -> None:
        if self.pc.signalingState != "stable":
            # Only the impolite caller can be here (the callee never offers): ignore it.
            logger.info("call with %s: ignoring an offer that crossed ours", self.remote)
            return
        current = self.pc.remoteDescription
        if current is not None and _ice_ufrag(sdp) != _ice_ufrag(current.sdp):
            logger.info("call with %s: an ICE restart was asked for; renegotiating", self.remote)
            self.restart_wanted.set()
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._add_outgoing_tracks(answering=True)  # the answerer adds its tracks now (once)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.signaling.answer(self.pc.localDescription.sdp)
        await self._remote_description_set()

    async def _on_answer(self, sdp: str) -> None:
        if self.pc.signalingState != "have-local-offer":
            logger.info("call with %s: ignoring an answer to no offer", self.remote)
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        await self._remote_description_set()

    async def _remote_description_set(self) -> None:
        await self.media.start()
        held, self._pending_candidates = self._pending_candidates, []
        for candidate in held:
            await self._on_candidate(candidate)

    async def _on_candidate(self, event: IceCandidate) -> None:
        if self.pc.remoteDescription is None:
            self._pending_candidates.append(event)
            return
        if not event.candidate:
            await self.pc.addIceCandidate(None)  # end of candidates
            return
        line = event.candidate.removeprefix("candidate:")
        try:
            candidate = candidate_from_sdp(line)
        except (ValueError, IndexError):
            logger.warning("call with %s: ignoring a bad candidate %r", self.remote, line)
            return
        candidate.sdpMid = event.sdp_mid
        candidate.sdpMLineIndex = event.sdp_mline_index
        await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        """End the call here: close the connection and finish the media."""
        await self.pc.close()
        await self.media.stop()
        self.ended.set()


def _ice_ufrag(sdp: str) -> str | None:
    """The first ``a=ice-ufrag`` of an SDP: a new one means the sender restarted ICE."""
    found = re.search(r"^a=ice-ufrag:(\S+)", sdp, re.MULTILINE)
    return found.group(1) if found else None
