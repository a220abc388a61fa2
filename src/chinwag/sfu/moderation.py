"""A host's mute, enforced at Janus: the VideoRoom's ``moderate`` request.

Janus drops a moderated stream's packets as they arrive from the publisher,
so no subscriber receives it whatever the publisher's client does (it may
keep sending). The request names the publisher's feed and the ``mid`` of one
m-line of its offer; chinwag reads those mids from the offer it passed on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from .janus import JanusHandle

__all__ = ["MODERATED_KINDS", "moderate", "offer_mids"]

#: The m-lines a host's mute can hold back (a screen share travels as video).
MODERATED_KINDS: Final = ("audio", "video")


def offer_mids(sdp: str) -> dict[str, list[str]]:
    """Each media kind's mids in a publisher's offer (``{"audio": ["0"], "video": ["1"]}``)."""
    mids: dict[str, list[str]] = {}
    kind = ""
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        elif line.startswith("a=mid:") and kind in MODERATED_KINDS:
            mids.setdefault(kind, []).append(line[len("a=mid:") :].strip())
    return mids


async def moderate(
    admin: JanusHandle,
    room: tuple[int, str],
    feed: int,
    mids: Mapping[str, list[str]],
    muted: Collection[str],
) -> None:
    """Hold back the ``muted`` kinds of ``feed``'s streams in ``room`` (id, secret) and
    forward the others again."""
    room_id, secret = room
    for kind in MODERATED_KINDS:
        for mid in mids.get(kind, []):
            await admin.request(
                {
                    "request": "moderate",
                    "secret": secret,
                    "room": room_id,
                    "id": feed,
                    "mid": mid,
                    "mute": kind in muted,
                }
            )
