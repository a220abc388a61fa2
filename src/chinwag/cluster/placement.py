"""Which Janus an SFU call goes to: the least loaded, one choice per call for the cluster.

``Bus.place_call(call, loads)`` is the one way to place a call. ``loads``
maps each Janus URL the caller can reach now to its load (streams, as the
SFU link estimates them from Janus's room list). Atomically across nodes:

* a call already placed on one of those URLs stays there (the first
  claimer's pick wins, and is kept until that Janus is lost to the caller);
* otherwise the call goes to the URL with the lowest load; among equal
  loads, the one with the fewest calls placed on it (calls placed a moment
  ago whose rooms Janus does not list yet), then the first URL in sorted
  order; that choice is recorded for every node.

``Bus.unplace_call(call)`` forgets a call that ended. The memory bus runs
:func:`least_loaded` below; the Redis bus runs the same rule in Lua
(``scripts.py``, ``_PLACE_CALL``) so the read and the write are one step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

__all__ = ["call_key", "least_loaded"]


def call_key(room: str, opened: int) -> str:
    """The placement key of room ``room``'s call opened at ``opened`` (Unix ms)."""
    return f"{opened}:{room}"


def least_loaded(loads: Mapping[str, int], placed: Iterable[str]) -> str:
    """The URL of ``loads`` to place a new call on; ``placed`` lists the URL of every call
    placed now (one entry per call). ``loads`` must not be empty."""
    calls = Counter(placed)
    return min(sorted(loads), key=lambda url: (loads[url], calls[url]))
