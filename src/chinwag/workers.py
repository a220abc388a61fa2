"""``chinwag serve --workers N``: N server processes on one port, one lobby.

The parent does no serving. It picks the port (binding it with SO_REUSEPORT
first, so ``--port 0`` means one ephemeral port shared by all), starts N
children that each run the ordinary server with ``reuse_port`` (the kernel
spreads new connections across them) and share one lobby through
``--redis``, restarts a child that dies (with backoff, so a child that cannot
start does not spin), and on SIGTERM/SIGINT tells every child to stop and
exits 0 once they have. A child refused by the cluster (another cluster
format runs there) is not restarted: every child stops and the parent exits
with that refusal's code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from .cluster.bus import ClusterRefused
from .config import Settings

__all__ = ["run_workers"]

log = logging.getLogger("chinwag.workers")

_STOP_GRACE = 10.0  # seconds children get to close their sockets before SIGKILL
_STEADY_AFTER = 30.0  # a child that ran this long is healthy again: backoff resets
_MAX_BACKOFF = 30.0


@dataclasses.dataclass(slots=True)
class _Slot:
    """One of the N worker places: its current process and crash history."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    crashes: int = 0
    restart_at: float | None = None


def run_workers(settings: Settings) -> int:
    """Run ``settings.workers`` servers on one port until SIGTERM/SIGINT; returns 0
    (or ``ClusterRefused.exit_code`` when the cluster refused a child)."""
    port_holder = _reserve_port(settings.host, settings.port)
    child_settings = dataclasses.replace(settings, port=port_holder.getsockname()[1])
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, no inherited loop
    slots = [_Slot(i) for i in range(settings.workers)]
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("starting %d workers on %s:%d", settings.workers, settings.host, child_settings.port)
    try:
        for slot in slots:
            _start(context, slot, child_settings)
        refused = False
        while not stopping and not refused:
            refused = _watch(context, slots, child_settings)
        if refused:
            log.error("a worker was refused by the cluster: stopping %d workers", len(slots))
        else:
            log.info("signal %d: stopping %d workers", stopping[0], len(slots))
        _stop_all(slots)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        port_holder.close()
    return ClusterRefused.exit_code if refused else 0


def _reserve_port(host: str, port: int) -> socket.socket:
    """Bind (never listen) ``host:port`` with SO_REUSEPORT: resolves port 0 once for all."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    holder = socket.socket(family, kind, proto)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(address)
    return holder


def _start(context: multiprocessing.context.SpawnContext, slot: _Slot, settings: Settings) -> None:
    process = context.Process(
        target=_child_main, args=(settings, slot.index), name=f"chinwag-worker-{slot.index}"
    )
    process.start()
    slot.process, slot.started_at, slot.restart_at = process, time.monotonic(), None
    log.info("worker %d started (pid %s)", slot.index, process.pid)


def _watch(
    context: multiprocessing.context.SpawnContext, slots: list[_Slot], settings: Settings
) -> bool:
    """Wait a moment for a child to exit; schedule and carry out restarts.

    True when a child exited because the cluster refused it (restarting it
    would be refused again).
    """
    running = {s.process.sentinel: s for s in slots if s.process is not None}
    for sentinel in wait(list(running), timeout=0.2):
        assert isinstance(sentinel, int)
        process = running[sentinel].process
        assert process is not None
        process.join()
        if process.exitcode == ClusterRefused.exit_code:
            return True
        _schedule_restart(running[sentinel])
    now = time.monotonic()
    for slot in slots:
        if slot.restart_at is not None and slot.restart_at <= now:
            _start(context, slot, settings)
    return False


def _schedule_restart(slot: _Slot) -> None:
    assert slot.process is not None
    slot.process.join()
    code = slot.process.exitcode
    now = time.monotonic()
    slot.crashes = 1 if now - slot.started_at >= _STEADY_AFTER else slot.crashes + 1
    delay = min(_MAX_BACKOFF, 0.5 * 2 ** (slot.crashes - 1))
    log.warning(
        "worker %d (pid %s) exited with %s; restarting in %.1f s",
        slot.index,
        slot.process.pid,
        code,
        delay,
    )
    slot.process, slot.restart_at = None, now + delay


def _stop_all(slots: list[_Slot]) -> None:
    """SIGTERM every child, wait up to the grace period, then SIGKILL the rest."""
    alive = [s.process for s in slots if s.process is not None and s.process.is_alive()]
    for process in alive:
        if process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE
    for process in alive:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.warning(
                "worker pid %s did not stop in %.0f s; killing it", process.pid, _STOP_GRACE
            )
            process.kill()
            process.join()


def _child_main(settings: Settings, index: int) -> None:
    """A worker: the ordinary server (with reuse_port, as ``workers > 1``)."""
    from .logs import setup_logging
    from .transport.eventloop import run
    from .transport.serve import serve_forever

    setup_logging(settings.log_level, settings.log_format)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # a SIGINT before the server's handler
            run(lambda: serve_forever(settings), settings.loop)
    except ClusterRefused as error:
        log.error("worker %d: %s", index, error)
        sys.exit(ClusterRefused.exit_code)
