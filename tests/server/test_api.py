"""The server API under /api/v1/ over real sockets: the key, each endpoint, its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from chinwag.api.openapi import document
from chinwag.api.routes import API_PREFIX
from chinwag.config import ConfigError, settings_for_tests
from chinwag.core.closecodes import CloseCode
from chinwag.transport.server import ChinwagServer
from tests.server.test_hosts import connect_hosts, enter, sees
from tests.support import Client, StartServer

__all__ = ["connect_hosts"]  # the fixture, on this module's server

KEY = "api-key-for-tests-0123456789"
TOKENS = "token-secret-for-tests-0123456789abcdef"
Connect = Callable[..., Awaitable[Client]]
Call = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
async def hosts_server(start_server: StartServer) -> ChinwagServer:
    """The server ``connect_hosts`` connects to: with the API on."""
    return await start_server(presence_interval=0.02, api_key=KEY, chat_rate=100.0)


@pytest.fixture
def api_server(hosts_server: ChinwagServer) -> ChinwagServer:
    return hosts_server


@pytest.fixture
def clients(connect_hosts: Connect) -> Connect:
    return connect_hosts


@pytest.fixture
async def api(api_server: ChinwagServer) -> AsyncIterator[Call]:
    """``api(method, path, body=None, key=KEY)``: the status and the JSON answer."""
    base = f"http://127.0.0.1:{api_server.port}{API_PREFIX}"
    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, body: Any = None, key: str | None = KEY) -> Any:
            headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
            async with session.request(method, base + path, json=body, headers=headers) as answer:
                kind = answer.headers.get("Content-Type", "")
                value = await answer.json() if kind.startswith("application/json") else None
                return answer.status, value

        yield call


async def test_the_api_refuses_a_missing_or_wrong_key_and_serves_the_right_one(api: Call) -> None:
    for key in (None, "wrong", KEY + "x", ""):
        status, answer = await api("GET", "/rooms", key=key)
        assert status == 401 and answer["error"]["code"] == "unauthorized", (key, answer)
        status, answer = await api("POST", "/messages", {"room": "x", "text": "hi"}, key=key)
        assert status == 401, (key, answer)
    status, answer = await api("GET", "/rooms")
    assert status == 200 and answer == {"rooms": []}


async def test_errors_are_named_and_change_nothing(api: Call, api_server: ChinwagServer) -> None:
    assert (await api("POST", "/messages", {"room": "nowhere", "text": "hi"}))[0] == 404
    status, answer = await api("POST", "/messages", {"text": "hi"})
    assert status == 400 and answer["error"]["code"] == "missing-field"
    status, answer = await api("POST", "/messages", {"room": "a<b", "text": "hi"})
    assert status == 400 and answer["error"]["code"] == "bad-room"
    status, answer = await api("POST", "/invites", {"room": 5})
    assert status == 400 and answer["error"]["code"] == "bad-field"
    status, answer = await api("POST", "/rooms/create", [1, 2])
    assert status == 400 and answer["error"]["code"] == "bad-json"
    assert (await api("GET", "/messages"))[0] == 405
    assert (await api("POST", "/rooms"))[0] == 405  # a body there would be 413, unread
    status, _ = await api("POST", "/messages", {"room": "team", "text": "x" * 20_000})
    assert status == 413
    assert (await api("GET", "/rooms"))[1] == {"rooms": []}


async def test_remove_says_and_ends_the_call(api: Call, clients: Connect) -> None:
    ana = await enter(clients, "ana")
    dana = await enter(clients, "dana")
    await sees(ana, "dana")
    status, listed = await api("GET", "/rooms")
    (team,) = listed["rooms"]
    assert team["room"] == "team" and [p["name"] for p in team["participants"]] == ["ana", "dana"]
    assert team["participants"][0]["role"] == "host" and team["call"] is None

    status, said = await api("POST", "/messages", {"room": "TEAM", "text": "  closing soon "})
    assert status == 200 and said == {"room": "team", "text": "closing soon"}
    notice = await dana.wait_for("moderation", action="say")
    assert notice["text"] == "closing soon" and notice["by"] is None

    await ana.send({"type": "room-call-join"})
    await ana.wait_for("room-call", room="team")
    status, listed = await api("GET", "/rooms")
    assert listed["rooms"][0]["call"]["participants"] == ["ana"]
    status, ended = await api("POST", "/calls/end", {"room": "team"})
    assert status == 200 and ended["ended"] == ["ana"]
    await ana.wait_for("room-call", participants=[])
    assert (await api("POST", "/calls/end", {"room": "team"}))[1]["error"]["code"] == "no-call"

    status, answer = await api("POST", "/participants/remove", {"room": "team", "name": "zed"})
    assert status == 404 and answer["error"]["code"] == "no-such-person"
    status, removed = await api(
        "POST", "/participants/remove", {"room": "team", "name": "DANA", "ban": True}
    )
    assert status == 200 and removed == {"room": "team", "removed": "dana", "ban": True}
    told = await dana.wait_for("moderation", action="remove", target="dana")
    assert told["by"] is None and told["ban"] is True
    code, _ = await dana.closed()
    assert code == CloseCode.REMOVED
    await ana.wait_for("moderation", action="remove", target="dana")
    status, listed = await api("GET", "/rooms")
    assert [p["name"] for p in listed["rooms"][0]["participants"]] == ["ana"]
    again = await clients()
    await again.send({"type": "username", "name": "dana", "features": ["rooms"], "room": "team"})
    await again.wait_for("error", code="banned")


async def test_a_minted_invite_opens_a_locked_room(api: Call, clients: Connect) -> None:
    ana = await enter(clients, "ana")
    await ana.send({"type": "set-entry", "entry": "locked"})
    await ana.wait_for("room-control", entry="locked")
    late = await clients()
    await late.send({"type": "username", "name": "late", "features": ["rooms"], "room": "team"})
    await late.wait_for("error", code="room-closed")
    status, minted = await api(
        "POST", "/invites", {"room": "team", "role": "moderator", "passLock": True, "ttl": 600}
    )
    assert status == 201, minted
    assert minted["invite"]["role"] == "moderator" and minted["invite"]["passLock"] is True
    assert minted["url"].endswith(f"/r/team?invite={minted['token']}")
    mo = await enter(clients, "mo", invite=minted["token"])
    control = await mo.wait_for("room-control")
    assert control["roles"].get("mo") == "moderator"
    status, answer = await api("POST", "/invites", {"room": "team", "role": "host"})
    assert status == 400 and answer["error"]["code"] == "bad-field"


async def test_create_and_close_a_room(api: Call, clients: Connect) -> None:
    body = {"room": "Board", "title": "The board", "password": "s3cret", "hosts": ["ana"]}
    status, created = await api("POST", "/rooms/create", body)
    assert status == 201 and created["locked"] is True and created["participants"] == []
    assert (await api("POST", "/rooms/create", {"room": "board"}))[0] == 409
    assert [r["room"] for r in (await api("GET", "/rooms"))[1]["rooms"]] == ["Board"]
    guest = await clients()
    await guest.send({"type": "username", "name": "gus", "features": ["rooms"], "room": "board"})
    await guest.wait_for("error", code="room-password-required")
    ana = await enter(clients, "ana", room="board", roomPassword="s3cret")
    control = await ana.wait_for("room-control")
    assert control["roles"] == {"ana": "host"}
    status, closed = await api("POST", "/rooms/close", {"room": "board"})
    assert status == 200 and closed == {"room": "Board", "removed": ["ana"]}
    code, _ = await ana.closed()
    assert code == CloseCode.REMOVED
    assert (await api("GET", "/rooms"))[1] == {"rooms": []}
    assert (await api("POST", "/rooms/close", {"room": "board"}))[0] == 404
    lobby = await clients()
    await lobby.sign_in("lou", ["rooms"])
    status, answer = await api("POST", "/rooms/close", {"room": ""})
    assert status == 400 and answer["error"]["code"] == "bad-room"
    await lobby.send({"type": "message", "text": "still here"})
    await lobby.wait_for("message", text="still here")


async def test_a_minted_token_signs_in_with_its_role(
    start_server: StartServer, api: Call, clients: Connect
) -> None:
    status, answer = await api("POST", "/tokens", {"name": "ana"})
    assert status == 409 and answer["error"]["code"] == "no-token-secret"
    server = await start_server(presence_interval=0.02, api_key=KEY, token_secret=TOKENS)
    url = f"http://127.0.0.1:{server.port}{API_PREFIX}/tokens"
    headers = {"Authorization": f"Bearer {KEY}"}
    async with aiohttp.ClientSession() as session:

        async def mint(body: dict[str, Any]) -> tuple[int, Any]:
            async with session.post(url, json=body, headers=headers) as answer:
                return answer.status, await answer.json()

        status, for_bob = await mint({"name": "bob"})
        assert status == 201, for_bob
        status, for_ana = await mint({"name": "ana", "rooms": {"team": "moderator"}})
        assert status == 201, for_ana
        status, answer = await mint({"name": "ana", "ttl": 10**9})
        assert status == 400 and answer["error"]["code"] == "bad-field"
        status, answer = await mint({"name": "ana", "rooms": {"team": "owner"}})
        assert status == 400 and answer["error"]["code"] == "bad-field"
    opened = []
    try:
        for name, minted in (("bob", for_bob), ("ana", for_ana)):
            client = await Client.open(server.port)
            opened.append(client)
            await client.send({"type": "username", "name": name, "features": ["rooms"],
                               "room": "team", "credential": minted["token"]})  # fmt: skip
            await client.wait_for("signed-in", name=name)
        control = await opened[1].wait_for("room-control")
        assert control["roles"] == {"bob": "host", "ana": "moderator"}
    finally:
        for client in opened:
            await client.close()


async def test_the_openapi_document_matches_the_routes(api_server: ChinwagServer) -> None:
    documented = {
        f"{API_PREFIX}{path} {method.upper()}"
        for path, item in document()["paths"].items()
        for method in item
    }
    routes = api_server.routes
    served = {f"{p} GET" for p in routes.endpoints if p.startswith(API_PREFIX)}
    served |= {f"{p} POST" for p in routes.body_routes if p.startswith(API_PREFIX)}
    assert documented == served
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{api_server.port}{API_PREFIX}/openapi.json") as answer,
    ):
        assert answer.status == 200
        assert (await answer.json())["openapi"] == "3.1.0"


async def test_without_a_key_there_is_no_api(start_server: StartServer) -> None:
    server = await start_server()
    assert not [p for p in server.routes.endpoints if p.startswith(API_PREFIX)]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{API_PREFIX}/rooms") as answer,
    ):
        assert answer.status == 404


def test_a_key_without_tls_off_loopback_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match=r"api_key.*TLS.*--api-insecure"):
        settings_for_tests(host="0.0.0.0", api_key=KEY)
    assert settings_for_tests(host="0.0.0.0", api_key=KEY, api_insecure=True).api_insecure
    assert settings_for_tests(host="127.0.0.1", api_key=KEY).api_key == KEY
    assert settings_for_tests(host="0.0.0.0", api_key=KEY, self_signed=True).api_key == KEY
