"""Who is calling or talking to whom, as the server sees it (no I/O).

The server does not take part in calls; it follows the signaling it relays:
``call-invite``/``video-offer`` open a call (the caller rings the callee),
``call-accept``/``video-answer`` make it active, ``call-decline``/``hang-up``
end it. The lobby uses this book to mark users busy and to hang up the
partners of someone who leaves.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

__all__ = ["CallBook"]

_OPENERS = frozenset({"call-invite", "video-offer"})
_ACCEPTS = frozenset({"call-accept", "video-answer"})
_ENDERS = frozenset({"call-decline", "hang-up"})


@dataclass(slots=True)
class _Partner:
    name: str
    active: bool = False  # answered, not just ringing


class CallBook:
    """Pairs of users by name; every method returns whose busy state changed."""

    def __init__(self) -> None:
        self._partners: dict[str, _Partner] = {}
        self._callers: dict[str, set[str]] = {}  # callee -> callers ringing it

    def partner_of(self, name: str) -> str | None:
        partner = self._partners.get(name)
        return partner.name if partner else None

    def in_call(self, name: str) -> bool:
        partner = self._partners.get(name)
        return partner is not None and partner.active

    def active_pairs(self, among: Container[str]) -> int:
        """Active calls with at least one side in ``among``."""
        return len(
            {
                frozenset((name, p.name))
                for name, p in self._partners.items()
                if p.active and name in among
            }
        )

    def follow(self, sender: str, target: str, kind: str) -> list[str]:
        """Update the book for one relayed message of type ``kind``."""
        if sender == target:
            return []
        if kind in _OPENERS:
            if sender not in self._partners:
                self._partners[sender] = _Partner(target)
                self._callers.setdefault(target, set()).add(sender)
            return []
        if kind in _ACCEPTS:
            caller = self._partners.get(target)
            if caller is None or caller.name != sender or caller.active:
                return []
            self._stop_ringing(sender, target)
            self._partners[target] = _Partner(sender, active=True)
            self._partners[sender] = _Partner(target, active=True)
            return [sender, target]
        if kind in _ENDERS:
            return self.unpair(sender, target)
        return []

    def unpair(self, one: str, other: str) -> list[str]:
        changed = []
        for a, b in ((one, other), (other, one)):
            partner = self._partners.get(a)
            if partner is not None and partner.name == b:
                del self._partners[a]
                self._stop_ringing(b, a)
                if partner.active:
                    changed.append(a)
        return changed

    def end_all(self, name: str) -> tuple[list[str], list[str]]:
        """``name`` is gone: (everyone it was ringing or talking to, whose busy changed)."""
        others = set(self._callers.pop(name, ()))
        partner = self._partners.get(name)
        if partner is not None:
            others.add(partner.name)
        changed: list[str] = []
        for other in sorted(others):
            changed += self.unpair(name, other)
        return sorted(others), changed

    def rename(self, old: str, new: str) -> None:
        partner = self._partners.pop(old, None)
        if partner is not None:
            self._partners[new] = partner
            other = self._partners.get(partner.name)
            if other is not None and other.name == old:
                other.name = new
            callers = self._callers.get(partner.name)
            if callers is not None and old in callers:
                callers.discard(old)
                callers.add(new)
        callers_of_old = self._callers.pop(old, None)
        if callers_of_old:
            self._callers[new] = callers_of_old
            for caller in callers_of_old:
                self._partners[caller].name = new

    def restore(self, name: str, partner: str | None, active: bool) -> None:
        """Carry on a call that ``name`` had on another node (its session moved here)."""
        if partner is None or name in self._partners:
            return
        self._partners[name] = _Partner(partner, active)
        if not active:
            self._callers.setdefault(partner, set()).add(name)
        elif partner not in self._partners:
            self._partners[partner] = _Partner(name, active=True)

    def _stop_ringing(self, callee: str, caller: str) -> None:
        callers = self._callers.get(callee)
        if callers is not None:
            callers.discard(caller)
            if not callers:
                del self._callers[callee]
