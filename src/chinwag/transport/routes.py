"""Plain HTTP routes: the web client's files and small JSON/text endpoints.

No I/O here beyond reading the packaged web files once at start-up: a request
(method, path, headers) goes in, a :class:`Response` comes out. The transport
speaks HTTP/1.1 with h11 (``http.py``) and calls :meth:`Routes.respond`.
Every endpoint is here: the web files, ``/healthz`` (``/live``, ``/ready``),
``/api/ice-servers`` and ``/metrics`` (on the main port, or alone on
``metrics_listen``; behind ``metrics_token`` when set).
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final, Protocol
from urllib.parse import parse_qs, unquote

from .. import __version__
from ..config import Settings
from ..core.lobby import Lobby
from ..core.roomdesk import ROOM_LIST_AGE
from ..extras import install_hint

__all__ = [
    "Response",
    "Routes",
    "ServerView",
    "json_response",
    "load_web_files",
    "metrics_endpoint",
    "room_from_path",
    "server_endpoints",
    "text",
]

#: The page may load only its own files and talk only to its own server.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    def all_headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
            ("Cache-Control", "no-cache"),
            *_SECURITY_HEADERS,
            *self.headers,
        ]


def text(status: int, body: str) -> Response:
    return Response(status, body.encode())


def json_response(status: int, value: Any) -> Response:
    return Response(status, json.dumps(value).encode(), "application/json")


mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/css", ".css")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/manifest+json", ".webmanifest")


def load_web_files() -> dict[str, Response]:
    """Read every packaged web file once; map URL path -> ready response."""
    files: dict[str, Response] = {}
    root = resources.files("chinwag") / "web"

    def walk(node: Any, prefix: str) -> None:
        for entry in node.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif not entry.name.startswith(".") and not entry.name.endswith(".py"):
                kind = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind.endswith("json"):
                    kind += "; charset=utf-8"
                files[f"/{prefix}{entry.name}"] = Response(200, entry.read_bytes(), kind)

    walk(root, "")
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    if "/check.html" in files:
        files["/check"] = files["/check.html"]
    return files


#: A query string's fields (``urllib.parse.parse_qs``).
Query = Mapping[str, list[str]]
#: A ``GET`` endpoint: the request's headers and query.
Handler = Callable[[Mapping[str, str], Query], Response]
#: A route that takes a request body (``POST``): the headers and the whole body.
BodyHandler = Callable[[Mapping[str, str], bytes], Response]


@dataclass(frozen=True)
class BodyRoute:
    """A ``POST`` route and the largest ``Content-Length`` body it takes (more: 413)."""

    limit: int
    handler: BodyHandler


#: A room's page: ``/r/<percent-encoded room name>``.
ROOM_PREFIX = "/r/"


def room_from_path(path: str) -> str | None:
    """The room a ``/r/...`` path names, percent-decoded (not validated), or None."""
    if not path.startswith(ROOM_PREFIX):
        return None
    return unquote(path[len(ROOM_PREFIX) :], errors="replace")


@dataclass
class Routes:
    """Static files plus named endpoints; everything else is 404.

    ``/r/<room>`` serves the web client's page for any room name, valid or
    not: the page reads the room from its address and shows the server's
    ``bad-room`` (or ``no-such-room``) after signing in.
    """

    files: dict[str, Response]
    endpoints: dict[str, Handler] = field(default_factory=dict)
    websockets: bool = True  # False on the metrics-only listener
    #: The only routes that take a request body (by path). Every other request
    #: with a body is refused before it is read (see ``http.py``).
    body_routes: dict[str, BodyRoute] = field(default_factory=dict)

    def body_limit(self, method: str, target: str) -> int:
        """The largest body a request may carry to ``target`` (0: none)."""
        route = self.body_routes.get(target.split("?", 1)[0])
        return route.limit if route is not None and method == "POST" else 0

    def respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Response:
        path = target.split("?", 1)[0]
        route = self.body_routes.get(path)
        if route is not None:
            if method == "POST":
                return route.handler(headers, body)
            return Response(405, b"method not allowed\n", headers=(("Allow", "POST"),))
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        endpoint = self.endpoints.get(path)
        if endpoint is not None:
            return endpoint(headers, parse_qs(target.partition("?")[2]))
        found = self.files.get(path)
        if found is None and room_from_path(path) is not None:
            found = self.files.get("/")
        return found if found is not None else text(404, "not found\n")


class ServerView(Protocol):
    """What the server endpoints read from the running server."""

    settings: Settings
    lobby: Lobby
    metrics_registry: Any  # a prometheus_client registry, or None without the extra

    @property
    def websocket_count(self) -> int: ...

    def readiness_problem(self) -> str | None: ...


METRICS_MISSING: Final = (
    f"metrics need prometheus_client, which is not installed; from a checkout: "
    f"{install_hint('metrics')}\n"
)


def server_endpoints(server: ServerView) -> dict[str, Handler]:
    """The health, readiness, ICE and metrics endpoints of one server."""

    def health(headers: Mapping[str, str], query: Query) -> Response:
        return json_response(
            200,
            {
                "status": "ok",
                "version": __version__,
                "connections": server.websocket_count,
                "users": len(server.lobby.usernames()),
            },
        )

    def live(headers: Mapping[str, str], query: Query) -> Response:
        return text(200, "live\n")

    def ready(headers: Mapping[str, str], query: Query) -> Response:
        problem = server.readiness_problem()
        return text(503, f"not ready: {problem}\n") if problem else text(200, "ready\n")

    def ice_servers(headers: Mapping[str, str], query: Query) -> Response:
        """ICE servers for a signed-in session: ``Authorization: Bearer <resume token>``."""
        token = _bearer(headers)
        message = server.lobby.ice_for_token(token) if token else None
        if message is None:
            return Response(
                401,
                b"sign in over the WebSocket first; send its resume token as a Bearer token\n",
                headers=(("WWW-Authenticate", 'Bearer realm="chinwag"'),),
            )
        return json_response(200, message)

    return {
        "/healthz": health,
        "/healthz/live": live,
        "/healthz/ready": ready,
        "/api/ice-servers": ice_servers,
        "/api/rooms": public_rooms_endpoint(server),
    }


def public_rooms_endpoint(server: ServerView) -> Handler:
    """``GET /api/rooms[?offset=N]``: a page of the public rooms as a JSON array, its
    ``X-Total-Count`` header how many there are; each page's bytes are reused for a second."""
    made: dict[int, tuple[float, Response]] = {}

    def public_rooms(headers: Mapping[str, str], query: Query) -> Response:
        raw = (query.get("offset") or ["0"])[0]
        if not raw.isdigit() or len(raw) > 9:
            return text(400, "offset must be a whole number from 0\n")
        offset, now = int(raw), time.monotonic()
        cached = made.get(offset)
        if cached is not None and now - cached[0] < ROOM_LIST_AGE:
            return cached[1]
        page, total = server.lobby.public_rooms(offset)
        body = json_response(200, page).body
        response = Response(200, body, "application/json", (("X-Total-Count", str(total)),))
        if len(made) > 64:  # a page cache, not a store: offsets past the list are empty anyway
            made.clear()
        made[offset] = (now, response)
        return response

    return public_rooms


def metrics_endpoint(server: ServerView) -> Handler:
    """``/metrics``: the Prometheus text, behind ``metrics_token`` when one is set."""
    wanted = server.settings.metrics_token

    def metrics(headers: Mapping[str, str], query: Query) -> Response:
        if wanted and not hmac.compare_digest(_bearer(headers).encode(), wanted.encode()):
            return Response(
                401,
                b"/metrics needs the metrics token as a Bearer token\n",
                headers=(("WWW-Authenticate", 'Bearer realm="chinwag metrics"'),),
            )
        registry = server.metrics_registry
        if registry is None:
            return text(503, METRICS_MISSING)
        from ..metrics_export import CONTENT_TYPE, exposition

        return Response(200, exposition(registry), CONTENT_TYPE)

    return metrics


def _bearer(headers: Mapping[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
