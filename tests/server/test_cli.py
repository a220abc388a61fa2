"""The ``chinwag`` command as a person runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from chinwag.config import Settings

CHINWAG = [sys.executable, "-m", "chinwag"]


def test_version() -> None:
    out = subprocess.run([*CHINWAG, "--version"], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"chinwag \d+\.\d+\.\d+\n", out.stdout)


def test_serve_help_explains_every_option() -> None:
    out = subprocess.run([*CHINWAG, "serve", "--help"], capture_output=True, text=True, check=True)
    text = " ".join(out.stdout.split())
    for field in Settings.__dataclass_fields__:
        assert "--" + field.replace("_", "-") in text
        assert "CHINWAG_" + field.upper() in text


def test_bad_setting_is_a_clear_error() -> None:
    out = subprocess.run([*CHINWAG, "serve", "--port", "99999"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "port must be 0-65535" in out.stderr


def start(*args: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [*CHINWAG, "serve", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"chinwag listening on http://127\.0\.0\.1:(\d+)/", line)
    assert match, f"unexpected first line {line!r}"
    return process, int(match.group(1))


async def open_socket(port: int) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(f"http://127.0.0.1:{port}/", protocols=("json",))
    await ws.receive_json()
    return session, ws


def test_sigterm_closes_sockets_with_1001_and_exits_0() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        process, port = start()

        async def scenario(
            process: subprocess.Popen[str] = process, signum: int = signum, port: int = port
        ) -> float:
            session, ws = await open_socket(port)
            began = time.monotonic()
            os.kill(process.pid, signum)
            msg = await ws.receive(timeout=30)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001
            await session.close()
            return began

        began = asyncio.run(scenario())
        assert process.wait(timeout=30) == 0
        # Well under a second when quiet; the bound leaves a busy machine room but
        # still fails a process that waits out a timeout before closing.
        assert time.monotonic() - began < 10


def test_environment_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "chinwag.toml"
    config.write_text("max_frame = 2048\npresence_interval = 0.01\n")
    env = {**os.environ, "CHINWAG_CONFIG": str(config), "CHINWAG_MAX_FRAME": "4096"}
    process = subprocess.Popen(
        [*CHINWAG, "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    port = int(re.findall(r":(\d+)/", process.stdout.readline())[0])

    async def scenario() -> None:
        session, ws = await open_socket(port)
        await ws.send_str('{"type": "wave", "pad": "' + "x" * 3000 + '"}')  # fits 4096
        reply = await ws.receive_json(timeout=30)
        assert reply["code"] == "not-signed-in"
        await ws.send_str('{"type": "wave", "pad": "' + "x" * 5000 + '"}')  # over 4096
        assert (await ws.receive_json(timeout=30))["code"] == "frame-too-large"
        await session.close()

    try:
        asyncio.run(scenario())
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_drain_fails_readiness_before_shutting_down() -> None:
    process, port = start("--drain", "5.0")  # long enough to be seen on a busy machine

    async def scenario() -> None:
        url = f"http://127.0.0.1:{port}/healthz/ready"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                assert response.status == 200
            session_ws, ws = await open_socket(port)
            os.kill(process.pid, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 4.5  # inside the 5 s drain
            while True:
                async with session.get(url) as response:
                    if response.status == 503:
                        assert "draining" in await response.text()
                        break
                assert loop.time() < deadline, "readiness never failed during the drain"
                await asyncio.sleep(0.02)
            await ws.send_str('{"type": "username", "name": "late"}')  # still served
            assert (await ws.receive_json(timeout=30))["type"] == "userlist"
            msg = await ws.receive(timeout=30)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001
            await session_ws.close()

    began = time.monotonic()
    asyncio.run(scenario())
    assert process.wait(timeout=30) == 0
    assert 4.9 <= time.monotonic() - began < 30  # the drain, then a prompt shutdown


_WITHOUT = """
import sys
sys.modules[sys.argv[1]] = None  # `import` of it fails, as when it is not installed
from chinwag.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("module", "options", "extra"),
    [
        ("redis", ["--redis", "redis://127.0.0.1:9/0"], "redis"),
        ("cryptography", ["--self-signed"], "tls"),
        ("prometheus_client", ["--metrics-listen", "127.0.0.1:0"], "metrics"),
        ("uvloop", ["--loop", "uvloop"], "fast"),
    ],
)
def test_a_missing_optional_part_is_one_line_saying_how_to_install_it(
    module: str, options: list[str], extra: str, tmp_path: Path
) -> None:
    serve = ["serve", "--host", "127.0.0.1", "--port", "0", *options]
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT, module, *serve],
        capture_output=True,
        text=True,
        timeout=120,  # it exits at once; an interpreter start took over 30 s at load 90
        env={**os.environ, "CHINWAG_STATE_DIR": str(tmp_path)},
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert f"pip install -e '.[{extra}]'" in lines[0] and module in lines[0]
    assert "chinwag[" not in lines[0]  # no hint at a package index chinwag is not on
