"""A Janus for the SFU tests until tests/janus.py (chinwag janus-config) lands: to be replaced."""

from __future__ import annotations

import contextlib
import random
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.redis_server import free_port

LIB = "/usr/lib/x86_64-linux-gnu/janus"
SECRET = "janus-test-secret"


@dataclass
class Janus:
    url: str
    secret: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def run_janus(workdir: Path) -> Iterator[Janus]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    rtp = random.randrange(20000, 30000, 200)
    plugins = " ".join(p.name for p in Path(LIB, "plugins").glob("*.so"))
    disabled = ",".join(n for n in plugins.split() if "videoroom" not in n)
    transports = ",".join(
        p.name for p in Path(LIB, "transports").glob("*.so") if "websockets" not in p.name
    )
    (workdir / "janus.jcfg").write_text(
        f"""general: {{
  configs_folder = "{workdir}"
  plugins_folder = "{LIB}/plugins"
  transports_folder = "{LIB}/transports"
  events_folder = "{LIB}/events"
  loggers_folder = "{LIB}/loggers"
  debug_level = 4
  api_secret = "{SECRET}"
}}
media: {{ rtp_port_range = "{rtp}-{rtp + 199}" }}
nat: {{ ice_ignore_list = "vmnet" }}
plugins: {{ disable = "{disabled}" }}
transports: {{ disable = "{transports}" }}
events: {{ broadcast = false }}
"""
    )
    (workdir / "janus.transport.websockets.jcfg").write_text(
        f"""general: {{ json = "plain" ws = true ws_port = {port} ws_ip = "127.0.0.1" wss = false }}
admin: {{ admin_ws = false }}
"""
    )
    (workdir / "janus.plugin.videoroom.jcfg").write_text(f'general: {{ admin_key = "{SECRET}" }}\n')
    log = workdir / "janus.log"
    process = subprocess.Popen(
        ["janus", "-F", str(workdir), "-L", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        import socket

        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"janus did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Janus(f"ws://127.0.0.1:{port}", SECRET, process, log)
    finally:
        process.kill()
        process.wait()
