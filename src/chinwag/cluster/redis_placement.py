"""The Redis bus's half of SFU call placement: ``place_call`` and ``unplace_call``.

A mixin of :class:`~chinwag.cluster.redis.RedisBus` (through :class:`RedisClaims`,
with the room claims of ``redisrooms.py``), apart so that module stays small;
the rule is ``placement.py``'s, run atomically by the ``_PLACE_CALL`` script
(``scripts.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .bus import BusUnavailable
from .redisrooms import RedisRoomClaims

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from .scripts import Scripts

__all__ = ["RedisClaims", "RedisPlacement"]


class _ScriptRunner(Protocol):
    @property
    def _scripts(self) -> Scripts: ...

    async def _run(self, script: AsyncScript, *args: str | bytes) -> Any: ...


class RedisPlacement:
    """``Bus.place_call``/``unplace_call`` for a bus that runs this node's Redis scripts."""

    async def place_call(self: _ScriptRunner, call: str, loads: Mapping[str, int]) -> str:
        """The Janus URL of SFU call ``call``, placed atomically in Redis (placement.py)."""
        pairs = [str(part) for url in sorted(loads) for part in (url, loads[url])]
        placed = await self._run(self._scripts.place_call, call, *pairs)
        return placed.decode() if isinstance(placed, bytes) else str(placed)

    async def unplace_call(self: _ScriptRunner, call: str) -> None:
        with contextlib.suppress(BusUnavailable):
            await self._run(self._scripts.unplace_call, call)


class RedisClaims(RedisPlacement, RedisRoomClaims):
    """The Redis bus's claims kept apart from its module: SFU calls and room settings."""
