"""What the lobby's parts ask of each other and of the server, as narrow protocols (no I/O).

A desk names the protocol of what it uses, never another desk's class: the
lobby (the composition root) builds the desks and hands each the ones it
needs. This module imports only leaf modules (records, rooms), so every
desk may import it without closing an import circle.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Authenticator", "IceProvider"]


class Authenticator(Protocol):
    def check(self, name: str, credential: str | None, now: float) -> float | None:
        """The expiry of a signed token that lets ``name`` sign in, None for a password;
        raise ProtocolError if ``credential`` does not."""


class IceProvider(Protocol):
    @property
    def relays(self) -> bool:
        """Whether it hands out TURN relays."""

    def for_user(self, name: str, now: float, turn: bool = True) -> dict[str, Any]:
        """The ``ice-servers`` message for ``name``; ``expires`` is Unix time or None;
        without TURN credentials when ``turn`` is False."""
