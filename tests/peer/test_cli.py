"""The peer commands as a user runs them: help without aiortc, and --ask on the terminal."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from chinwag.client import CallAccept, CallDecline
from chinwag.peer.cli import EXIT_CODES
from tests.peer.support import start_cli

# Run in a fresh interpreter: the test session itself has imported aiortc already.
WITHOUT_AIORTC = """
import sys
sys.modules["aiortc"] = None  # makes `import aiortc` fail, as when it is not installed
from chinwag.peer.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_help_does_not_import_aiortc() -> None:
    script = (
        "import sys, contextlib, io\n"
        "from chinwag.peer.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    main(['call', '--help'])\n"
        "assert 'exit status' in out.getvalue(), out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiortc', 'av')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"


def test_missing_aiortc_says_what_to_install() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_AIORTC, "peer", "--server", "http://127.0.0.1:9/"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == EXIT_CODES["missing-aiortc"]
    assert "pip install -e '.[peer]'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.asyncio(loop_scope="session")
async def test_ask_declines_then_accepts_from_the_terminal(
    url: str, sign_in: Callable[[str], Any]
) -> None:
    peer = await start_cli("peer", "--server", url, "--name", "asker", "--ask", "--relay-only")
    try:
        await peer.expect("waiting for calls")
        hal = await sign_in("hal")
        with hal.subscribe() as events:
            await hal.invite("asker")
            await peer.expect("hal is calling. Answer? [y/n]")
            peer.type("n")
            async with asyncio.timeout(30):
                declined = await events.wait_for(CallDecline)
            assert declined.reason == "declined"

            await hal.invite("asker")
            await peer.expect("hal is calling. Answer? [y/n]")
            peer.type("y")
            async with asyncio.timeout(30):
                accepted = await events.wait_for(CallAccept)
            assert accepted.name == "asker"
            await hal.hang_up("asker")
    finally:
        finished = await peer.stop()
    assert finished.returncode == EXIT_CODES["ok"], finished.output
