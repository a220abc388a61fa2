"""The one-to-one call's messages, one method each, for :class:`~chinwag.client.ChinwagClient`.

Ringing (``call-invite``, ``call-accept``, ``call-decline``), the WebRTC
exchange (``video-offer``, ``video-answer``, ``new-ice-candidate``) and the
call's life (``call-connected``, ``media-state``, ``hang-up``,
``call-report``), as docs/protocol.md spells them. They live on the client a
bot holds; this base class keeps them apart from the socket loop. A subclass
supplies ``name`` and ``send``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CallMessages"]


class CallMessages:
    """Sends the call messages through :meth:`send`; holds no state of its own."""

    name: str

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send one message; the subclass owns the socket."""
        raise NotImplementedError

    async def _to(self, kind: str, target: str, **fields: Any) -> None:
        await self.send({"type": kind, "name": self.name, "target": target, **fields})

    async def invite(
        self, target: str, *, audio: bool = True, video: bool = True, rejoin: bool = False
    ) -> None:
        """Ring ``target`` (``call-invite``); expect CallAccept, CallDecline or an error.

        ``rejoin``: we are already in a call with ``target`` and need a new peer
        connection; the web client answers at once with ``call-accept``.
        """
        media = {"audio": audio, "video": video}
        if rejoin:
            await self._to("call-invite", target, media=media, rejoin=True)
        else:
            await self._to("call-invite", target, media=media)

    async def accept(self, target: str) -> None:
        """Accept ``target``'s invitation; this side becomes the polite callee."""
        await self._to("call-accept", target)

    async def decline(self, target: str, reason: str = "declined") -> None:
        """Refuse ``target``'s call.

        ``reason``: ``declined``, ``busy``, ``no-media``, ``permission-denied`` or ``in-use``.
        """
        await self._to("call-decline", target, reason=reason)

    async def hang_up(self, target: str, reason: str | None = "hung-up") -> None:
        """End a ringing or running call with ``target``."""
        await self._to("hang-up", target, **({"reason": reason} if reason else {}))

    async def call_connected(self, target: str) -> None:
        """Say media flows in the call with ``target``: the call is ``active``."""
        await self._to("call-connected", target)

    async def call_report(self, target: str, outcome: str, reason: str | None = None) -> None:
        """Tell the server how the call with ``target`` went (``connected`` or ``failed``
        with a problem code); it counts it in /metrics and relays it to nobody."""
        await self._to(
            "call-report", target, outcome=outcome, **({"reason": reason} if reason else {})
        )

    async def offer(self, target: str, sdp: str) -> None:
        """Send an SDP offer (``video-offer``)."""
        await self._to("video-offer", target, sdp={"type": "offer", "sdp": sdp})

    async def answer(self, target: str, sdp: str) -> None:
        """Send an SDP answer (``video-answer``)."""
        await self._to("video-answer", target, sdp={"type": "answer", "sdp": sdp})

    async def send_candidate(
        self, target: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Trickle one ICE candidate (``candidate:...`` line) to ``target``."""
        body = {"candidate": candidate, "sdpMid": sdp_mid, "sdpMLineIndex": sdp_mline_index}
        await self._to("new-ice-candidate", target, candidate=body)

    async def media_state(
        self, target: str, *, audio: bool, video: bool, screen: bool = False
    ) -> None:
        """Tell ``target`` what this side is sending."""
        await self._to("media-state", target, audio=audio, video=video, screen=screen)
