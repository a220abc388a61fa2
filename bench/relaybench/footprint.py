"""Memory per idle connection, sign-in storms, and the cost of WebSocket client libraries."""

from __future__ import annotations

import time
from typing import IO, Any

from relaybench.drive import LoadGen, close_group, open_group, split
from relaybench.relaytest import percentile
from relaybench.servers import SIGNIN_TARGET_SECONDS, running, say


def memory_test(gen: LoadGen, target: str, log: IO[bytes]) -> dict[str, Any]:
    """Pss of the server with 1, 1,000 and 5,000 idle signed-in (deltas) connections."""
    steps = [("m0-", 1), ("m1-", 999), ("m2-", 4000)]
    readings = []
    total = 0
    with running(target, log) as server:
        for prefix, count in steps:
            names = [f"{prefix}{k}" for k in range(count)]
            started = time.monotonic()
            open_group(
                gen, server.port, prefix, names, sign_in=True, features=["deltas"], wait="signed-in"
            )
            opened = time.monotonic() - started
            total += count
            server.settle(quiet_for=1.0)
            reading = server.usage()
            readings.append(
                {
                    "connections": total,
                    "pss_kib": reading.pss_kib,
                    "rss_kib": reading.rss_kib,
                    "open_seconds": opened,
                }
            )
            say(f"  {target} memory: {total} connections, Pss {reading.pss_kib / 1024:.1f} MiB")
        for prefix, _ in steps:
            close_group(gen, prefix)
    base = readings[0]
    for row in readings[1:]:
        added = row["connections"] - base["connections"]
        row["pss_kib_per_connection"] = (row["pss_kib"] - base["pss_kib"]) / added
        row["rss_kib_per_connection"] = (row["rss_kib"] - base["rss_kib"]) / added
    return {"readings": readings}


def signin_test(
    gen: LoadGen, target: str, deltas: bool, clients: int, log: IO[bytes]
) -> dict[str, Any]:
    """``clients`` connected sockets send ``username`` at one instant; time to a complete list."""
    names = [f"s{k}" for k in range(clients)]
    runs = split(names, len(gen))
    with running(target, log) as server:
        opened = open_group(
            gen, server.port, "signin", names, sign_in=False, features=[], wait="id"
        )
        server.settle()
        at = time.monotonic() + 0.3
        replies = gen.ask(
            [
                {
                    "op": "signin",
                    "group": "signin",
                    "all_names": names,
                    "deltas": deltas,
                    "at": at,
                    "patience": 3 * SIGNIN_TARGET_SECONDS,
                }
                for _ in runs
            ]
        )
        close_group(gen, "signin")
    times = sorted(t for r in replies for t in r["complete_after"])
    result = {
        "clients": clients,
        "connect_seconds": opened["seconds"],
        "complete": len(times),
        "within_target": sum(1 for t in times if t <= SIGNIN_TARGET_SECONDS),
        "p50_s": percentile(times, 0.5),
        "last_s": times[-1] if len(times) == clients else float("inf"),
        "errors": sum(r["errors"] for r in replies),
    }
    kind = "deltas" if deltas else "reference"
    say(
        f"  {target} sign-in ({kind}): {result['complete']}/{clients} complete, "
        f"last after {result['last_s']:.2f} s"
    )
    return result


def clients_test(gen: LoadGen, target: str, log: IO[bytes]) -> dict[str, Any]:
    """CPU per message of each client library, ping-pong through one server, one process."""
    results = {}
    with running(target, log) as server:
        for kind in ("raw", "aiohttp", "websockets"):
            command = {
                "op": "clients",
                "kind": kind,
                "port": server.port,
                "pairs": 50,
                "window": 4,
                "seconds": 3.0,
            }
            results[kind] = gen.ask([command])[0]
            shown = results[kind].get("cpu_us_per_message")
            say(
                f"  client {kind}: {shown if shown is None else round(shown, 1)} us/message "
                f"{results[kind].get('error', '')}"
            )
            server.settle()
    return results
