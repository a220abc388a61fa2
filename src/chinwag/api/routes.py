"""The server API under ``/api/v1/``: operators and embedding applications (docs/api.md).

Every endpoint but the OpenAPI document needs ``Authorization: Bearer <api_key>``
(compared in constant time; 401 with a JSON error otherwise); without
``api_key`` none of them exists. Paths are fixed and the room or person is named
in the JSON body: the transport routes by exact path, and each ``POST`` path
declares the largest body it reads (:class:`~chinwag.transport.routes.BodyRoute`;
more is 413, unread). Handlers call the core's plain operations as the server
(``Lobby.remove_participant``, ``end_call``, ``post_system_message``,
``mint_invite``, ``operations``) and carry out the effects: in a cluster a
removal, an ended call or a message is an order every node carries out on its
own users.

Bad input is 400 with ``{"error": {"code", "message"}}``; an unknown room or
person 404; a room that exists already 409.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol
from urllib.parse import quote

from ..config import Settings
from ..core.auth import TOKEN_ROLES, issue_token
from ..core.effects import Effect
from ..core.errors import ProtocolError
from ..core.invites import MAX_INVITE_LIFETIME
from ..core.lobby import Lobby
from ..core.protocol import MAX_TEXT_LENGTH, clean_name
from ..core.rooms import DEFAULT_ROOM, Room, clean_room
from ..transport.routes import BodyRoute, Handler, Query, Response, json_response
from .openapi import document

__all__ = ["API_PREFIX", "ApiServer", "api_routes"]

API_PREFIX: Final = "/api/v1"
#: The largest JSON body any endpoint reads: a room, a name, a message of 2000 characters.
BODY_LIMIT: Final = 16 * 1024
#: The longest a sign-in token minted here may live (a day; mint another).
MAX_TOKEN_LIFETIME: Final = 24 * 3600


class ApiServer(Protocol):
    """What the API reads from and does to the running server."""

    settings: Settings
    lobby: Lobby

    def apply(self, effects: Iterable[Effect]) -> None: ...


class ApiError(Exception):
    """A request the API refuses: an HTTP status, a stable code, a sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return json_response(self.status, {"error": {"code": self.code, "message": self.message}})


Json = dict[str, Any]
Action = Callable[[Json, Mapping[str, str]], tuple[int, Any]]


def api_routes(server: ApiServer) -> tuple[dict[str, Handler], dict[str, BodyRoute]]:
    """The API's ``GET`` endpoints and ``POST`` routes, or none without ``api_key``."""
    key = server.settings.api_key
    if not key:
        return {}, {}
    api = _Api(server)
    posts: dict[str, Action] = {
        "/rooms/create": api.create_room,
        "/rooms/close": api.close_room,
        "/invites": api.invite,
        "/tokens": api.token,
        "/participants/remove": api.remove,
        "/calls/end": api.end_call,
        "/messages": api.say,
    }

    def get_rooms(headers: Mapping[str, str], query: Query) -> Response:
        return _guarded(key, headers, lambda: (200, {"rooms": server.lobby.operations.overview()}))

    def openapi(headers: Mapping[str, str], query: Query) -> Response:
        return json_response(200, document())

    def posting(action: Action) -> BodyRoute:
        def handle(headers: Mapping[str, str], body: bytes) -> Response:
            return _guarded(key, headers, lambda: action(_json_object(body), headers))

        return BodyRoute(BODY_LIMIT, handle)

    gets: dict[str, Handler] = {
        f"{API_PREFIX}/rooms": get_rooms,
        f"{API_PREFIX}/openapi.json": openapi,
    }
    return gets, {API_PREFIX + path: posting(action) for path, action in posts.items()}


def _guarded(key: str, headers: Mapping[str, str], act: Callable[[], tuple[int, Any]]) -> Response:
    """401 without the right key; else ``act``'s answer, or its ApiError's."""
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        refused = ApiError(401, "unauthorized", "Send the API key: Authorization: Bearer <key>.")
        answer = refused.response()
        return Response(
            answer.status,
            answer.body,
            answer.content_type,
            (("WWW-Authenticate", 'Bearer realm="chinwag api"'),),
        )
    try:
        status, value = act()
    except ApiError as error:
        return error.response()
    return json_response(status, value)


def _json_object(body: bytes) -> Json:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad-json", "The body must be a JSON object.") from None
    if not isinstance(value, dict):
        raise ApiError(400, "bad-json", "The body must be a JSON object.")
    return value


def _field(body: Json, name: str, kind: type, default: Any = None) -> Any:
    """``body[name]`` of type ``kind`` (``default`` when absent; required if None)."""
    value = body.get(name, default)
    if value is None:
        raise ApiError(400, "missing-field", f"`{name}` is required.")
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ApiError(400, "bad-field", f"`{name}` must be a {kind.__name__}.")
    return value


