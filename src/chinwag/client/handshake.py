"""How a client reaches a server and signs in: the WebSocket address and the
``username`` message (docs/protocol.md, "Signing in"). No I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

__all__ = ["sign_in_message", "websocket_url"]


def websocket_url(url: str) -> str:
    """Accept ``http(s)://host:port/`` (what ``chinwag serve`` prints) or ``ws(s)://``."""
    for web, socket in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(web):
            url = socket + url[len(web) :]
    if not url.startswith(("ws://", "wss://")):
        raise ValueError(f"not a chinwag server URL: {url!r} (expected http://, https://, ws://)")
    host_and_path = url.split("://", 1)[1]
    return url if "/" in host_and_path else url + "/"


def sign_in_message(
    connection_id: int,
    name: str,
    features: Iterable[str],
    *,
    credential: str | None = None,
    room: str | None = None,
    room_password: str | None = None,
    resume_token: str | None = None,
    seq: int | None = None,
) -> dict[str, Any]:
    """The ``username`` message answering ``welcome`` (its ``connection_id``).

    ``resume_token``: take back the session it names; ``seq`` (with it, when
    the ``seq`` feature was accepted) is the last message already received.
    """
    message: dict[str, Any] = {
        "type": "username",
        "name": name,
        "date": int(time.time() * 1000),
        "id": connection_id,
        "features": list(features),
    }
    if credential is not None:
        message["credential"] = credential
    if room:
        message["room"] = room
        if room_password is not None:
            message["roomPassword"] = room_password
    if resume_token is not None:
        message["resume"] = resume_token
        if seq is not None:
            message["seq"] = seq
    return message
