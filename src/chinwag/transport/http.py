"""HTTP/1.1 on one connection through h11: one request at a time, a bounded life.

A connection's requests are answered strictly in turn, and only while the
connection is not held (its unsent output under the limit, see ``writer.py``):
a client that pipelines requests and never reads gets no further than the
first responses that fill its send buffer, and stops being read. A keep-alive
connection answers at most :data:`MAX_REQUESTS` requests (the last response
says ``Connection: close``); its idle timer restarts per request but never
past :data:`LIFETIME_TIMEOUTS` times ``http_timeout`` after it was accepted.

Request bodies are refused unless a route takes one (``Routes.body_routes``):
a request with ``Transfer-Encoding`` (alone or beside ``Content-Length``, the
request-smuggling shape) gets 400 and the connection is closed; an upgrade
with a body gets 400 (its body would otherwise be read as WebSocket frames);
a ``Content-Length`` over the route's limit gets 413, closed, unread. A body
a route takes is read whole (at most its limit) and handed to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Final, Protocol

import h11

from .routes import Response, Routes
from .websocket import accept_key, handshake_problem

__all__ = ["LIFETIME_TIMEOUTS", "MAX_REQUESTS", "HttpConnection", "HttpExchange", "plain_refusal"]

MAX_REQUESTS: Final = 100
LIFETIME_TIMEOUTS: Final = 4
_WEBSOCKET_PATHS: Final = frozenset({"/", "/ws"})


class HttpConnection(Protocol):
    """What an exchange uses of its connection (``transport.connection.Connection``)."""

    holds: int  # not 0: held, answer nothing more for now
    routes: Routes  # what this listener serves

    @property
    def is_http(self) -> bool: ...

    def write(self, data: bytes) -> None: ...

    def arm_http_timer(self) -> None: ...

    def upgrade_problem(self, headers: Mapping[str, str]) -> tuple[int, str] | None: ...

    def open_websocket(self, leftover: bytes) -> None: ...

    def close_transport(self) -> None: ...

    def abort(self) -> None: ...


class HttpExchange:
    """The HTTP side of one :class:`~chinwag.transport.connection.Connection`."""

    __slots__ = ("_body", "_connection", "_h11", "_waiting", "requests")

    def __init__(self, connection: HttpConnection) -> None:
        self._connection = connection
        self._h11 = h11.Connection(h11.SERVER)
        self.requests = 0
        self._waiting: tuple[str, str, dict[str, str]] | None = None  # a request reading its body
        self._body = bytearray()

    def receive(self, data: bytes) -> None:
        """Bytes from the socket: buffer them, then answer what is complete."""
        self._h11.receive_data(data)
        self.process()

    def process(self) -> None:
        """Answer buffered requests in turn until one is incomplete or the connection is held."""
        http = self._h11
        connection = self._connection
        try:
            while not connection.holds and connection.is_http:
                event = http.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    return
                if isinstance(event, h11.Request):
                    self._request(event)
                elif isinstance(event, h11.Data) and self._waiting is not None:
                    self._body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    if self._waiting is not None:
                        self._answer(*self._waiting, bytes(self._body))
                        self._waiting, self._body = None, bytearray()
                    self._next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    connection.abort()
                    return
        except h11.RemoteProtocolError as error:
            self._send(Response(400, f"bad request: {error}\n".encode()))
            connection.close_transport()

    def _next_cycle(self) -> None:
        http = self._h11
        if http.our_state is h11.MUST_CLOSE:
            self._connection.close_transport()
        elif http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
            self._connection.arm_http_timer()

    def _request(self, request: h11.Request) -> None:
        self.requests += 1
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
        target = request.target.decode("latin-1")
        method = request.method.decode()
        routes = self._connection.routes
        upgrade = (
            routes.websockets
            and "upgrade" in headers
            and target.split("?", 1)[0] in _WEBSOCKET_PATHS
        )
        refusal = _body_refusal(headers, upgrade, routes.body_limit(method, target))
        if refusal is not None:
            status, problem = refusal
            self._send(Response(status, problem.encode(), headers=(("Connection", "close"),)))
            self._connection.close_transport()
            return
        if upgrade:
            self._upgrade(method, headers)
        elif headers.get("content-length", "0") != "0":
            self._waiting = (method, target, headers)  # answered at the body's end
        else:
            self._answer(method, target, headers)

    def _answer(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> None:
        response = self._connection.routes.respond(method, target, headers, body)
        length = len(response.body)
        if method == "HEAD":
            response = Response(response.status, b"", response.content_type, response.headers)
        self._send(response, length)

    def _send(self, response: Response, length: int | None = None) -> None:
        headers = response.all_headers()
        if length is not None:
            headers = [(k, str(length) if k == "Content-Length" else v) for k, v in headers]
        if self.requests >= MAX_REQUESTS:
            headers.append(("Connection", "close"))
        http = self._h11
        try:
            reason = HTTPStatus(response.status).phrase.encode()
            out = http.send(
                h11.Response(status_code=response.status, headers=headers, reason=reason)
            )
            if response.body:
                out += http.send(h11.Data(data=response.body))
            out += http.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            self._connection.abort()
            return
        self._connection.write(out)

    def _upgrade(self, method: str, headers: Mapping[str, str]) -> None:
        connection = self._connection
        invalid = handshake_problem(method, headers)
        refusal = (400, invalid) if invalid else connection.upgrade_problem(headers)
        if refusal is not None:
            status, problem = refusal
            self._send(
                Response(status, f"{problem}\n".encode(), headers=(("Connection", "close"),))
            )
            return
        offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
        response_headers = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept_key(headers["sec-websocket-key"])),
        ]
        if "json" in offered:
            response_headers.append(("Sec-WebSocket-Protocol", "json"))
        connection.write(
            self._h11.send(h11.InformationalResponse(status_code=101, headers=response_headers))
        )
        leftover, _ = self._h11.trailing_data
        connection.open_websocket(bytes(leftover))


def _body_refusal(headers: Mapping[str, str], upgrade: bool, limit: int) -> tuple[int, str] | None:
    """(status, reason) for a request whose body chinwag will not read, else None."""
    if "transfer-encoding" in headers:
        return 400, "bad request: Transfer-Encoding is not accepted; send Content-Length\n"
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:  # h11 checked the header; this is only a belt
        return 400, "bad request: Content-Length is not a number\n"
    if length and upgrade:
        return 400, "bad request: an upgrade request carries no body\n"
    if length > limit:
        return 413, f"this request takes no body over {limit} bytes\n"
    return None


def plain_refusal(status: int, reason: str) -> bytes:
    """A whole ``Connection: close`` response for a client refused before h11 read anything."""
    body = f"{reason}\n".encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
