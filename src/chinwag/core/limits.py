"""Rate limits as token buckets (no I/O: the caller passes the time)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Rate", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_second`` sustained, ``burst`` at once; ``per_second <= 0`` means unlimited."""

    per_second: float
    burst: float


class TokenBucket:
    """Allows ``rate.burst`` events at once and ``rate.per_second`` after that."""

    __slots__ = ("_at", "_tokens")

    def __init__(self, rate: Rate, now: float) -> None:
        self._tokens = rate.burst
        self._at = now

    def take(self, rate: Rate, now: float) -> bool:
        """Spend one token if there is one; False means over the limit."""
        per_second = rate.per_second
        if per_second <= 0:
            return True
        tokens = self._tokens + (now - self._at) * per_second
        if tokens > rate.burst:
            tokens = rate.burst
        self._at = now
        if tokens < 1:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1
        return True
