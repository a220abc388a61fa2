"""Room actions: the requests of hosts, moderators and guests, checked at the edge (no I/O).

:func:`room_action` turns the fields of one frame into a :class:`RoomAction`
or raises ``bad-field`` saying what is wrong; whether the sender may do it is
:mod:`~chinwag.core.hostdesk`'s to decide.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from .errors import ProtocolError
from .moderation import ACTIONS

__all__ = ["MAX_BREAKOUTS", "REACTIONS", "ROOM_ACTIONS", "RoomAction", "room_action"]

ROOM_ACTIONS: Final = frozenset(ACTIONS)
#: The reactions a client may send: a short fixed list (no free text over tiles).
REACTIONS: Final = frozenset({"👍", "👏", "❤️", "😂", "😮", "🎉", "🙏", "👋"})
MAX_BREAKOUTS: Final = 20
MAX_SAY_LENGTH: Final = 500
_ENTRIES: Final = frozenset({"open", "waiting", "locked"})
_KINDS: Final = frozenset({"audio", "video", "screen"})
_MAX_INVITE_TTL: Final = 30 * 24 * 3600


class RoomAction(NamedTuple):
    """One room action; only the fields its ``type`` uses are set."""

    type: str
    target: str | None = None
    role: str = ""
    entry: str = ""
    ban: bool = False
    kind: str = "audio"
    emoji: str = ""
    number: int = 0  # breakout rooms to open
    ttl: int = 0
    single: bool = False
    pass_lock: bool = False
    assignments: dict[str, int] | None = None
    invite: str = ""
    text: str = ""


def _bad(kind: str, why: str) -> ProtocolError:
    return ProtocolError("bad-field", why, kind)


def _flag(value: Any, field: str, kind: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(kind, f"`{field}` must be true or false.")
    return value


def _whole(value: Any, field: str, kind: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(kind, f"`{field}` must be a whole number from {low} to {high}.")
    return value


def room_action(kind: str, fields: dict[str, Any]) -> RoomAction:
    """Check the fields of a room action of type ``kind``."""
    target = fields.get("target")
    if target is not None and not isinstance(target, str):
        raise _bad(kind, "`target` must be a username string.")
    needs_target = kind in {"set-role", "admit", "deny", "remove"}
    if needs_target and not target:
        raise _bad(kind, f"`{kind}` needs a `target` (a username).")
    action = RoomAction(kind, target or None)
    if kind == "set-role":
        role = fields.get("role")
        if role not in ("host", "moderator", "guest"):
            raise _bad(kind, "`role` must be host, moderator or guest.")
        return action._replace(role=role)
    if kind == "set-entry":
        entry = fields.get("entry")
        if entry not in _ENTRIES:
            raise _bad(kind, "`entry` must be open, waiting or locked.")
        return action._replace(entry=entry)
    if kind == "remove":
        return action._replace(ban=_flag(fields.get("ban"), "ban", kind))
    if kind == "mute":
        what = fields.get("kind", "audio")
        if what not in _KINDS:
            raise _bad(kind, "`kind` must be audio, video or screen.")
        return action._replace(kind=what)
    if kind == "reaction":
        emoji = fields.get("emoji")
        if emoji not in REACTIONS:
            raise _bad(kind, "`emoji` must be one of " + " ".join(sorted(REACTIONS)) + ".")
        return action._replace(emoji=emoji)
    if kind == "invite-create":
        role = fields.get("role", "guest")
        if role not in ("guest", "moderator"):
            raise _bad(kind, "`role` must be guest or moderator.")
        ttl = _whole(fields.get("ttl", 3600), "ttl", kind, 60, _MAX_INVITE_TTL)
        single = _flag(fields.get("single"), "single", kind)
        return action._replace(
            role=role,
            ttl=ttl,
            single=single,
            pass_lock=_flag(fields.get("passLock"), "passLock", kind),
        )
    if kind == "invite-revoke":
        invite = fields.get("invite")
        if not isinstance(invite, str) or not 0 < len(invite) <= 2048:
            raise _bad(kind, "`invite` must be the invite link's id or token.")
        return action._replace(invite=invite)
    if kind == "breakout-open":
        return action._replace(number=_whole(fields.get("count"), "count", kind, 1, MAX_BREAKOUTS))
    if kind == "breakout-assign":
        return action._replace(assignments=_assignments(fields, kind))
    if kind == "breakout-broadcast":
        text = fields.get("text")
        if not isinstance(text, str) or not 0 < len(text.strip()) <= MAX_SAY_LENGTH:
            raise _bad(kind, f"`text` must be 1 to {MAX_SAY_LENGTH} characters.")
        return action._replace(text=text.strip())
    return action


def _assignments(fields: dict[str, Any], kind: str) -> dict[str, int] | None:
    """``assign`` (name -> breakout number from 1), or None for ``random: true``."""
    if fields.get("random") is True:
        return None
    assign = fields.get("assign")
    if not isinstance(assign, dict) or len(assign) > 1000:
        raise _bad(kind, "`assign` must map names to breakout numbers (or send `random: true`).")
    checked = {}
    for name, number in assign.items():
        checked[name] = _whole(number, "assign", kind, 0, MAX_BREAKOUTS)
    return checked
