"""The OpenAPI 3.1 description of ``/api/v1/``, served at ``/api/v1/openapi.json``.

Written by hand, next to the routes it describes; a test checks that every
route is documented and every documented route exists.
"""

from __future__ import annotations

from typing import Any

from .. import __version__

__all__ = ["document"]

_ROOM = {"type": "string", "description": "the room's name, as typed (any spelling alike)"}
_ERROR = {
    "description": "refused; `code` is stable, `message` is for people",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _body(required: list[str], **properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, status: str = "200", **properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties}
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _post(summary: str, body: dict[str, Any], ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    responses = {**ok, "400": _ERROR, "401": _ERROR, "413": _ERROR}
    responses.update((status, _ERROR) for status in errors)
    return {"post": {"summary": summary, "requestBody": body, "responses": responses}}


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each time)."""
    string, boolean = {"type": "string"}, {"type": "boolean"}
    seconds = {"type": "number", "description": "seconds until it expires"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chinwag server API",
            "version": __version__,
            "description": "Rooms, invitations, sign-in tokens and moderation for operators and "
            "embedding applications. Every path but this document needs "
            "`Authorization: Bearer <api_key>`.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"code": string, "message": string},
                        }
                    },
                },
                "Room": {
                    "type": "object",
                    "properties": {
                        "room": string,
                        "title": string,
                        "public": boolean,
                        "locked": boolean,
                        "entry": {"enum": ["open", "waiting", "locked"]},
                        "participants": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"name": string, "role": string},
                            },
                        },
                        "waiting": {"type": "array", "items": string},
                        "call": {
                            "type": ["object", "null"],
                            "properties": {
                                "started": {"type": "integer", "description": "Unix ms"},
                                "participants": {"type": "array", "items": string},
                            },
                        },
                    },
                },
            },
        },
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "this document",
                    "security": [],
                    "responses": {"200": {"description": "the OpenAPI document"}},
                }
            },
            "/rooms": {
                "get": {
                    "summary": "every room, with its participants and call",
                    "responses": {
                        **_ok(
                            "the rooms",
                            rooms={"type": "array", "items": {"$ref": "#/components/schemas/Room"}},
                        ),
                        "401": _ERROR,
                    },
                }
            },
            "/rooms/create": _post(
                "open a room ahead of anyone; it is kept, even empty, until closed",
                _body(
                    ["room"],
                    room=_ROOM,
                    title=string,
                    password=string,
                    public=boolean,
                    hosts={"type": "array", "items": string},
                ),
                {"201": {"description": "the room (as in GET /rooms)"}},
                "409",
            ),
            "/rooms/close": _post(
                "remove everyone from a room (on every process) and forget it",
                _body(["room"], room=_ROOM),
                _ok("who was removed", room=string, removed={"type": "array", "items": string}),
                "404",
            ),
            "/invites": _post(
                "mint a signed invite link",
                _body(
                    ["room"],
                    room=_ROOM,
                    role={"enum": ["guest", "moderator"]},
                    ttl=seconds,
                    single=boolean,
                    passLock=boolean,
                ),
                _ok("the invite", "201", token=string, url=string, invite={"type": "object"}),
                "404",
            ),
            "/tokens": _post(
                "mint a sign-in token (needs token_secret), with roles per room",
                _body(
                    ["name"],
                    name=string,
                    ttl=seconds,
                    rooms={
                        "type": "object",
                        "additionalProperties": {"enum": ["host", "moderator", "guest"]},
                    },
                ),
                _ok("the token", "201", token=string, expires={"type": "integer"}),
                "409",
            ),
            "/participants/remove": _post(
                "remove a person from a room (optionally barred for the room's lifetime)",
                _body(["room", "name"], room=_ROOM, name=string, ban=boolean),
                _ok("removed", room=string, removed=string, ban=boolean),
                "404",
            ),
            "/calls/end": _post(
                "end a room's call for everyone in it",
                _body(["room"], room=_ROOM),
                _ok("ended", room=string, ended={"type": "array", "items": string}),
                "404",
            ),
            "/messages": _post(
                "post a system message to a room (a `moderation` message, action `say`)",
                _body(["room", "text"], room=_ROOM, text=string),
                _ok("posted", room=string, text=string),
                "404",
            ),
        },
    }
