"""Decoded JSON in, a typed :class:`~chinwag.client.Event` out (no I/O).

Messages relayed from other clients are checked here: one that does not
have the shape the protocol gives its type becomes :class:`Unknown`, so a bad
peer cannot crash the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from .events import (
    CallAccept,
    CallDecline,
    CallInvite,
    ChatMessage,
    ErrorReceived,
    Event,
    FileMessage,
    HangUp,
    IceCandidate,
    IceServer,
    IceServers,
    MediaState,
    Moderation,
    NameTaken,
    Participant,
    Presence,
    PublicRoom,
    RoomCall,
    RoomEntered,
    RoomList,
    RoomSignal,
    SignedIn,
    Unknown,
    UserList,
    VideoAnswer,
    VideoOffer,
    Welcome,
)

__all__ = ["parse_event"]

# One logger for the whole client package, so log lines keep their old name.
logger = logging.getLogger("chinwag.client")


class _Malformed(ValueError):
    """A field is missing or has the wrong type; the message becomes :class:`Unknown`."""


def _str(message: Mapping[str, Any], key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str):
        raise _Malformed(key)
    return value


def _opt_str(message: Mapping[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise _Malformed(key)
    return value


def _opt_int(message: Mapping[str, Any], key: str) -> int | None:
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(key)
    return int(value)


def _names(message: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = message.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Malformed(key)
    return tuple(value)


def _bool(message: Mapping[str, Any], key: str, default: bool) -> bool:
    value = message.get(key, default)
    if not isinstance(value, bool):
        raise _Malformed(key)
    return value


def _sdp(message: Mapping[str, Any], kind: str) -> str:
    description = message.get("sdp")
    if not isinstance(description, dict) or description.get("type") != kind:
        raise _Malformed("sdp")
    return _str(description, "sdp")


def _renamed(message: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    value = message.get("renamed", [])
    if not isinstance(value, list):
        raise _Malformed("renamed")
    pairs = []
    for pair in value:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, str) for n in pair)
        ):
            raise _Malformed("renamed")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _ice_servers(message: Mapping[str, Any]) -> tuple[IceServer, ...]:
    value = message.get("iceServers")
    if not isinstance(value, list):
        raise _Malformed("iceServers")
    servers = []
    for entry in value:
        if not isinstance(entry, dict):
            raise _Malformed("iceServers")
        urls = entry.get("urls")
        url_list = [urls] if isinstance(urls, str) else urls
        if not isinstance(url_list, list) or not all(isinstance(u, str) for u in url_list):
            raise _Malformed("urls")
        servers.append(
            IceServer(
                urls=tuple(url_list),
                username=_opt_str(entry, "username"),
                credential=_opt_str(entry, "credential"),
            )
        )
    return tuple(servers)


def _candidate(message: Mapping[str, Any]) -> IceCandidate:
    body = message.get("candidate")
    if body is None:  # the tutorial's client never sends this; treat as end of candidates
        return IceCandidate(raw=message, name=_str(message, "name"), candidate="")
    if not isinstance(body, dict):
        raise _Malformed("candidate")
    return IceCandidate(
        raw=message,
        name=_str(message, "name"),
        candidate=_opt_str(body, "candidate") or "",
        sdp_mid=_opt_str(body, "sdpMid"),
        sdp_mline_index=_opt_int(body, "sdpMLineIndex"),
        username_fragment=_opt_str(body, "usernameFragment"),
    )


def _media(message: Mapping[str, Any]) -> tuple[bool, bool]:
    media = message.get("media")
    if media is None:
        return True, True
    if not isinstance(media, dict):
        raise _Malformed("media")
    return _bool(media, "audio", True), _bool(media, "video", True)


def _call_invite(m: Mapping[str, Any]) -> Event:
    audio, video = _media(m)
    return CallInvite(raw=m, name=_str(m, "name"), audio=audio, video=video)


def _participants(message: Mapping[str, Any]) -> tuple[Participant, ...]:
    seats = message.get("participants")
    if not isinstance(seats, list) or not all(isinstance(s, dict) for s in seats):
        raise _Malformed("participants")
    return tuple(
        Participant(name=_str(s, "name"), rollback=_bool(s, "rollback", True)) for s in seats
    )


def _room_call(m: Mapping[str, Any]) -> RoomCall:
    return RoomCall(
        raw=m,
        room=_opt_str(m, "room") or "",
        started=_opt_int(m, "started"),
        participants=_participants(m),
    )


def _nested(m: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """An optional object field."""
    value = m.get(key)
    if value is not None and not isinstance(value, dict):
        raise _Malformed(key)
    return value


def _room(m: Mapping[str, Any]) -> RoomEntered:
    call = _nested(m, "call")
    return RoomEntered(
        raw=m,
        room=_opt_str(m, "room") or "",
        title=_opt_str(m, "title") or "",
        public=_bool(m, "public", False),
        locked=_bool(m, "locked", False),
        call=_room_call(call) if call is not None else None,
    )


def _signed_in(m: Mapping[str, Any]) -> SignedIn:
    room = _nested(m, "room")
    return SignedIn(
        raw=m,
        id=_opt_int(m, "id"),
        name=_str(m, "name"),
        features=frozenset(_names(m, "features")),
        resume=_opt_str(m, "resume"),
        resumed=_bool(m, "resumed", False),
        room=_room(room) if room is not None else None,
        file_max_bytes=_opt_int(m, "fileMaxBytes") or 0,
    )


def _rooms(m: Mapping[str, Any]) -> RoomList:
    rooms = m.get("rooms")
    if not isinstance(rooms, list) or not all(isinstance(r, dict) for r in rooms):
        raise _Malformed("rooms")
    listed = (
        PublicRoom(
            room=_str(r, "room"), title=_opt_str(r, "title") or "", count=_opt_int(r, "count") or 0
        )
        for r in rooms
    )
    return RoomList(raw=m, rooms=tuple(listed))


def _room_signal(m: Mapping[str, Any]) -> RoomSignal:
    description = _nested(m, "description")
    if description is not None:
        kind = _str(description, "type")
        return RoomSignal(
            raw=m, name=_str(m, "name"), description_type=kind, sdp=_opt_str(description, "sdp")
        )
    return RoomSignal(raw=m, name=_str(m, "name"), candidate=_candidate(m))


_PARSERS: Final[dict[str, Callable[[Mapping[str, Any]], Event]]] = {
    "id": lambda m: Welcome(raw=m, id=_opt_int(m, "id") or 0),
    "signed-in": _signed_in,
    "room": _room,
    "room-call": _room_call,
    "rooms": _rooms,
    "room-signal": _room_signal,
    **{
        kind: lambda m: FileMessage(
            raw=m, type=_str(m, "type"), name=_str(m, "name"), file=_str(m, "file")
        )
        for kind in ("file-offer", "file-accept", "file-decline", "file-cancel", "file-signal")
    },
    "rejectusername": lambda m: NameTaken(raw=m, name=_str(m, "name")),
    "userlist": lambda m: UserList(
        raw=m, users=_names(m, "users"), busy=frozenset(_names(m, "busy"))
    ),
    "presence": lambda m: Presence(
        raw=m,
        joined=_names(m, "joined"),
        left=_names(m, "left"),
        renamed=_renamed(m),
        busy=_names(m, "busy"),
        idle=_names(m, "idle"),
    ),
    "message": lambda m: ChatMessage(
        raw=m, name=_str(m, "name"), text=_str(m, "text"), date=_opt_int(m, "date")
    ),
    "ice-servers": lambda m: IceServers(
        raw=m, servers=_ice_servers(m), expires=_opt_int(m, "expires")
    ),
    "call-invite": _call_invite,
    "call-accept": lambda m: CallAccept(raw=m, name=_str(m, "name"), auto=_bool(m, "auto", False)),
    "call-decline": lambda m: CallDecline(
        raw=m, name=_str(m, "name"), reason=_opt_str(m, "reason") or "declined"
    ),
    "hang-up": lambda m: HangUp(raw=m, name=_str(m, "name"), reason=_opt_str(m, "reason")),
    "video-offer": lambda m: VideoOffer(raw=m, name=_str(m, "name"), sdp=_sdp(m, "offer")),
    "video-answer": lambda m: VideoAnswer(raw=m, name=_str(m, "name"), sdp=_sdp(m, "answer")),
    "new-ice-candidate": _candidate,
    "media-state": lambda m: MediaState(
        raw=m,
        name=_str(m, "name"),
        audio=_bool(m, "audio", True),
        video=_bool(m, "video", True),
        screen=_bool(m, "screen", False),
    ),
    "moderation": lambda m: Moderation(
        raw=m,
        room=_opt_str(m, "room") or "",
        action=_str(m, "action"),
        by=_opt_str(m, "by"),
        target=_opt_str(m, "target"),
        kind=_opt_str(m, "kind"),
        text=_opt_str(m, "text"),
    ),
    "error": lambda m: ErrorReceived(
        raw=m,
        code=_str(m, "code"),
        message=_opt_str(m, "message") or "",
        for_type=_opt_str(m, "for"),
        target=_opt_str(m, "target"),
    ),
}


def parse_event(message: Mapping[str, Any]) -> Event:
    """Turn one decoded message into its typed event; never raises.

    A message whose type is unknown, or whose fields do not have the shape
    docs/protocol.md gives them, becomes :class:`Unknown`.
    """
    kind = message.get("type")
    name = message.get("name")
    fallback = Unknown(
        raw=message,
        type=kind if isinstance(kind, str) else "",
        name=name if isinstance(name, str) else None,
    )
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return fallback
    try:
        return parser(message)
    except _Malformed as problem:
        logger.warning("ignoring a %s message with a bad %s field", kind, problem)
        return fallback
