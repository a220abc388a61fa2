"""The lobby's limits and secrets, read from the server's settings.

The core knows nothing of ``Settings`` (it takes a :class:`~chinwag.core.lobby.Policy`);
this is the one place that maps one onto the other.
"""

from __future__ import annotations

from ..config import Settings
from ..core.limits import Rate
from ..core.lobby import Policy

__all__ = ["invite_secret", "lobby_policy"]


def invite_secret(settings: Settings) -> bytes | None:
    """What signs invite links: its own secret, else the token secret (None: a random one)."""
    secret = settings.invite_secret or settings.token_secret
    return secret.encode() if secret else None


def lobby_policy(settings: Settings) -> Policy:
    """The lobby's limits and timings from the server's settings."""
    return Policy(
        chat_rate=Rate(settings.chat_rate, 4 * settings.chat_rate),
        signal_rate=Rate(settings.signal_rate, 4 * settings.signal_rate),
        resume_grace=settings.resume_grace,
        ring_timeout=settings.ring_timeout,
        history=settings.history,
        history_lines=settings.history_lines,
        history_per_address=Rate(settings.history_per_address / 60, settings.history_per_address),
        targeted_rate=Rate(settings.targeted_rate, 4 * settings.targeted_rate),
        inbound_rate=Rate(settings.inbound_rate, 2 * settings.inbound_rate),
        room_call_max=settings.call_cap(),
        mesh_max=settings.mesh_max if settings.sfu else None,
        recordings=settings.recordings and bool(settings.sfu),
        file_max_bytes=settings.file_max_bytes,
        room_call_idle=settings.room_call_idle,
        room_call_per_address=settings.room_call_per_address,
        turn_signed_in_only=settings.turn_signed_in_only,
    )
