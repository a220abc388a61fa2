"""Roles and room control: who may do what in a room, as pure rules (no I/O).

Every room with hosts has a :class:`~chinwag.core.events.RoomControl`
snapshot (its roles, how it lets people in, its bans, raised hands and
breakout rooms). The functions here compute a new snapshot from an old one;
:mod:`~chinwag.core.hostdesk` applies them, tells the room and the other
nodes. Three roles, highest first:

* **host**: everything a moderator can, plus making and unmaking moderators,
  minting moderator invites and running breakout rooms;
* **moderator**: lock the room or turn on its waiting room, admit and deny,
  remove (and ban) guests, mute people or stop their camera or screen, end the
  room call, lower hands, mint guest invites and revoke invites;
* **guest**: raise and lower its own hand, send reactions.

Whoever opens an ad-hoc room is its host. The operator may name hosts for a
configured room (and for the default room, which otherwise has no hosts and
behaves as it always did); a signed sign-in token may carry a role per room;
an invite carries one. When the last host leaves, the moderator who got that
role first becomes host, else the guest who has been in the room longest: a
room is never stuck without someone who can let people in (Jitsi Meet does the
same with its moderator role).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec

from .events import RoomControl

__all__ = [
    "ACTIONS",
    "WAITING_PREFIX",
    "Entry",
    "Role",
    "allowed",
    "demoted",
    "is_waiting_key",
    "promoted",
    "waiting_name",
    "without",
]


class Role(enum.StrEnum):
    GUEST = "guest"
    MODERATOR = "moderator"
    HOST = "host"


class Entry(enum.StrEnum):
    """How a room lets newcomers in."""

    OPEN = "open"
    WAITING = "waiting"  # newcomers knock; a host or moderator admits or denies them
    LOCKED = "locked"  # no newcomers, except with an invite minted to open the lock


_RANK: Final = {Role.GUEST: 0, Role.MODERATOR: 1, Role.HOST: 2}

#: The lowest role allowed to send each request (``lower-hand`` of one's own
#: hand, and ``raise-hand``, ``reaction``, are everyone's).
ACTIONS: Final[dict[str, Role]] = {
    "set-role": Role.HOST,
    "set-entry": Role.MODERATOR,
    "admit": Role.MODERATOR,
    "deny": Role.MODERATOR,
    "remove": Role.MODERATOR,
    "mute": Role.MODERATOR,
    "end-call": Role.MODERATOR,
    "lower-hands": Role.MODERATOR,
    "invite-create": Role.MODERATOR,
    "invite-revoke": Role.MODERATOR,
    "breakout-open": Role.HOST,
    "breakout-assign": Role.HOST,
    "breakout-start": Role.HOST,
    "breakout-broadcast": Role.HOST,
    "breakout-close": Role.HOST,
    "raise-hand": Role.GUEST,
    "lower-hand": Role.GUEST,
    "reaction": Role.GUEST,
}

#: Waiting people sit in a hidden room whose name is the room's own after this
#: prefix: a control character, which no client may put in a room name.
WAITING_PREFIX: Final = "\x00"


def waiting_name(room: str) -> str:
    """The hidden room where people wait to enter ``room`` (a name or a key)."""
    return WAITING_PREFIX + room


def is_waiting_key(key: str | None) -> bool:
    return bool(key) and key is not None and key.startswith(WAITING_PREFIX)


def role_of(control: RoomControl | None, name: str) -> Role:
    if control is None:
        return Role.GUEST
    return Role(control.roles.get(name, Role.GUEST))


def rank(role: Role) -> int:
    return _RANK[role]


def allowed(role: Role, action: str) -> bool:
    return _RANK[role] >= _RANK[ACTIONS[action]]


def outranks(actor: Role, target: Role) -> bool:
    """Whether ``actor`` may act on someone with ``target``'s role (a host on anyone)."""
    return actor is Role.HOST or _RANK[actor] > _RANK[target]


