"""Errors, split by whose fault they are.

::

    ChinwagError
    ├── ProtocolError      the remote client broke a rule; sent back as an
    │                      ``error`` message with a stable ``code``
    └── ServerError        chinwag itself failed (a bug, or a dependency
                           such as Redis being down); logged, never blamed
                           on the client

Every ``error`` message a client receives has the same shape::

    {"type": "error", "code": "<code>", "message": "<human text>",
     "for": "<type of the message that failed, or null>",
     "target": "<username involved, or null>"}

``ERROR_CODES`` is the single list of codes; ``docs/protocol.md`` renders it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ERROR_CODES",
    "ChinwagError",
    "ProtocolError",
    "ServerError",
    "error_message",
]

ERROR_CODES: dict[str, str] = {
    "bad-json": "The frame is not valid UTF-8 JSON.",
    "bad-message": "The JSON value is not an object.",
    "bad-type": "The message has no `type`, or `type` is not a non-empty string.",
    "bad-field": "A field has the wrong type or an impossible value.",
    "binary-frame": "Binary frames are not part of the protocol; send JSON text.",
    "frame-too-large": "The frame is over the size limit; the socket is closed with 1009.",
    "not-signed-in": "Only `username` is allowed before signing in.",
    "bad-name": "The username is empty, too long, or has forbidden characters.",
    "text-too-long": "The chat text is over the length limit.",
    "no-such-user": "The `target` user is not online.",
    "rate-limited": "Too many messages; slow down.",
    "auth-required": "This server needs a credential to sign in.",
    "auth-failed": "The credential is wrong, or is for another name.",
    "auth-expired": "The credential has expired.",
    "unavailable": "The server cannot do that now (the cluster store, the history store or "
    "another server is unreachable): a sign-in, opening a locked room in a cluster, a "
    "history read, or a message to a user on another server; try again shortly.",
    "history-off": "This server keeps no chat history (`--no-history`).",
    "history-quota": "The line was sent to the room but not stored: your address stored more "
    "chat lines than the server allows per minute (`history_per_address`).",
    "bad-resume": "The resume token is unknown or expired; signed in as a new session.",
    "not-in-call": "`call-connected` for a user the sender is not in a call with; "
    "`room-signal` to someone not in the sender's room call; `room-call-leave` outside one.",
    "in-call": "A user in a call (ringing, connecting or active, or a room call) cannot rename; "
    "nor switch rooms or join a room call during a one-to-one call. Hang up first.",
    "bad-room": "The room name is empty where one is needed, too long, or has forbidden "
    "characters; or the client did not declare the `rooms` feature.",
    "no-such-room": "This server only has the rooms its operator configured; that is not one.",
    "room-password-required": "The room is locked with a password; send it.",
    "room-password-wrong": "The room password is wrong (wrong tries are rate-limited).",
    "room-call-full": "The room call has as many participants as the server allows.",
    "recordings-off": "This server does not record calls (its operator has not enabled "
    "`--recordings`).",
    "already-recording": "`room-recording` start while the call is already being recorded.",
    "not-recording": "`room-recording` stop while the call is not being recorded.",
    "not-sfu-call": "An `sfu-*` request in a room call that is a mesh (use `room-signal`).",
    "sfu-unavailable": "The media server (Janus) could not do that now, or none is answering; "
    "try again shortly.",
    "name-taken": "A signed token's name is in use on another server or spelled alike; "
    "it is never numbered.",
    "broadcast-too-large": "A message with no `target` (sent to everyone) is over the size "
    "limit for broadcasts.",
    "forbidden": "Only a host or moderator of the room may do that (a host alone for some "
    "actions: roles, moderator invites, breakout rooms); nothing changed.",
    "waiting": "You are in the waiting room: only `join-room` (to go elsewhere) and renaming "
    "wait for no one; everything else waits until a host lets you in.",
    "banned": "You were removed from this room and may not come back while it exists.",
    "room-closed": "The room is locked: nobody new may enter (an invite minted to open the "
    "lock still does).",
    "invite-invalid": "The invite link is damaged, forged or for another room.",
    "invite-expired": "The invite link has expired.",
    "invite-used": "The single-use invite link has been used already.",
    "invite-revoked": "The host withdrew the invite link.",
    "server-error": "The server failed on that message (its fault; logged). Nothing else changed.",
}


def error_message(
    code: str, message: str, for_type: str | None = None, target: str | None = None
) -> dict[str, Any]:
    """Build the one shape every ``error`` message has."""
    assert code in ERROR_CODES, code
    return {"type": "error", "code": code, "message": message, "for": for_type, "target": target}


class ChinwagError(Exception):
    """Base class of every error chinwag raises on purpose."""


class ProtocolError(ChinwagError):
    """A client sent something the protocol does not allow.

    The caller turns it into an ``error`` message for that client only
    (``as_message``) and changes nothing else.
    """

    def __init__(
        self, code: str, message: str, for_type: str | None = None, target: str | None = None
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.for_type = for_type
        self.target = target

    def as_message(self) -> dict[str, Any]:
        return error_message(self.code, self.message, self.for_type, self.target)


class ServerError(ChinwagError):
    """chinwag, or something it depends on, failed; not the client's fault."""
