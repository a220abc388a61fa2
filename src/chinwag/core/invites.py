"""Invite links: signed, expiring, optionally single-use, revocable (no I/O).

An invite is a JSON Web Token (HS256, PyJWT) signed with the server's invite
secret, so every node that shares the secret accepts it without asking the
others. Its claims:

========== ==========================================================
``room``   the room's name (as typed); the link opens only that room
``role``   ``guest`` or ``moderator``: the role its holder enters with
``exp``    Unix time it stops working
``jti``    its id: what ``invite-revoke`` names, and what a used
           single-use invite is remembered by
``single`` true: the first entry spends it
``lock``   true: it still opens the room while the room is locked
========== ==========================================================

An invite also skips the waiting room. What is spent (used single-use ids and
revoked ids) is kept by :class:`InviteBook` until the invite would have
expired anyway, and shared between nodes with :class:`~chinwag.core.events.InvitesSpent`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Final

from .auth import _jwt, strict_token_shape, verified_claims
from .errors import ProtocolError

__all__ = ["MAX_INVITE_LIFETIME", "Invite", "InviteBook", "mint_invite", "read_invite"]

#: The longest an invite may live (30 days): a link is shared widely.
MAX_INVITE_LIFETIME: Final = 30 * 24 * 3600
INVITE_ROLES: Final = frozenset({"guest", "moderator"})


@dataclass(frozen=True, slots=True)
class Invite:
    """What a verified invite says."""

    id: str
    room: str
    role: str
    expires: int
    single: bool
    opens_lock: bool

    def describe(self) -> dict[str, Any]:
        """The invite's public facts, as the ``invite`` message gives them to its minter."""
        return {
            "id": self.id,
            "room": self.room,
            "role": self.role,
            "expires": self.expires,
            "single": self.single,
            "passLock": self.opens_lock,
        }


def mint_invite(
    secret: bytes,
    room: str,
    role: str,
    expires: float,
    *,
    single: bool = False,
    opens_lock: bool = False,
) -> tuple[str, Invite]:
    """A signed invite to ``room`` (its token and what it says)."""
    assert role in INVITE_ROLES, role
    invite = Invite(secrets.token_urlsafe(9), room, role, int(expires), single, opens_lock)
    claims = {
        "room": room,
        "role": role,
        "exp": invite.expires,
        "jti": invite.id,
        "single": single,
        "lock": opens_lock,
    }
    return str(_jwt().encode(claims, secret, algorithm="HS256")), invite


def read_invite(secret: bytes, token: str, now: float, for_type: str) -> Invite:
    """Verify ``token`` and return its invite; ``invite-invalid`` or ``invite-expired``."""
    invalid = ProtocolError(
        "invite-invalid", "This invite link is not valid (it is damaged or forged).", for_type
    )
    if not isinstance(token, str) or not strict_token_shape(token):
        raise invalid
    claims = verified_claims(secret, token, ("room", "role", "exp", "jti"))
    if claims is None:
        raise invalid
    room, role, expires, jti = claims["room"], claims["role"], claims["exp"], claims["jti"]
    if (
        not isinstance(room, str)
        or role not in INVITE_ROLES
        or not isinstance(expires, int)
        or isinstance(expires, bool)
        or not isinstance(jti, str)
    ):
        raise invalid
    if expires <= now:
        raise ProtocolError(
            "invite-expired", "This invite link has expired; ask the host for a new one.", for_type
        )
    if expires > now + MAX_INVITE_LIFETIME:
        raise invalid
    single, lock = claims.get("single") is True, claims.get("lock") is True
    return Invite(jti, room, role, expires, single, lock)


class InviteBook:
    """Spent invite ids: used single-use ones and revoked ones, until they would expire.

    Invariant: every id maps to the expiry of its invite; ``prune`` drops the
    lapsed ones, so the book never outgrows the invites still alive.
    """

    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._revoked: dict[str, int] = {}

    def refuse_spent(self, invite: Invite, for_type: str) -> None:
        """Raise ``invite-revoked``/``invite-used`` if ``invite`` may not be used."""
        if invite.id in self._revoked:
            raise ProtocolError(
                "invite-revoked", "This invite link was withdrawn by the host.", for_type
            )
        if invite.single and invite.id in self._used:
            raise ProtocolError(
                "invite-used", "This invite link was for one person and has been used.", for_type
            )

    def use(self, invite: Invite) -> bool:
        """Note that ``invite`` let someone in; True when that spent it (single use)."""
        if not invite.single:
            return False
        self._used[invite.id] = invite.expires
        return True

    def revoke(self, invite_id: str, expires: int) -> None:
        self._revoked[invite_id] = expires

    def learn(
        self, used: tuple[tuple[str, int], ...], revoked: tuple[tuple[str, int], ...]
    ) -> None:
        """Another node spent these (id, expiry) pairs."""
        self._used.update(used)
        self._revoked.update(revoked)

    def spent(self) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
        """Everything this node knows is spent (to tell a node that joins late)."""
        return tuple(self._used.items()), tuple(self._revoked.items())

    def prune(self, now: float) -> None:
        for book in (self._used, self._revoked):
            for invite_id in [i for i, expires in book.items() if expires <= now]:
                del book[invite_id]