def _seconds(body: Json, name: str, default: float, most: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= most:
        raise ApiError(400, "bad-field", f"`{name}` must be seconds from 1 to {most:g}.")
    return float(value)


def _room_name(raw: object) -> str:
    return clean_room(raw, "api")


def _checked(clean: Callable[[object], str], raw: object) -> str:
    """A room or user name as the protocol checks it; 400 with its error's code."""
    try:
        return clean(raw)
    except ProtocolError as error:
        raise ApiError(400, error.code, str(error.message)) from None


class _Api:
    """The handlers: each takes the checked JSON body and returns ``(status, answer)``."""

    def __init__(self, server: ApiServer) -> None:
        self._server = server
        self._lobby = server.lobby

    def _room(self, body: Json) -> Room:
        name = _checked(_room_name, _field(body, "room", str))
        room = self._lobby.operations.find(name)
        if room is None:
            raise ApiError(404, "no-such-room", f"There is no room {name!r}.")
        return room

    def create_room(self, body: Json, headers: Mapping[str, str]) -> tuple[int, Any]:
        name = _checked(_room_name, _field(body, "room", str))
        hosts = _field(body, "hosts", list, [])
        if not all(isinstance(h, str) for h in hosts):
            raise ApiError(400, "bad-field", "`hosts` must be a list of usernames.")
        room = self._lobby.operations.open_room(
            name,
            _field(body, "title", str, "")[:200],
            _field(body, "password", str, ""),
            _field(body, "public", bool, False),
            tuple(_checked(clean_name, h) for h in hosts),
        )
        if room is None:
            raise ApiError(409, "room-exists", f"Room {name!r} exists already.")
        return 201, self._lobby.operations.describe(room)

    def close_room(self, body: Json, headers: Mapping[str, str]) -> tuple[int, Any]:
        room = self._room(body)
        if room.key == DEFAULT_ROOM:  # a missing name must not empty the lobby
            raise ApiError(400, "bad-room", "The default room cannot be closed.")
        removed = list(self._lobby.operations.describe(room)["participants"])
        self._server.apply(self._lobby.close_room(room))
        return 200, {"room": room.name, "removed": [p["name"] for p in removed]}

    def invite(self, body: Json, headers: Mapping[str, str]) -> tuple[int, Any]:
        room = self._room(body)
        role = _field(body, "role", str, "guest")
        if role not in ("guest", "moderator"):
            raise ApiError(400, "bad-field", "`role` must be guest or moderator.")
        ttl = _seconds(body, "ttl", 3600, MAX_INVITE_LIFETIME)
        token, invite = self._lobby.mint_invite(
            room.name,
            role,
            ttl,
            single=_field(body, "single", bool, False),
            opens_lock=_field(body, "passLock", bool, False),
        )
        url = f"{self._base(headers)}/r/{quote(room.name, safe='')}?invite={token}"
        return 201, {"token": token, "url": url, "invite": invite.describe()}

    def token(self, body: Json, headers: Mapping[str, str]) -> tuple[int, Any]:
        secret = self._server.settings.token_secret
        if not secret:
            raise ApiError(
                409, "no-token-secret", "This server has no token_secret to sign tokens with."
            )
        name = _checked(clean_name, _field(body, "name", str))
        ttl = _seconds(body, "ttl", 3600, MAX_TOKEN_LIFETIME)
        rooms = _field(body, "rooms", dict, {})
        for room, role in rooms.items():
            _checked(_room_name, room)
            if role not in TOKEN_ROLES:
                raise ApiError(
                    400, "bad-field", "Each role in `rooms` is host, moderator or guest."
                )
        expires = time.time() + ttl
        return 201, {"token": issue_token(secret, name, expires, rooms), "expires": int(expires)}

    def remove(self, body: Json, headers: Mapping[str, str]) -> tuple[int, Any]:
        room = self._room(body)
        name = _field(body, "name", str)
        listed = self._lobby.operations.person(room, name)
        if listed is None:
            raise ApiError(404, "no-such-person", f"Nobody called {name!r} is in {room.name!r}.")
        ban = _field(body, "ban", bool, False)
        self._server.apply(self._lobby.remove_participant(room.name, listed, ban))
        return 200, {"room": room.name, "removed": listed, "ban": ban}

    def end_call(self, body: Json, headers: Mapping[str, str]) -> tuple[int, Any]:
        room = self._room(body)
        if room.call is None or not room.call.participants:
            raise ApiError(404, "no-call", f"Room {room.name!r} has no call.")
        ended = room.call.names()
        self._server.apply(self._lobby.end_call(room.name))
        return 200, {"room": room.name, "ended": ended}

    def say(self, body: Json, headers: Mapping[str, str]) -> tuple[int, Any]:
        room = self._room(body)
        text = _field(body, "text", str).strip()
        if not text or len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "bad-field", f"`text` must be 1 to {MAX_TEXT_LENGTH} characters.")
        self._server.apply(self._lobby.post_system_message(room.name, text))
        return 200, {"room": room.name, "text": text}

    def _base(self, headers: Mapping[str, str]) -> str:
        """Where people open the server: ``public_url``, else the address the API was called on."""
        public = self._server.settings.public_url
        if public:
            return public.rstrip("/")
        secure = bool(self._server.settings.cert or self._server.settings.self_signed)
        return f"{'https' if secure else 'http'}://{headers.get('host', 'localhost')}"
