"""``chinwag admin`` end to end: a real ``chinwag serve`` process, run as a person runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from chinwag.core.closecodes import CloseCode
from tests.server.test_cli import start
from tests.support import Client

KEY = "api-key-for-the-admin-test-0123"
CHINWAG = [sys.executable, "-m", "chinwag"]


@pytest.fixture
def served() -> Iterator[int]:
    process, port = start("--api-key", KEY, "--presence-interval", "0.02")
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


async def admin(port: int, *args: str, key: str = KEY) -> tuple[int, Any, str]:
    """Run ``chinwag admin ARGS``: its exit code, its JSON output (or None) and its stderr."""
    env = {**os.environ, "CHINWAG_API_URL": f"http://127.0.0.1:{port}", "CHINWAG_API_KEY": key}
    process = await asyncio.create_subprocess_exec(
        *CHINWAG, "admin", *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    code = process.returncode
    assert code is not None
    return code, json.loads(out) if out.strip() else None, err.decode()


async def test_admin_drives_a_running_server(served: int) -> None:
    ana = await Client.open(served)
    try:
        await ana.send({"type": "username", "name": "ana", "features": ["rooms"], "room": "team"})
        await ana.wait_for("signed-in")
        code, listed, _ = await admin(served, "rooms")
        assert code == 0 and [p["name"] for p in listed["rooms"][0]["participants"]] == ["ana"]
        code, _, _ = await admin(served, "say", "team", "hello from the operator")
        assert code == 0
        notice = await ana.wait_for("moderation", action="say")
        assert notice["text"] == "hello from the operator"
        code, created, _ = await admin(served, "create-room", "board", "--title", "Board")
        assert code == 0 and created["title"] == "Board"
        code, minted, _ = await admin(served, "invite", "board", "--role", "moderator", "--single")
        assert code == 0 and minted["invite"]["single"] is True and "?invite=" in minted["url"]
        code, _, err = await admin(served, "end-call", "team")
        assert code == 1 and "no-call" in err
        code, _, err = await admin(served, "token", "ana")
        assert code == 1 and "no-token-secret" in err
        code, _, err = await admin(served, "rooms", key="wrong")
        assert code == 1 and "unauthorized" in err
        code, removed, _ = await admin(served, "remove", "team", "ana")
        assert code == 0 and removed["removed"] == "ana"
        assert (await ana.closed())[0] == CloseCode.REMOVED
        code, closed, _ = await admin(served, "close-room", "board")
        assert code == 0 and closed == {"room": "board", "removed": []}
        code, listed, _ = await admin(served, "rooms")
        assert listed == {"rooms": []}
    finally:
        await ana.close()


def test_admin_without_an_address_says_what_it_needs() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHINWAG_API")}
    out = subprocess.run([*CHINWAG, "admin", "rooms"], capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "CHINWAG_API_URL" in out.stderr


def test_serve_refuses_an_api_key_in_clear_off_loopback() -> None:
    out = subprocess.run(
        [*CHINWAG, "serve", "--host", "0.0.0.0", "--port", "0", "--api-key", KEY],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--api-insecure" in out.stderr
