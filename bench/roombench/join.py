"""A crowd joining one room at once: how long until everyone holds the whole room list.

``clients`` sockets are opened (not signed in); at one agreed instant each sends
its ``username`` straight into one room, and each times its own view of the room
until it names all ``clients`` people. Three kinds of client:

- ``web``: the web client's features (``deltas``: one list, then ``presence``
  deltas applied in the documented order), as chinwag's own clients do;
- ``rooms-full``: ``rooms`` without ``deltas``: a full ``userlist`` every
  presence interval, as a reference client would read it;
- ``reference``: the tutorial's client, no features, in the default room
  (reference clients cannot name another room).
"""

from __future__ import annotations

import time
from typing import IO, Any

from relaybench.drive import LoadGen, close_group, open_group, split
from relaybench.relaytest import percentile
from relaybench.servers import running, say

from roombench.common import WEB_FEATURES, history_args, load_average, waited_ns

JOIN_TARGET_SECONDS = 1.0
KINDS: dict[str, tuple[list[str], dict[str, Any] | None]] = {
    "web": (WEB_FEATURES, {"room": "crowd"}),
    "rooms-full": (["rooms", "plain-text"], {"room": "crowd"}),
    "reference": ([], None),
}


def join_test(
    gen: LoadGen,
    log: IO[bytes],
    *,
    kind: str,
    clients: int,
    history: bool,
    server_args: list[str],
) -> dict[str, Any]:
    """One crowd of ``clients`` of one ``kind`` joins at once; when is each list complete?"""
    features, extra = KINDS[kind]
    names = [f"j{k}" for k in range(clients)]
    with history_args(history) as args, running("chinwag", log, [*args, *server_args]) as server:
        open_group(gen, server.port, "join", names, sign_in=False, features=[], wait="id")
        server.settle()
        before = load_average()
        at = time.monotonic() + 0.3
        command = {
            "op": "signin",
            "group": "join",
            "all_names": names,
            "deltas": "deltas" in features,
            "at": at,
            "patience": 15 * JOIN_TARGET_SECONDS,
            "features": features,
            "extra": extra,
        }
        cpu_before, wait_before = server.usage().cpu_seconds, waited_ns(server.pid)
        replies = gen.ask([command for _ in split(names, len(gen))])
        server_cpu = server.usage().cpu_seconds - cpu_before
        server_waited = (waited_ns(server.pid) - wait_before) / 1e9
        close_group(gen, "join")
    times = sorted(t for r in replies for t in r["complete_after"])
    result = {
        "kind": kind,
        "clients": clients,
        "complete": len(times),
        "p50_s": percentile(times, 0.5),
        "p99_s": percentile(times, 0.99),
        "last_s": times[-1] if len(times) == clients else float("inf"),
        "errors": sum(r["errors"] for r in replies),
        "load_average": before,
        "server_cpu_s": server_cpu,
        "server_waited_s": server_waited,
    }
    result["met"] = result["last_s"] <= JOIN_TARGET_SECONDS
    say(
        f"  join {kind}: {result['complete']}/{clients} complete, p50 {result['p50_s']:.2f} s, "
        f"last {result['last_s']:.2f} s (target {JOIN_TARGET_SECONDS} s); server CPU "
        f"{server_cpu:.2f} s, waited for a core {server_waited:.2f} s; load {before}"
    )
    return result
