"""WebSocket close codes by name (RFC 6455 section 7.4 and chinwag's own), no I/O.

The core decides some closes (a session taken over, a name lost in a cluster
split); the transport decides the rest. Both use these names, so a close code
never appears as a bare number.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CloseCode", "valid_from_client"]


class CloseCode(IntEnum):
    """The close codes chinwag sends, and the registered ones it may receive."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    INVALID_PAYLOAD = 1007  # a close reason that is not UTF-8
    POLICY_VIOLATION = 1008  # repeated bad or excess frames
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    TAKEN_OVER = 4001  # the session was resumed on another connection
    NAME_LOST = 4002  # the name went to another node during a cluster split
    REMOVED = 4003  # a host or moderator removed this person from its room
    DENIED = 4004  # a host or moderator did not let this person in from the waiting room


#: Codes that only describe a connection locally and must never be on the wire (7.4.1).
_NEVER_SENT = frozenset({1004, 1005, 1006, 1015})


def valid_from_client(code: int) -> bool:
    """True for a code a client may put in its close frame (RFC 6455 7.4).

    1000-1014 minus the reserved ones, and 3000-4999 (registered and private
    use); anything else is answered with PROTOCOL_ERROR.
    """
    if 1000 <= code <= 1014:
        return code not in _NEVER_SENT
    return 3000 <= code <= 4999
