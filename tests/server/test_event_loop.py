"""``chinwag serve`` on uvloop's event loop (the default when installed) and on asyncio's.

Real processes, real sockets: the loop a server chose is read from its log,
and chat, relay, an error reply and a resume are checked on the uvloop one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.server.test_sessions import drop
from tests.support import Client

CHINWAG = [sys.executable, "-m", "chinwag"]
_WITHOUT_UVLOOP = """
import sys
sys.modules["uvloop"] = None  # `import uvloop` fails, as when the fast extra is not installed
from chinwag.cli import main
sys.exit(main(sys.argv[1:]))
"""
FEATURES = ["deltas", "ringing", "plain-text", "seq"]


@contextmanager
def serving(
    command: list[str], *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[int, str]]:
    """Run ``command serve`` on a free port; yield its port and the loop its log names.

    Without history: its chat lines would reach the servers of later tests
    (one data directory per test run).
    """
    process = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", "0", "--no-history", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        listening = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", process.stdout.readline())
        assert listening, "the server did not say where it listens"
        loop = ""
        for line in process.stderr:  # logged before listening, so already written
            found = re.search(r"event loop: (\S+)", line)
            if found:
                loop = found.group(1)
                break
        yield int(listening.group(1)), loop
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


async def test_serve_runs_on_uvloop_when_installed_and_serves_over_it() -> None:
    with serving(CHINWAG, "--resume-grace", "30") as (port, loop):
        assert loop == "uvloop"
        alice = await Client.open(port)
        bob = await Client.open(port)
        try:
            await alice.send({"type": "username", "name": "alice", "features": FEATURES})
            token = (await alice.wait_for("signed-in"))["resume"]
            await bob.sign_in("bob", FEATURES)
            await bob.wait_for("userlist", users=["alice", "bob"])
            # chat and relay
            await alice.send({"type": "message", "text": "hello", "id": alice.id, "date": 0})
            line = await bob.wait_for("message", name="alice")
            assert line["text"] == "hello"
            await alice.send({"type": "new-ice-candidate", "target": "bob", "candidate": {"n": 1}})
            relayed = await bob.wait_for("new-ice-candidate", name="alice")
            assert relayed["candidate"] == {"n": 1}
            # an error reply to the sender alone
            await bob.send({"type": "new-ice-candidate", "target": "carol", "candidate": {}})
            error = await bob.wait_for("error", code="no-such-user")
            assert error["target"] == "carol"
            # a dropped socket resumes and gets what was sent meanwhile (whether
            # the server saw the drop before or after: the seq says what she had)
            await bob.send({"type": "new-ice-candidate", "target": "alice", "candidate": {}})
            last = (await alice.wait_for("new-ice-candidate"))["seq"]
            drop(alice)
            for n in range(3):
                await bob.send(
                    {"type": "new-ice-candidate", "target": "alice", "candidate": {"n": n}}
                )
            back = await Client.open(port)
            hello = {"type": "username", "name": "alice", "resume": token, "seq": last}
            await back.send({**hello, "features": FEATURES})
            await back.wait_for("signed-in", name="alice", resumed=True)
            got = [(await back.wait_for("new-ice-candidate"))["candidate"]["n"] for _ in range(3)]
            assert got == [0, 1, 2]
            await back.close()
        finally:
            await alice.session.close()
            await bob.close()


@pytest.mark.parametrize(
    ("args", "env"), [(["--loop", "asyncio"], {}), ([], {"CHINWAG_LOOP": "asyncio"})]
)
async def test_asyncio_loop_by_flag_or_environment(args: list[str], env: dict[str, str]) -> None:
    with serving(CHINWAG, *args, env=env) as (port, loop):
        assert loop == "asyncio"
        client = await Client.open(port)
        await client.close()


async def test_without_uvloop_auto_runs_on_asyncio_silently(tmp_path: Path) -> None:
    with serving([sys.executable, "-c", _WITHOUT_UVLOOP]) as (port, loop):
        assert loop == "asyncio"
        client = await Client.open(port)
        await client.sign_in("solo")
        await client.wait_for("userlist", users=["solo"])
        await client.close()
