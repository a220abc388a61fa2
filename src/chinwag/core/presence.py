"""Coalesced presence: what changed since the last update, netted out (no I/O).

Changes are recorded as they happen (``touch``, ``rename``); ``take`` hands
back one update for the interval: whether the list changed at all (reference
clients then get the whole ``userlist``), and the net ``presence`` delta for
``deltas`` clients, computed against what those clients last saw, so a user
who joined and left within one interval is no news at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PresenceTracker", "Update"]


@dataclass(slots=True)
class Update:
    list_changed: bool
    delta: dict[str, Any] | None
    fresh: set[int]  # deltas connections owed a full list instead of the delta


@dataclass(slots=True)
class _Changes:
    touched: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)  # new name -> old name
    fresh: set[int] = field(default_factory=set)


class PresenceTracker:
    """Records changes and nets them out once per interval."""

    def __init__(self) -> None:
        self._changes = _Changes()
        self._seen: dict[str, bool] = {}  # name -> busy, as deltas clients know it

    @property
    def pending(self) -> bool:
        return bool(self._changes.touched or self._changes.fresh)

    def touch(self, name: str) -> None:
        """``name`` joined, left, or became busy or idle."""
        self._changes.touched.add(name)

    def rename(self, old: str, new: str) -> None:
        self._changes.renamed[new] = self._changes.renamed.pop(old, old)
        self.touch(old)
        self.touch(new)

    def owe_full_list(self, conn: int) -> None:
        self._changes.fresh.add(conn)

    def forget(self, conn: int) -> None:
        self._changes.fresh.discard(conn)

    def take(self, order: Mapping[str, None], is_busy: Callable[[str], bool]) -> Update:
        """The update for this interval; ``order`` is every name in list order."""
        changes, self._changes = self._changes, _Changes()
        return Update(bool(changes.touched), self._delta(changes, order, is_busy), changes.fresh)

    def _delta(
        self, changes: _Changes, order: Mapping[str, None], is_busy: Callable[[str], bool]
    ) -> dict[str, Any] | None:
        seen = self._seen
        joined: list[str] = []
        left: list[str] = []
        busy: list[str] = []
        idle: list[str] = []
        for name in changes.touched:
            was = seen.get(name)
            now = is_busy(name) if name in order else None
            if was is None and now is not None:
                joined.append(name)
            elif was is not None and now is None:
                left.append(name)
            if now is not None and now != bool(was):
                (busy if now else idle).append(name)
            if now is None:
                seen.pop(name, None)
            else:
                seen[name] = now
        renamed = []
        for new, old in changes.renamed.items():
            if new in joined and old in left:
                joined.remove(new)
                left.remove(old)
                renamed.append([old, new])
        if not (joined or left or renamed or busy or idle):
            return None
        position = {name: i for i, name in enumerate(order)} if len(joined) > 1 else {}
        joined.sort(key=lambda name: position.get(name, 0))
        return {
            "type": "presence",
            "joined": joined,
            "left": sorted(left),
            "renamed": renamed,
            "busy": sorted(busy),
            "idle": sorted(idle),
        }


class RoomPresence:
    """One :class:`PresenceTracker` per room: nobody hears of another room's people.

    A user moving from room A to room B is a ``left`` in A and a ``joined``
    in B. A room's tracker goes once it has nothing pending and nobody in
    the room (a room that opens again starts from a clean slate, and whoever
    joins it is owed a full list anyway).
    """

    def __init__(self) -> None:
        self._rooms: dict[str, PresenceTracker] = {}
        #: Rooms whose tracker was handed out since they were last seen idle: only
        #: these can be pending, so ``pending`` (asked after every input) does not
        #: scan a thousand quiet rooms.
        self._maybe_pending: set[str] = set()

    @property
    def pending(self) -> bool:
        if not self._maybe_pending:  # the usual answer, asked after every input
            return False
        for room in list(self._maybe_pending):
            tracker = self._rooms.get(room)
            if tracker is not None and tracker.pending:
                return True
            self._maybe_pending.discard(room)
        return False

    def room(self, room: str) -> PresenceTracker:
        tracker = self._rooms.get(room)
        if tracker is None:
            tracker = self._rooms[room] = PresenceTracker()
        self._maybe_pending.add(room)
        return tracker

    def touch(self, room: str | None, name: str) -> None:
        """``name`` joined, left, or became busy or idle in ``room`` (a key; None: nowhere)."""
        if room is not None:
            self.room(room).touch(name)

    def forget(self, conn: int) -> None:
        for tracker in self._rooms.values():
            tracker.forget(conn)

    def take(
        self, orders: Callable[[str], Mapping[str, None]], is_busy: Callable[[str], bool]
    ) -> list[tuple[str, Update]]:
        """This interval's update of each room that has one; ``orders(room)`` lists its names."""
        updates = []
        for room, tracker in list(self._rooms.items()):
            if tracker.pending:
                updates.append((room, tracker.take(orders(room), is_busy)))
            if not orders(room) and not tracker.pending:
                del self._rooms[room]
        return updates
