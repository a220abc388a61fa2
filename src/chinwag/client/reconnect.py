"""When and how soon to reconnect after the socket drops (no I/O).

The rules follow the web client (``web/js/socket.js``) and docs/protocol.md:
a socket that dropped without a closing handshake, or that the server closed
because it is going away or restarting, is worth coming back to; close code
4001 (the session was resumed on another connection) is final, as is any
close the client asked for or a protocol error it caused.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

__all__ = ["RETRY_CLOSE_CODES", "ReconnectPolicy"]

#: Close codes after which the client comes back: no close frame (None, 1006),
#: going away (1001), server error (1011), restart (1012), try again later
#: (1013), and 4002 (the name went elsewhere in a cluster: sign in afresh).
RETRY_CLOSE_CODES: Final = frozenset({None, 1001, 1006, 1011, 1012, 1013, 4002})

_RANDOM = random.Random()


@dataclass(frozen=True, kw_only=True)
class ReconnectPolicy:
    """Exponential backoff with jitter, for a bounded number of attempts in a row.

    Attempt ``n`` (from 1) waits ``first_delay * 2 ** (n - 1)`` seconds, at most
    ``max_delay``, times a random factor in ``[1 - jitter, 1 + jitter]`` so that
    many clients do not all come back at once after a restart.
    """

    attempts: int = 10
    first_delay: float = 0.25
    max_delay: float = 5.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.attempts < 0 or self.first_delay < 0 or self.max_delay < self.first_delay:
            raise ValueError(f"impossible reconnect policy: {self}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1): {self.jitter}")

    @classmethod
    def from_setting(cls, reconnect: bool | ReconnectPolicy) -> ReconnectPolicy:
        """The policy a client's ``reconnect`` argument means (True: the default; False: never)."""
        if isinstance(reconnect, ReconnectPolicy):
            return reconnect
        return cls() if reconnect else cls(attempts=0)

    def should_retry(self, close_code: int | None) -> bool:
        """Whether a socket that closed with ``close_code`` is worth reconnecting."""
        return self.attempts > 0 and close_code in RETRY_CLOSE_CODES

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt number ``attempt`` (1 = the first)."""
        backoff = min(self.max_delay, self.first_delay * 2.0 ** max(0, attempt - 1))
        spread = (rng or _RANDOM).uniform(1 - self.jitter, 1 + self.jitter)
        return backoff * spread
