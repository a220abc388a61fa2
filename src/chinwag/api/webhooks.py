"""Webhooks: signed JSON events POSTed to the operator's receivers, off the relay's path.

The core reports what happened on this node (``RoomEvent``, ``Moderated``);
the server hands each to :meth:`Webhooks.observe`, which only builds the body
and appends it to one bounded queue per receiver: nothing here ever waits on
the relay's path. One task per receiver (owned by :meth:`Webhooks.run`'s task
group) sends its queue in order with aiohttp, retrying a failed delivery with
exponential back-off before giving up on it; a full queue drops its oldest
event. ``/metrics`` counts each outcome (``chinwag_webhooks_total``).

Each body is ``{"id", "event", "timestamp", "data"}``, signed with
``X-Chinwag-Signature: sha256=<hex HMAC-SHA256 of the raw body>``. The body
carries its own id and timestamp, so the signature covers them: a receiver
refuses old timestamps and ids it has seen (replay), see ``docs/api.md``.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import Counter
from typing import Any, Final

import aiohttp

from ..core.effects import Moderated, RoomEvent

__all__ = ["SIGNATURE_HEADER", "Webhooks", "sign"]

log = logging.getLogger("chinwag.api.webhooks")

SIGNATURE_HEADER: Final = "X-Chinwag-Signature"
#: Seconds one delivery attempt may take (connect, send, answer).
ATTEMPT_TIMEOUT: Final = 5.0
#: Seconds before the first retry; doubled after each failure, at most ``MAX_DELAY``.
FIRST_DELAY: Final = 0.5
MAX_DELAY: Final = 30.0


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Chinwag-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def event_body(event: Moderated | RoomEvent, now: float) -> bytes:
    """The JSON body of ``event``: a fresh id, the time in ms, and what happened."""
    if isinstance(event, Moderated):
        name = "moderation"
        data: dict[str, Any] = {
            "room": event.room,
            "action": event.action,
            "by": event.by or None,
            "target": event.target or None,
            **dict(event.detail),
        }
    else:
        name = event.event
        data = {"room": event.room, **dict(event.detail)}
        if event.name:
            data["name"] = event.name
    message = {
        "id": secrets.token_hex(12),
        "event": name,
        "timestamp": int(now * 1000),
        "data": data,
    }
    return json.dumps(message, separators=(",", ":")).encode()


class _Receiver:
    """One receiver's queue: bounded, oldest dropped first, sent in order."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.queue: collections.deque[bytes] = collections.deque()
        self.size = size
        self.ready = asyncio.Event()


class Webhooks:
    """Every receiver's queue and the tasks that empty them (see the module's docstring)."""

    def __init__(
        self,
        urls: list[str],
        secret: str,
        counts: Counter[str],
        queue_size: int = 1000,
        attempts: int = 6,
    ) -> None:
        self._receivers = [_Receiver(url, queue_size) for url in urls]
        self._secret = secret.encode()
        self._counts = counts
        self._attempts = attempts

    def observe(self, event: Moderated | RoomEvent) -> None:
        """Queue ``event`` for every receiver (never waits)."""
        body = event_body(event, time.time())
        for receiver in self._receivers:
            if len(receiver.queue) >= receiver.size:
                receiver.queue.popleft()
                self._counts["dropped"] += 1
            receiver.queue.append(body)
            receiver.ready.set()

    async def run(self) -> None:
        """Deliver until cancelled (the server cancels it when it stops)."""
        timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session, asyncio.TaskGroup() as group:
            for receiver in self._receivers:
                group.create_task(self._drain(session, receiver))

    async def _drain(self, session: aiohttp.ClientSession, receiver: _Receiver) -> None:
        while True:
            await receiver.ready.wait()
            while receiver.queue:
                body = receiver.queue[0]
                delivered = await self._deliver(session, receiver.url, body)
                self._counts["delivered" if delivered else "failed"] += 1
                if receiver.queue and receiver.queue[0] is body:  # not dropped meanwhile
                    receiver.queue.popleft()
            receiver.ready.clear()

    async def _deliver(self, session: aiohttp.ClientSession, url: str, body: bytes) -> bool:
        """POST ``body`` until a 2xx answer or ``attempts`` tries; True if delivered."""
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, body)}
        delay = FIRST_DELAY
        for attempt in range(1, self._attempts + 1):
            try:
                async with session.post(url, data=body, headers=headers) as answer:
                    if 200 <= answer.status < 300:
                        return True
                    why = f"HTTP {answer.status}"
            except (aiohttp.ClientError, TimeoutError) as error:
                why = f"{type(error).__name__}: {error}"
            if attempt == self._attempts:
                log.warning("webhook to %s failed %d times (%s); event dropped", url, attempt, why)
                return False
            log.info("webhook to %s failed (%s); retrying in %.1f s", url, why, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
        return False
