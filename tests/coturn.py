"""A real coturn (``turnserver``) on loopback: the one way tests start a TURN relay.

coturn runs loopback-only (``--listening-ip``/``--relay-ip`` 127.0.0.1, no TLS,
DTLS or admin CLI), plus ``--use-auth-secret`` (TURN REST credentials, as
chinwag hands out).
``--allow-loopback-peers`` is what lets it relay between two peers on
127.0.0.1; without it permissions are refused with 403 and ICE fails. Its
relay ports are a random block below Linux's ephemeral range, so the
browsers' own sockets never collide with them, and its log goes to a file in
the given directory, shown when it fails to start.

``start_coturn(workdir)`` returns a running :class:`Coturn`; ``stop_coturn``
ends it (fixtures in each test directory wrap these two); ``crash_and_restart``
simulates a relay crash.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest import TempPathFactory

from chinwag.config import settings_for_tests
from chinwag.nat.turn import IceServers

__all__ = [
    "Coturn",
    "crash_and_restart",
    "free_port",
    "secret_flags",
    "start_coturn",
    "stop_coturn",
]

START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0


@dataclass
class Coturn:
    """One running turnserver: where it listens and the secret it checks credentials with."""

    port: int
    secret: str
    process: subprocess.Popen[bytes]
    log: Path
    command: list[str]

    def url(self, transport: str = "udp") -> str:
        """The ``turn:`` URL for chinwag's ``ice_url`` setting."""
        return f"turn:127.0.0.1:{self.port}?transport={transport}"

    def ice_servers(self, secret: str | None = None, transport: str = "udp") -> IceServers:
        """chinwag's IceServers for this coturn (``secret`` overrides the matching one)."""
        settings = settings_for_tests(
            ice_url=[self.url(transport)], turn_secret=secret or self.secret, turn_ttl=600
        )
        return IceServers.from_settings(settings)


def secret_flags(secret: str) -> list[str]:
    """turnserver flags for TURN REST credentials with ``secret``, no TLS, no admin CLI."""
    return [
        "-n", "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=chinwag",
        "--fingerprint", "--no-tls", "--no-dtls", "--no-cli",
    ]  # fmt: skip


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (coturn listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with contextlib.suppress(OSError):
                udp.bind(("127.0.0.1", port))
                return port
    raise RuntimeError("no port free for both TCP and UDP")


def start_coturn(
    workdir: Path,
    secret: str = "test-secret",
    config: str | None = None,
    port: int = 0,
    wrapper: Sequence[str] = (),
) -> Coturn:
    """Run turnserver on loopback (on ``port``, or a free one); returns once it listens.
    Call :func:`stop_coturn` after.

    With ``config`` (a turnserver.conf text) coturn reads that file instead of
    the default credential flags; the loopback flags on the command line still
    take precedence over it. ``workdir`` (created if missing) holds the log,
    the pid file and the config. ``wrapper`` goes before ``turnserver`` on the
    command line (e.g. ``faketime`` to set its clock).
    """
    port = port or free_port()
    relay_low = random.randrange(20000, 30000, 200)
    workdir.mkdir(parents=True, exist_ok=True)
    command = [*wrapper, "turnserver"]
    if config is None:
        command += secret_flags(secret)
    else:
        (workdir / "turnserver.conf").write_text(config)
        command += ["-c", str(workdir / "turnserver.conf")]
    command += [
        "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        f"--min-port={relay_low}", f"--max-port={relay_low + 199}",
        "--allow-loopback-peers", "--log-file=stdout", "--simple-log",
        f"--pidfile={workdir / 'turnserver.pid'}",
    ]  # fmt: skip
    coturn = Coturn(port, secret, _run(command, workdir), workdir / "turnserver.log", command)
    try:
        _wait_until_listening(coturn)
    except BaseException:
        stop_coturn(coturn)
        raise
    return coturn


def coturn_for_fixture(tmp_path_factory: TempPathFactory, secret: str) -> Iterator[Coturn]:
    """The body of a ``coturn`` fixture: a turnserver on loopback checking TURN REST
    credentials made with ``secret``, stopped when the fixture's scope ends."""
    relay = start_coturn(tmp_path_factory.mktemp("coturn"), secret)
    try:
        yield relay
    finally:
        stop_coturn(relay)


def crash_and_restart(coturn: Coturn) -> None:
    """Kill turnserver at once (as a crash would: every allocation is lost) and start a
    fresh one with the same port and credentials; ``coturn`` then describes the new one."""
    coturn.process.kill()
    coturn.process.wait(timeout=STOP_TIMEOUT)
    coturn.process = _run(coturn.command, coturn.log.parent)
    _wait_until_listening(coturn)


def stop_coturn(coturn: Coturn) -> None:
    """End the turnserver (SIGTERM, then SIGKILL if it lingers)."""
    coturn.process.terminate()
    try:
        coturn.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        coturn.process.kill()
        coturn.process.wait(timeout=STOP_TIMEOUT)


def _run(command: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    with (workdir / "turnserver.log").open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _wait_until_listening(coturn: Coturn) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and coturn.process.poll() is None:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", coturn.port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"coturn did not start; its log:\n{coturn.log.read_text()}")
