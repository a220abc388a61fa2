"""An asyncio client of the Janus JSON API over WebSocket (subprotocol ``janus-protocol``).

One :class:`JanusSession` is one WebSocket to one Janus and one Janus session
on it, kept alive with ``keepalive`` well inside Janus's ``session_timeout``
(60 s by default). Plugin handles (:class:`JanusHandle`) are attached to it;
each request carries a fresh ``transaction`` and the ``apisecret`` when the
operator set one (Janus's ``api_secret``; never sent to browsers).

Replies, as Janus sends them:

* ``success`` answers a synchronous request (``create``, ``attach``, and
  plugin requests such as the VideoRoom's ``create``, ``kick``, ``allowed``);
* ``ack`` then ``event`` (same ``transaction``) answer an asynchronous plugin
  request (``join``, ``joinandconfigure``, ``configure``, ``start``): the
  event carries the plugin's answer and, if any, a JSEP;
* ``error`` (Janus's own) or a plugin answer with ``error_code`` (the
  plugin's): both raise :class:`JanusError`.

Events nobody asked for (``talking``, ``publishers``, ``updated``,
``webrtcup``, ``hangup``, ``detached`` ...) go to the handle's ``on_event``.
A Janus that stops answering (a request or keep-alive unanswered within
``timeout``, or its socket closed) makes the session *lost*: every pending
request fails with :class:`JanusLost` and ``on_lost`` is called once, so the
owner can move its calls elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

__all__ = [
    "JANUS_SUBPROTOCOL",
    "JanusError",
    "JanusHandle",
    "JanusLost",
    "JanusReply",
    "JanusSession",
]

log = logging.getLogger("chinwag.sfu.janus")

JANUS_SUBPROTOCOL: Final = "janus-protocol"
#: Seconds between keep-alives: Janus reclaims a session silent for 60 s.
KEEPALIVE_INTERVAL: Final = 20.0
#: Seconds a request (or keep-alive) may go unanswered before Janus counts as lost.
REQUEST_TIMEOUT: Final = 8.0

EventHandler = Callable[["JanusHandle", dict[str, Any], dict[str, Any] | None], None]


class JanusError(Exception):
    """Janus, or its plugin, refused a request: ``code`` and ``reason`` as it said."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusLost(ConnectionError):
    """The Janus went away (socket closed, or a request unanswered in time)."""


@dataclass(frozen=True, slots=True)
class JanusReply:
    """A plugin's answer: its ``data`` (``plugindata.data``) and the JSEP, if any."""

    data: dict[str, Any]
    jsep: dict[str, Any] | None = None


def _transaction() -> str:
    return secrets.token_hex(8)


def _plugin_failure(data: dict[str, Any]) -> JanusError | None:
    if "error_code" in data:
        return JanusError(int(data["error_code"]), str(data.get("error", "")))
    return None


