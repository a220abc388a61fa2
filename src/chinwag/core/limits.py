"""Rate limits as token buckets (no I/O: the caller passes the time)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FailureBackoff", "FloodPolicy", "FrameBudget", "Rate", "TokenBucket"]


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
    """Failed attempts per key (a client address), with waits that double.

    ``free`` failures cost nothing; each further one makes the key wait
    ``base`` seconds, doubling up to ``longest``. A key with no failure for
    ``forget_after`` seconds starts afresh. At most ``max_keys`` keys are
    remembered (the oldest failure is forgotten first), so memory is bounded
    whatever the number of addresses.
    """

    def __init__(
        self,
        free: int = 5,
        base: float = 1.0,
        longest: float = 60.0,
        forget_after: float = 600.0,
        max_keys: int = 10_000,
    ) -> None:
        self.free, self.base, self.longest = free, base, longest
        self.forget_after, self.max_keys = forget_after, max_keys
        #: key -> (failures, last failure, wait until); empty while nobody failed lately
        self.failures: dict[str, tuple[int, float, float]] = {}

    def failed(self, key: str, now: float) -> float:
        """Record a failure; return how long ``key`` must now wait (0: not yet)."""
        count, last, _ = self.failures.pop(key, (0, now, now))
        if now - last > self.forget_after:
            count = 0
        count += 1
        excess = count - self.free
        wait = 0.0 if excess <= 0 else min(self.longest, self.base * 2 ** (excess - 1))
        self.failures[key] = (count, now, now + wait)
        if len(self.failures) > self.max_keys:
            del self.failures[next(iter(self.failures))]
        return wait

    def wait(self, key: str, now: float) -> float:
        """Seconds ``key`` must still wait before its next attempt is looked at."""
        entry = self.failures.get(key)
        return 0.0 if entry is None else max(0.0, entry[2] - now)
