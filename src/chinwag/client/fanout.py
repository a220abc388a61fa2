"""Event fan-out: each event a :class:`~chinwag.client.ChinwagClient` reads goes to
every :class:`~chinwag.client.Subscription` and every callback registered with
``client.on``.

A callback that is a coroutine function runs as a task this fan-out keeps
until it ends; its failure is logged, never raised into the reader.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .events import Event
from .subscription import Subscription

__all__ = ["Callback", "EventFanout"]

logger = logging.getLogger("chinwag.client")

#: What :meth:`ChinwagClient.on` takes: a plain or async function of one event.
Callback = Callable[[Any], Awaitable[None] | None]


class EventFanout:
    """The subscriptions and callbacks of one client, and the end they all see."""

    def __init__(self, name: Callable[[], str], close_code: Callable[[], int | None]) -> None:
        self._name = name  # the client's current name, for log lines
        self._close_code = close_code
        self._subscriptions: set[Subscription] = set()
        self._callbacks: list[tuple[type[Event], Callback]] = []
        self._callback_tasks: set[asyncio.Future[None]] = set()
        self._finished = False  # the connection has ended; subscriptions see the end at once

    def subscribe(self) -> Subscription:
        """A new queue of every event from now on (ended at once if the client has)."""
        subscription = Subscription(self._subscriptions.discard, self._close_code)
        if self._finished:
            subscription._put(None)
        else:
            self._subscriptions.add(subscription)
        return subscription

    def on(self, event_type: type[Event], callback: Callback) -> None:
        """Call ``callback(event)`` for each later event of ``event_type``."""
        self._callbacks.append((event_type, callback))

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every subscription, then to each callback that wants it."""
        for subscription in list(self._subscriptions):
            subscription._put(event)
        for event_type, callback in self._callbacks:
            if isinstance(event, event_type):
                self._run_callback(callback, event)

    def finish(self) -> None:
        """The connection has ended: every subscription, present and future, sees the end."""
        self._finished = True
        for subscription in list(self._subscriptions):
            subscription._put(None)
        self._subscriptions.clear()

    def _run_callback(self, callback: Callback, event: Event) -> None:
        try:
            result = callback(event)
        except Exception:
            logger.exception("%s: callback for %s failed", self._name(), type(event).__name__)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._callback_tasks.add(task)
            task.add_done_callback(self._callback_done)

    def _callback_done(self, task: asyncio.Future[None]) -> None:
        self._callback_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: callback failed", self._name(), exc_info=task.exception())
