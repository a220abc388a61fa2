"""``chinwag doctor``'s check of one ``--sfu`` URL: is that Janus usable by chinwag?

In order, each step needing the one before: the WebSocket API answers and a
session can be created with ``sfu_secret`` (Janus's ``api_secret``); ``info``
lists the VideoRoom plugin, in a Janus new enough for multistream (1.0); and
the VideoRoom lets chinwag create (then destroy) a room with ``sfu_secret``
as its ``admin_key``. The first step that fails is the one finding, in one
sentence, with its fix; when all pass the finding names the version.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from ..nat.findings import Finding
from .janus import JanusError, JanusLost, JanusSession

__all__ = ["check_sfu"]

VIDEOROOM: Final = "janus.plugin.videoroom"
#: Janus 1.0 (``version`` 1000) brought multistream PeerConnections, which chinwag needs.
MIN_VERSION: Final = 1000
#: Janus's ``JANUS_ERROR_UNAUTHORIZED`` and the VideoRoom's missing/wrong ``admin_key`` codes.
_UNAUTHORIZED: Final = 403
_ADMIN_KEY_REFUSED: Final = (429, 433)

_FIXES: Final = {
    "sfu-unreachable": "start Janus (janus -F DIR, with DIR from `chinwag janus-config`) and "
    "check the host and port in sfu",
    "sfu-secret-refused": "make sfu_secret equal api_secret in janus.jcfg "
    "(`chinwag janus-config` writes it there)",
    "sfu-no-videoroom": "load libjanus_videoroom.so (remove it from the plugins disable list)",
    "sfu-old-janus": "install Janus 1.0 or newer (Debian 12: apt install janus)",
    "sfu-admin-key-refused": "make admin_key in janus.plugin.videoroom.jcfg equal sfu_secret "
    "(`chinwag janus-config` writes it there)",
    "sfu-error": "see Janus's log for this error",
}


async def check_sfu(url: str, secret: str | None, patience: float = 3.0) -> Finding:
    """The one finding for the Janus at ``url``; never raises for what Janus does."""
    check = f"sfu {url}"

    def failed(code: str, detail: str) -> Finding:
        return Finding(check, "fail", code, detail, _FIXES[code])

    session = JanusSession(url, secret, timeout=patience)
    try:
        await session.open()
    except JanusLost as error:
        return failed("sfu-unreachable", f"{error}")
    except JanusError as error:
        if error.code == _UNAUTHORIZED:
            said = "sfu_secret is not set and Janus wants one" if not secret else "its api_secret"
            return failed("sfu-secret-refused", f"Janus refused the API secret ({said})")
        return failed("sfu-error", f"Janus refused a session: {error}")
    try:
        info = await session.info()
        problem = _info_problem(info)
        if problem is not None:
            return failed(*problem)
        await _create_and_destroy_room(session, secret)
    except JanusLost as error:
        return failed("sfu-unreachable", f"Janus stopped answering: {error}")
    except JanusError as error:
        if error.code in _ADMIN_KEY_REFUSED:
            return failed(
                "sfu-admin-key-refused", "the VideoRoom refused to create a room with sfu_secret"
            )
        return failed("sfu-error", f"the VideoRoom refused a test room: {error}")
    finally:
        await session.close()
    version = info.get("version_string", "?")
    room_version = info["plugins"][VIDEOROOM].get("version_string", "?")
    return Finding(
        check,
        "ok",
        "ok",
        f"Janus {version} ({info.get('server-name', 'unnamed')}) accepts sfu_secret; "
        f"VideoRoom {room_version} creates rooms; session timeout "
        f"{info.get('session-timeout', '?')} s",
    )


def _info_problem(info: dict[str, Any]) -> tuple[str, str] | None:
    """(code, detail) if this Janus cannot carry chinwag's calls, from its ``info``."""
    version = info.get("version")
    if not isinstance(version, int) or version < MIN_VERSION:
        return (
            "sfu-old-janus",
            f"Janus {info.get('version_string', version)} is older than 1.0, "
            "so it has no multistream VideoRoom",
        )
    if VIDEOROOM not in info.get("plugins", {}):
        loaded = ", ".join(info.get("plugins", {})) or "none"
        return ("sfu-no-videoroom", f"Janus has no VideoRoom plugin loaded (plugins: {loaded})")
    return None


async def _create_and_destroy_room(session: JanusSession, secret: str | None) -> None:
    """What chinwag does first in every SFU call: create a private room with the admin key."""
    handle = await session.attach(VIDEOROOM)
    room = secrets.randbelow(1 << 52) + 1
    room_secret = secrets.token_urlsafe(16)
    admin_key = {"admin_key": secret} if secret else {}
    await handle.request(
        {"request": "create", "room": room, "secret": room_secret, "is_private": True, **admin_key}
    )
    await handle.request({"request": "destroy", "room": room, "secret": room_secret})
    await handle.detach()