def with_role(control: RoomControl, name: str, role: Role) -> RoomControl:
    """``name`` now has ``role`` (a guest has no entry); kept in grant order."""
    roles = {n: r for n, r in control.roles.items() if n != name}
    if role is not Role.GUEST:
        roles[name] = role.value
    return msgspec.structs.replace(control, roles=roles)


def without(control: RoomControl, name: str) -> RoomControl:
    """``name`` left the room: its role, hand and breakout assignment go."""
    return msgspec.structs.replace(
        control,
        roles={n: r for n, r in control.roles.items() if n != name},
        hands=tuple(h for h in control.hands if h != name),
        assignments={n: i for n, i in control.assignments.items() if n != name},
    )


def renamed(control: RoomControl, old: str, new: str) -> RoomControl:
    """``old`` is called ``new`` now: its role, hand and assignment keep their places."""
    return msgspec.structs.replace(
        control,
        roles={new if n == old else n: r for n, r in control.roles.items()},
        hands=tuple(new if h == old else h for h in control.hands),
        assignments={new if n == old else n: i for n, i in control.assignments.items()},
    )


def demoted(control: RoomControl, present: Iterable[str]) -> RoomControl:
    """Roles of people not in ``present`` dropped (after a node was lost)."""
    here = set(present)
    return msgspec.structs.replace(
        control,
        roles={n: r for n, r in control.roles.items() if n in here},
        hands=tuple(h for h in control.hands if h in here),
    )


def promoted(control: RoomControl, present: Iterable[str]) -> tuple[RoomControl, str | None]:
    """A host if none of ``present`` (in the order they came in) is one; who was promoted.

    The moderator who got the role first, else the person present longest.
    """
    people = list(present)
    if not people or any(control.roles.get(n) == Role.HOST for n in people):
        return control, None
    moderators = [n for n in control.roles if control.roles[n] == Role.MODERATOR and n in people]
    chosen = moderators[0] if moderators else people[0]
    return with_role(control, chosen, Role.HOST), chosen


def with_hand(control: RoomControl, name: str, raised: bool) -> RoomControl:
    hands = tuple(h for h in control.hands if h != name)
    return msgspec.structs.replace(control, hands=(*hands, name) if raised else hands)


def banned(control: RoomControl | None, key: str, address: str) -> bool:
    if control is None:
        return False
    return key in control.banned or (bool(address) and address in control.banned_addresses)


def with_ban(control: RoomControl, key: str, address: str) -> RoomControl:
    addresses = control.banned_addresses
    if address and address not in addresses:
        addresses = (*addresses, address)
    names = control.banned if key in control.banned else (*control.banned, key)
    return msgspec.structs.replace(control, banned=names, banned_addresses=addresses)


def with_bans_of(control: RoomControl, other: RoomControl) -> RoomControl:
    """``control`` with ``other``'s bans too: bans only grow while a room lives, so two
    nodes' bans merge instead of one snapshot replacing the other's."""
    names = (*control.banned, *(b for b in other.banned if b not in control.banned))
    addresses = (
        *control.banned_addresses,
        *(a for a in other.banned_addresses if a not in control.banned_addresses),
    )
    return msgspec.structs.replace(control, banned=names, banned_addresses=addresses)


def bumped(control: RoomControl, node: str) -> RoomControl:
    """The next version of ``control``, as changed by ``node``."""
    return msgspec.structs.replace(control, version=control.version + 1, node=node)


def as_message(
    control: RoomControl, waiting: list[str] | None, present: Mapping[str, None]
) -> dict[str, Any]:
    """The ``room-control`` message: roles and hands of the people present.

    ``waiting`` (who is knocking, in order) goes to hosts and moderators only.
    """
    message: dict[str, Any] = {
        "type": "room-control",
        "room": control.room,
        "entry": control.entry,
        "roles": {n: r for n, r in control.roles.items() if n in present},
        "hands": [h for h in control.hands if h in present],
        "breakouts": list(control.breakouts),
        "assignments": dict(control.assignments),
        "parent": control.parent or None,
    }
    if waiting is not None:
        message["waiting"] = waiting
    return message