class JanusHandle:
    """One plugin handle: requests to the plugin, and its unasked-for events."""

    def __init__(self, session: JanusSession, handle_id: int, plugin: str) -> None:
        self.session = session
        self.id = handle_id
        self.plugin = plugin
        self.on_event: EventHandler | None = None
        self.detached = False

    async def request(self, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> JanusReply:
        """Send ``body`` (and ``jsep``) to the plugin; its answer, sync or async alike.

        Raises JanusError if the plugin or Janus refused it, JanusLost if Janus went away.
        """
        message: dict[str, Any] = {"janus": "message", "handle_id": self.id, "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        reply = await self.session.send(message, wait_event=True)
        plugindata = reply.get("plugindata", {})
        data = plugindata.get("data", {}) if isinstance(plugindata, dict) else {}
        failure = _plugin_failure(data)
        if failure is not None:
            raise failure
        return JanusReply(data, reply.get("jsep"))

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """One ICE candidate for this handle's PeerConnection (None: gathering completed)."""
        sent = candidate if candidate is not None else {"completed": True}
        await self.session.send({"janus": "trickle", "handle_id": self.id, "candidate": sent})

    async def hangup(self) -> None:
        """Close this handle's PeerConnection (the handle stays attached)."""
        await self.session.send({"janus": "hangup", "handle_id": self.id})

    async def detach(self) -> None:
        """Detach from the plugin (a publisher leaves its room; a subscription ends)."""
        if self.detached or self.session.lost:
            self.detached = True
            return
        self.detached = True
        self.session.handles.pop(self.id, None)
        with contextlib.suppress(JanusError, JanusLost):
            await self.session.send({"janus": "detach", "handle_id": self.id})


class JanusSession:
    """One WebSocket and one Janus session on it; see the module docstring.

    Call :meth:`open` (or use ``async with``), then :meth:`attach`; :meth:`close`
    destroys the session and closes the socket.
    """

    def __init__(
        self,
        url: str,
        api_secret: str | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT,
        keepalive: float = KEEPALIVE_INTERVAL,
        on_lost: Callable[[JanusSession], None] | None = None,
    ) -> None:
        self.url = url
        self.api_secret = api_secret
        self.timeout = timeout
        self.keepalive_interval = keepalive
        self.on_lost = on_lost
        self.id: int | None = None
        self.handles: dict[int, JanusHandle] = {}
        self.lost = False
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        # transaction -> (its answer, whether the answer is the event after an ``ack``)
        self._pending: dict[str, tuple[asyncio.Future[dict[str, Any]], bool]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> JanusSession:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect and create the session; raises JanusLost if Janus does not answer.

        Whatever ends it early (no answer, a refusal, the caller cancelling), the
        socket and its HTTP client session are closed before it returns.
        """
        self._http = aiohttp.ClientSession()
        try:
            self._ws = await asyncio.wait_for(
                self._http.ws_connect(self.url, protocols=(JANUS_SUBPROTOCOL,), heartbeat=None),
                self.timeout,
            )
            self._tasks.append(asyncio.create_task(self._read(), name="janus-read"))
            reply = await self.send({"janus": "create"})
        except BaseException as error:
            await self._release()
            if isinstance(error, aiohttp.ClientError | OSError | TimeoutError):
                raise JanusLost(f"cannot reach Janus at {self.url}: {error}") from error
            raise
        self.id = int(reply["data"]["id"])
        self._tasks.append(asyncio.create_task(self._keep_alive(), name="janus-keepalive"))
        log.debug("janus %s: session %s", self.url, self.id)

    async def close(self) -> None:
        """Destroy the session (Janus detaches its handles) and close the socket.

        The socket and the HTTP client session are closed even when this is cancelled
        (a lost Janus's session is closed in a task that a shutdown may cancel).
        """
        try:
            if self.id is not None and not self.lost:
                with contextlib.suppress(JanusError, JanusLost):
                    await self.send({"janus": "destroy"})
        finally:
            await self._release()

    async def _release(self) -> None:
        """Stop the reader and the keep-alive, close the socket and the HTTP client session."""
        self._lose("closed", notify=False)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            try:
                if self._ws is not None:
                    await self._ws.close()
            finally:
                if self._http is not None:
                    await self._http.close()

    @property
    def released(self) -> bool:
        """True once the socket and its HTTP client session are closed (or never opened)."""
        return self._http is None or self._http.closed

    async def info(self) -> dict[str, Any]:
        """Janus's ``server_info``: version, plugins, transports (a health check too)."""
        return await self.send({"janus": "info"}, in_session=False)

    async def attach(self, plugin: str, on_event: EventHandler | None = None) -> JanusHandle:
        """A new handle on ``plugin`` (``janus.plugin.videoroom``)."""
        reply = await self.send({"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]), plugin)
        handle.on_event = on_event
        self.handles[handle.id] = handle
        return handle

    async def send(
        self, message: dict[str, Any], *, wait_event: bool = False, in_session: bool = True
    ) -> dict[str, Any]:
        """Send one request and return Janus's reply (the event, past the ``ack``, if asked).

        Raises JanusError for Janus's ``error``, JanusLost if it went away or took too long.
        """
        if self.lost or self._ws is None:
            raise JanusLost(f"Janus at {self.url} is gone")
        transaction = _transaction()
        message = {**message, "transaction": transaction}
        if in_session and self.id is not None:
            message["session_id"] = self.id
        if self.api_secret:
            message["apisecret"] = self.api_secret
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = (waiter, wait_event)
        try:
            await self._ws.send_str(json.dumps(message))
            reply = await asyncio.wait_for(waiter, self.timeout)
        except TimeoutError:
            self._lose(f"no answer to {message['janus']} within {self.timeout:.0f} s")
            raise JanusLost(f"Janus at {self.url} did not answer") from None
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as error:
            self._lose(f"send failed: {error}")
            raise JanusLost(f"Janus at {self.url} is gone") from error
        finally:
            self._pending.pop(transaction, None)
        if reply.get("janus") == "error":
            refusal = reply.get("error", {})
            raise JanusError(int(refusal.get("code", 0)), str(refusal.get("reason", "")))
        return reply

    # -- the reader and the keep-alive ------------------------------------------

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(frame.data)
                except ValueError:
                    log.warning("janus %s: a frame that is not JSON", self.url)
                    continue
                if isinstance(message, dict):
                    self._route(message)
        finally:
            self._lose("the WebSocket closed")

    def _route(self, message: dict[str, Any]) -> None:
        kind = message.get("janus")
        waiter, wait_event = self._pending.get(str(message.get("transaction")), (None, False))
        if waiter is not None and not waiter.done():
            if kind == "ack" and wait_event:
                return  # the answer follows as an event
            waiter.set_result(message)
            return
        handle = self.handles.get(message.get("sender", -1))
        if handle is None or handle.on_event is None:
            return
        if kind == "event":
            plugindata = message.get("plugindata", {})
            data = plugindata.get("data", {}) if isinstance(plugindata, dict) else {}
            handle.on_event(handle, data, message.get("jsep"))
        elif kind in ("webrtcup", "hangup", "media", "slowlink", "detached"):
            handle.on_event(handle, {"janus": kind, **message}, None)

    async def _keep_alive(self) -> None:
        while not self.lost:
            await asyncio.sleep(self.keepalive_interval)
            with contextlib.suppress(JanusLost, JanusError):
                await self.send({"janus": "keepalive"})

    def _lose(self, why: str, *, notify: bool = True) -> None:
        if self.lost:
            return
        self.lost = True
        if notify:
            log.warning("janus %s: lost (%s)", self.url, why)
        for waiter, _ in self._pending.values():
            if not waiter.done():
                waiter.set_exception(JanusLost(f"Janus at {self.url} is gone: {why}"))
        if notify and self.on_lost is not None:
            self.on_lost(self)
