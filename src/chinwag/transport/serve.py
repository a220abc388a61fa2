"""``chinwag serve``: run one server until a signal, then shut down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from ..config import Settings
from .eventloop import describe
from .server import ChinwagServer

__all__ = ["serve_forever"]

log = logging.getLogger("chinwag.transport.serve")


async def serve_forever(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then close every socket with 1001."""
    server = ChinwagServer(settings)
    await server.start()
    # Everything allocated so far lives as long as the process: keep it out of
    # the collector's scans, and collect the young generation less often (the
    # relay path allocates short-lived tuples by the million).
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    loop = asyncio.get_running_loop()
    log.info("event loop: %s", describe(loop))
    print(f"chinwag listening on {server.url}", flush=True)
    if server.certificate is not None:
        print(f"chinwag certificate SHA-256 {server.certificate.fingerprint}", flush=True)
    network_urls = server.network_urls()
    for url in network_urls:
        print(f"  from other machines: {url}", flush=True)
    if network_urls and server.certificate is None:
        print(
            "  (browsers allow camera and microphone only on localhost or over HTTPS:"
            " add --self-signed for phones and laptops on your network)",
            flush=True,
        )
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    if settings.drain > 0:
        # Let a load balancer see /healthz/ready fail and move new users elsewhere first.
        log.info("draining for %.1f s before shutting down", settings.drain)
        server.draining = True
        stop.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.drain)  # a second signal skips it
    log.info("shutting down")
    await server.stop()
