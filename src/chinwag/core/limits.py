"""Rate limits as token buckets (no I/O: the caller passes the time)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["FailureBackoff", "FloodPolicy", "FrameBudget", "KeyedBuckets", "Rate", "TokenBucket"]


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

    def take(self, rate: Rate, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are that many; False means over the limit."""
        per_second = rate.per_second
        if per_second <= 0:
            return True
        tokens = self._tokens + (now - self._at) * per_second
        if tokens > rate.burst:
            tokens = rate.burst
        self._at = now
        if tokens < cost:
            self._tokens = tokens
            return False
        self._tokens = tokens - cost
        return True


class KeyedBuckets:
    """One :class:`TokenBucket` per key (a client address), at most ``max_keys`` of them.

    The least recently used key is forgotten first, so memory is bounded
    however many addresses there are; a forgotten key starts full again.
    """

    __slots__ = ("_buckets", "max_keys", "rate")

    def __init__(self, rate: Rate, max_keys: int = 10_000) -> None:
        self.rate, self.max_keys = rate, max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` from ``key``'s bucket; False means ``key`` is over the limit."""
        bucket = self._buckets.pop(key, None) or TokenBucket(self.rate, now)
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(self.rate, now, cost)


@dataclass(frozen=True, slots=True)
class FloodPolicy:
    """What one connection may cost before its frames are even parsed.

    ``frames``: every frame, valid or not, data or control. ``errors``: error
    replies the connection may receive (the rest are not sent). ``violations``:
    frames over the frame budget and frames answered with an error; when this
    runs dry the connection is closed with POLICY_VIOLATION.
    """

    frames: Rate
    errors: Rate = Rate(5.0, 10.0)
    violations: Rate = Rate(1.0, 20.0)


class FrameBudget:
    """One connection's three buckets of :class:`FloodPolicy`."""

    __slots__ = ("_errors", "_frame_tokens", "_frames_at", "_violations", "policy")

    def __init__(self, policy: FloodPolicy, now: float) -> None:
        self.policy = policy
        self._frame_tokens = policy.frames.burst
        self._frames_at = now
        self._errors = TokenBucket(policy.errors, now)
        self._violations = TokenBucket(policy.violations, now)

    def frame(self, now: float) -> bool:
        """Spend for one frame; False: drop it unparsed and call :meth:`violation`."""
        # TokenBucket.take, inlined: this runs for every frame of every client.
        rate = self.policy.frames
        if rate.per_second <= 0:
            return True
        tokens = self._frame_tokens + (now - self._frames_at) * rate.per_second
        self._frames_at = now
        if tokens > rate.burst:
            tokens = rate.burst
        if tokens < 1:
            self._frame_tokens = tokens
            return False
        self._frame_tokens = tokens - 1
        return True

    def error_reply(self, now: float) -> bool:
        """Spend for one error reply; False: leave it unsent."""
        return self._errors.take(self.policy.errors, now)

    def violation(self, now: float) -> bool:
        """Count one violation; False: too many, close the connection."""
        return self._violations.take(self.policy.violations, now)


class FailureBackoff:
    """Failed attempts per key (a client address), with a doubling wait.

    The first ``free`` failures cost nothing; after that each failure makes
    the key wait ``first`` seconds, then twice as long each time, up to
    ``longest``. A success forgets the key. At most ``max_keys`` keys are
    remembered (the least recently failed go first), so memory is bounded in
    total however many addresses an attacker has.
    """

    __slots__ = ("_failures", "first", "free", "longest", "max_keys")

    def __init__(
        self, free: int = 3, first: float = 1.0, longest: float = 60.0, max_keys: int = 10_000
    ) -> None:
        self.free, self.first, self.longest, self.max_keys = free, first, longest, max_keys
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (failures, wait until)

    def wait(self, key: str, now: float) -> float:
        """Seconds ``key`` must still wait before its next attempt (0: go ahead)."""
        entry = self._failures.get(key)
        return max(0.0, entry[1] - now) if entry is not None else 0.0

    def has_failed(self, key: str) -> bool:
        """Whether ``key`` has a failure on record (since its last success)."""
        return key in self._failures

    def failed(self, key: str, now: float) -> None:
        count = self._failures.pop(key, (0, 0.0))[0] + 1
        over = count - self.free
        delay = min(self.longest, self.first * 2 ** (over - 1)) if over > 0 else 0.0
        self._failures[key] = (count, now + delay)
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
