"""Plain HTTP routes: the web client's files and small JSON/text endpoints.

No I/O here beyond reading the packaged web files once at start-up: a request
(method, path, headers) goes in, a :class:`Response` comes out. The transport
in ``server.py`` speaks HTTP/1.1 with h11 and calls :meth:`Routes.respond`.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import unquote

__all__ = ["Response", "Routes", "json_response", "load_web_files", "room_from_path", "text"]

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


Handler = Callable[[Mapping[str, str]], Response]


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

    def respond(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        endpoint = self.endpoints.get(path)
        if endpoint is not None:
            return endpoint(headers)
        found = self.files.get(path)
        if found is None and room_from_path(path) is not None:
            found = self.files.get("/")
        return found if found is not None else text(404, "not found\n")
