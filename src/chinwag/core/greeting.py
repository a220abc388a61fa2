"""What a client is told when it signs in or resumes, and its ICE servers (no I/O).

TURN credentials cost the operator a relay, so they are not handed to
everyone who asks: each client address has a budget
(``Policy.turn_per_address``), and with ``turn_signed_in_only`` only a
session that signed in with a credential gets them. A client over its budget
is sent STUN only and is offered TURN again :data:`TURN_RETRY` seconds later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .limits import KeyedBuckets
from .members import Member

if TYPE_CHECKING:
    from .context import Context
    from .ports import IceProvider

__all__ = ["TURN_RETRY", "Greeter"]

TURN_RETRY = 30.0  # seconds until a client refused TURN (over its address's budget) asks again


class Greeter:
    """Sends ``signed-in``, ``ice-servers`` (and refreshes them) and full lists."""

    def __init__(self, context: Context, ice: IceProvider | None) -> None:
        self._ctx = context
        self._ice = ice
        self._turn_issued = KeyedBuckets(context.policy.turn_per_address)
        #: ROOM for a room key (the room desk's), told to ``rooms`` clients on signing in.
        self.describe_room: Callable[[str], dict[str, Any]] = lambda key: {}
        #: Tells a ``rooms`` client its room's roles and hands (the hosts' desk's).
        self.after_welcome: Callable[[Member], None] = lambda member: None

    def welcome(self, member: Member, resumed: bool) -> None:
        """``signed-in`` and the ICE servers, to a client that asked for features."""
        welcome: dict[str, Any] = {
            "type": "signed-in",
            "id": member.conn,
            "name": member.name,
            "features": sorted(member.features),
            "resume": member.token,
            "resumed": resumed,
            "ringTimeout": self._ctx.policy.ring_timeout,
            "fileMaxBytes": self._ctx.policy.file_max_bytes,
        }
        if resumed and member.mailbox.dropped:  # the parked backlog overflowed
            welcome["dropped"] = member.mailbox.dropped
            member.mailbox.dropped = 0
        if "rooms" in member.features:
            welcome["room"] = self.describe_room(member.room)
            if self._ctx.policy.recordings:  # the client may offer a Record button
                welcome["recordings"] = True
        self._ctx.outbox.send((member.conn,), welcome)
        self._send_ice_servers(member)
        if resumed:  # a fresh sign-in hears it once it has entered its room
            self.after_welcome(member)

    def welcome_back(self, member: Member, missed: Iterable[bytes]) -> None:
        """A resumed session: welcome, what it missed in order, then the full list."""
        self.welcome(member, resumed=True)
        self._ctx.outbox.send_each(member.conn, missed)
        self._send_full_list(member)

    def _send_full_list(self, member: Member) -> None:
        if "deltas" in member.features:
            self._ctx.presence.room(member.room).owe_full_list(member.conn)
        else:
            names = list(self._ctx.directory.members_of(member.room))
            self._ctx.outbox.send((member.conn,), {"type": "userlist", "users": names})

    def ice_message(self, member: Member) -> dict[str, Any]:
        """``member``'s ICE servers, with TURN credentials if it may have them now."""
        return self._ice_message(member)[0]

    def _ice_message(self, member: Member) -> tuple[dict[str, Any], bool]:
        """The message, and whether TURN was left out for the address's budget (ask again)."""
        assert member.name is not None
        if self._ice is None:
            return {"type": "ice-servers", "iceServers": [], "expires": None}, False
        relay = self._ice.relays and (
            member.credentialed or not self._ctx.policy.turn_signed_in_only
        )
        over_budget = relay and not self._turn_issued.take(member.address, self._ctx.monotonic())
        message = self._ice.for_user(member.name, self._ctx.clock(), relay and not over_budget)
        return message, over_budget

    def refresh_ice(self, now: float) -> None:
        """Send fresh ICE servers to each client whose credentials are near their end."""
        for member in self._ctx.directory.open_members():
            if member.ice_refresh_at is not None and member.ice_refresh_at <= now:
                self._send_ice_servers(member)

    def _send_ice_servers(self, member: Member) -> None:
        message, over_budget = self._ice_message(member)
        expires = message.get("expires")
        if over_budget:
            member.ice_refresh_at = self._ctx.monotonic() + TURN_RETRY
        elif expires is None:
            member.ice_refresh_at = None
        else:  # refresh when 80% of the credentials' life has passed
            remaining = max(0.0, float(expires) - self._ctx.clock())
            member.ice_refresh_at = self._ctx.monotonic() + max(1.0, 0.8 * remaining)
        self._ctx.outbox.send((member.conn,), message)
