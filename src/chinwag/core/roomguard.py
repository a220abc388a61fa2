"""Budgets for room passwords: who may lock a room, and whose wrong guesses slow whom (no I/O).

A room password is a group's shared code, checked online and cheaply (see
:func:`~chinwag.core.rooms.opens`), so what stops guessing is how often a
guess is *checked*, not what a check costs:

* Wrong passwords are counted per client address, never per connection, with
  sign-in's doubling wait (:class:`~chinwag.core.limits.FailureBackoff`: 3 free,
  then 1, 2, 4 ... 60 s). While an address waits, its attempts are answered
  ``rate-limited`` unchecked, so ever-new connections gain nothing.
* A right password is always checked and never costs anything: an address
  with no wrong guesses on record is checked whatever others did, and a right
  password clears its own address's record.
* Server-wide, every check from an address with a wrong guess on record
  spends :data:`SUSPECT_TOTAL`; while it is dry only addresses with a clean
  record are checked (many guessing addresses at once slow each other, not
  the rightful members; one who mistyped during such a storm waits about a
  second).
* Locking a new room costs one from the opener's address (:data:`LOCKS_PER_ADDRESS`)
  and one from the server (:data:`LOCKS_TOTAL`): ``rate-limited`` past either.
"""

from __future__ import annotations

from typing import Final

from .limits import FailureBackoff, KeyedBuckets, Rate, TokenBucket

__all__ = ["LOCKS_PER_ADDRESS", "LOCKS_TOTAL", "SUSPECT_TOTAL", "RoomGuard"]

#: Locked rooms one address may open: 10 at once, then one every 2 s.
LOCKS_PER_ADDRESS: Final = Rate(0.5, 10.0)
#: Locked rooms the whole server opens: 200 at once, then 50 a second.
LOCKS_TOTAL: Final = Rate(50.0, 200.0)
#: Checks from addresses with a wrong guess on record, whole server: 100 at once, then 20/s.
SUSPECT_TOTAL: Final = Rate(20.0, 100.0)
_MAX_ADDRESSES: Final = 10_000  # remembered per table; the least recent go first


class RoomGuard:
    """The per-address and server-wide budgets of one node's room passwords."""

    def __init__(self, now: float) -> None:
        self._wrong = FailureBackoff(max_keys=_MAX_ADDRESSES)
        self._suspect_total = TokenBucket(SUSPECT_TOTAL, now)
        self._locks = KeyedBuckets(LOCKS_PER_ADDRESS, _MAX_ADDRESSES)
        self._locks_total = TokenBucket(LOCKS_TOTAL, now)

    def may_check(self, address: str, now: float) -> float:
        """Seconds ``address`` must wait before its password is checked (0: check it)."""
        wait = self._wrong.wait(address, now)
        if wait > 0:
            return wait
        if self._wrong.has_failed(address) and not self._suspect_total.take(SUSPECT_TOTAL, now):
            return 1.0 / SUSPECT_TOTAL.per_second
        return 0.0

    def checked(self, address: str, right: bool, now: float) -> None:
        """Record a checked password: a wrong one counts against its address."""
        if right:
            self._wrong.succeeded(address)
        else:
            self._wrong.failed(address, now)

    def may_lock(self, address: str, now: float) -> bool:
        """Spend one locked-room opening for ``address``; False: over its or the server's budget."""
        return self._locks.take(address, now) and self._locks_total.take(LOCKS_TOTAL, now)
