"""A queue of a :class:`~chinwag.client.ChinwagClient`'s events, for one reader.

Made by the client's fan-out (``fanout.py``), which it knows only through two
callables: how to stop receiving, and the close code to raise with at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, overload

from .errors import ConnectionClosed
from .events import E, ErrorReceived, Event

__all__ = ["Subscription"]


class Subscription:
    """A queue of every event that arrives after it was created.

    Use it as ``with client.subscribe() as events:``; iterate it, or
    :meth:`wait_for` one kind of event. Create it *before* sending what the
    awaited event answers, so the answer cannot slip past.
    """

    def __init__(
        self,
        unsubscribe: Callable[[Subscription], None],
        close_code: Callable[[], int | None],
    ) -> None:
        self._unsubscribe = unsubscribe
        self._close_code = close_code  # the client's, read when the end is seen
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving events."""
        self._unsubscribe(self)

    def _put(self, event: Event | None) -> None:
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        """The next event; raises ConnectionClosed once the connection has closed.

        Bound the wait with ``async with asyncio.timeout(seconds):``.
        """
        event = await self._queue.get()
        if event is None:
            self._queue.put_nowait(None)  # every later get() sees the end too
            raise ConnectionClosed(code=self._close_code())
        return event

    @overload
    async def wait_for(
        self, kind: type[E], /, *, where: Callable[[E], bool] | None = None
    ) -> E: ...

    @overload
    async def wait_for(
        self, *kinds: type[Event], where: Callable[[Any], bool] | None = None
    ) -> Event: ...

    async def wait_for(
        self, *kinds: type[Event], where: Callable[[Any], bool] | None = None
    ) -> Event:
        """Skip events until one of ``kinds`` (matching ``where``) arrives, and return it.

        An :class:`ErrorReceived` that is not among ``kinds`` is raised as
        :class:`ErrorReply`: list ``ErrorReceived`` to get errors as events.
        Bound the wait with ``async with asyncio.timeout(seconds):``.
        """
        while True:
            event = await self.get()
            if isinstance(event, kinds) and (where is None or where(event)):
                return event
            if isinstance(event, ErrorReceived) and ErrorReceived not in kinds:
                raise event.exception()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            try:
                yield await self.get()
            except ConnectionClosed:
                return
