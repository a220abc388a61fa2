"""A real Janus, configured by ``chinwag janus-config``: the one way tests start the SFU.

``run_janus(workdir)`` writes the configuration chinwag generates (through
:func:`~chinwag.sfu.janus_config.janus_config_files`, the code behind the
command) with a free WebSocket port on 127.0.0.1 and a random block of RTP
ports, starts ``janus -F DIR -L LOG``, waits until its WebSocket API answers
``info`` with the VideoRoom loaded (real readiness, not an open port), yields
a :class:`Janus`, and kills it on the way out, whatever happened.

Where media goes: Janus's API listens on 127.0.0.1 only, but its ICE never
gathers on a loopback interface (``ice.c`` skips ``IFF_LOOPBACK``), so media
candidates are pinned (``ice_enforce_list``) to the one address this machine
uses by default. The kernel delivers packets to its own address locally:
nothing leaves the machine.

``-F`` alone is enough: Janus reads ``DIR/janus.jcfg`` and the plugins'
files from the same folder (no ``-C`` needed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chinwag.config import settings_for_tests
from chinwag.sfu.janus import JanusLost, JanusSession
from chinwag.sfu.janus_config import JanusOptions, janus_config_files, write_janus_config

__all__ = ["SECRET", "Janus", "janus_info", "local_address", "run_janus", "start_janus"]

SECRET = "janus-test-secret-0123456789"
#: Seconds Janus may take to answer ``info`` (it starts in well under one when idle).
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
VIDEOROOM = "janus.plugin.videoroom"


@dataclass
class Janus:
    """One running Janus: its API URL, the secret it wants, its folder and log."""

    url: str
    secret: str
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path
    ws_port: int
    rtp_ports: tuple[int, int]

    def log_tail(self, chars: int = 3000) -> str:
        """The end of Janus's log, for assertion messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def local_address() -> str:
    """The address this machine sends from by default (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def janus_info(url: str, secret: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Janus's ``server_info`` through chinwag's client; usable from sync or async code
    (it runs its own event loop in a worker thread). Raises JanusLost if it does not answer."""

    async def ask() -> dict[str, Any]:
        async with JanusSession(url, secret, timeout=timeout) as session:
            return await session.info()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, ask()).result()


def start_janus(
    workdir: Path, secret: str = SECRET, ws_port: int | None = None, **options: Any
) -> Janus:
    """Write chinwag's Janus config into ``workdir/janus`` and start Janus; returns once its
    API answers ``info`` with the VideoRoom loaded. Call :func:`stop_janus` after (or use
    :func:`run_janus`). ``ws_port``: the API's port (a free one if None; give a killed
    Janus's to start it again at the same URL). ``options`` override :class:`JanusOptions`."""
    folder = workdir / "janus"
    ws_port = ws_port or _free_tcp_port()
    rtp_low = random.randrange(10000, 19800, 200)
    config = JanusOptions(
        api_secret=secret,
        ws_port=ws_port,
        rtp_min_port=rtp_low,
        rtp_max_port=rtp_low + 199,
        ice_enforce=(local_address(),),
        **options,
    )
    write_janus_config(folder, janus_config_files(config, settings_for_tests()))
    log = folder / "janus.log"
    process = subprocess.Popen(
        ["janus", "-F", str(folder), "-L", str(log), "--disable-colors"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    janus = Janus(
        f"ws://127.0.0.1:{ws_port}", secret, process, folder, log, ws_port, (rtp_low, rtp_low + 199)
    )
    try:
        _wait_until_ready(janus)
    except BaseException:
        stop_janus(janus)
        raise
    return janus


def stop_janus(janus: Janus) -> None:
    """Kill Janus at once (its shutdown can hang on open handles) and reap it."""
    if janus.process.poll() is None:
        janus.process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        janus.process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def run_janus(
    workdir: Path, secret: str = SECRET, ws_port: int | None = None, **options: Any
) -> Iterator[Janus]:
    """A running Janus for the ``with`` block (see :func:`start_janus`); killed after."""
    janus = start_janus(workdir, secret, ws_port, **options)
    try:
        yield janus
    finally:
        stop_janus(janus)


def _wait_until_ready(janus: Janus) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if janus.process.poll() is not None:
            raise RuntimeError(
                f"janus exited with {janus.process.returncode}; its log:\n{janus.log_tail()}"
            )
        try:
            info = janus_info(janus.url, janus.secret)
        except (JanusLost, OSError) as error:
            last_error = str(error)
            time.sleep(0.1)
            continue
        if VIDEOROOM in info.get("plugins", {}):
            return
        raise RuntimeError(f"janus answers without the VideoRoom: {info}")
    raise RuntimeError(
        f"janus did not answer info within {START_TIMEOUT:.0f} s ({last_error}); its log:\n"
        + janus.log_tail()
    )
