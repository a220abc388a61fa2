"""Room chat at scale: many signed-in users in rooms of ten, every room chatting.

One ``chinwag serve`` process; the load generators (bench/roomchat.py) hold
whole rooms each. Measured over one window: the server's CPU (its PID tree, from
/proc), the generators' CPU, what other processes used meanwhile, every
delivery's latency (sender's clock in the text, read at each receiver), and the
server's memory before and after the users signed in.
"""

from __future__ import annotations

import time
from array import array
from typing import IO, Any

import procstat
from relaybench.drive import LoadGen, close_group, open_group, split
from relaybench.relaytest import percentile
from relaybench.servers import Server, running, say

from roombench.common import WEB_FEATURES, history_args, load_average, waited_ns

P99_TARGET_MS = 50.0


def scale_test(
    gen: LoadGen,
    log: IO[bytes],
    *,
    users: int,
    room_size: int,
    seconds: float,
    warmup: float,
    history: bool,
    server_args: list[str],
) -> dict[str, Any]:
    """Sign ``users`` in, ``room_size`` to a room, then chat one line/s per room."""
    names = [f"u{k}" for k in range(users)]
    room_of = [k // room_size for k in range(users)]
    extras = [{"room": f"room-{room}"} for room in room_of]
    with history_args(history) as args, running("chinwag", log, [*args, *server_args]) as server:
        server.settle()
        empty = server.usage()
        started = time.monotonic()
        open_group(
            gen,
            server.port,
            "chat",
            names,
            sign_in=True,
            features=WEB_FEATURES,
            wait="signed-in",
            multiple=room_size,
            extras=extras,
        )
        sign_in_seconds = time.monotonic() - started
        server.settle(quiet_for=1.0, at_most=20.0)
        full = server.usage()
        say(
            f"  {users} users in {users // room_size} rooms signed in after "
            f"{sign_in_seconds:.1f} s; RSS {empty.rss_kib / 1024:.0f} -> "
            f"{full.rss_kib / 1024:.0f} MiB"
        )
        result = _chat(gen, server, split(room_of, len(gen), room_size), seconds, warmup)
        close_group(gen, "chat")
    result.update(
        users=users,
        rooms=users // room_size,
        history=history,
        sign_in_seconds=sign_in_seconds,
        rss_empty_kib=empty.rss_kib,
        rss_full_kib=full.rss_kib,
        rss_kib_per_user=(full.rss_kib - empty.rss_kib) / users,
        pss_kib_per_user=(full.pss_kib - empty.pss_kib) / users,
    )
    say(
        f"  chat {'history on' if history else 'history off'}: "
        f"{result['lines_per_s']:.0f} lines/s, {result['deliveries_per_s']:.0f} deliveries/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"max {result['max_ms']:.0f} ms, lost {result['lost']}; server "
        f"{result['server_cores']:.2f} cores, generators {result['loadgen_cores']:.2f}, "
        f"others {result['other_cores']:.2f}; load {result['load_average']}; "
        f"memory {result['rss_kib_per_user']:.1f} KiB RSS/user\n"
        f"  p50 ms by second of sending: {result['p50_ms_by_second']}\n"
        f"  p99 ms by second of sending: {result['p99_ms_by_second']}\n"
        f"  server runnable but not running, ms per second: "
        f"{result['server_waiting_ms_by_second']}"
    )
    return result


def _chat(
    gen: LoadGen, server: Server, rooms: list[list[int]], seconds: float, warmup: float
) -> dict[str, Any]:
    """One chat run; /proc read at the edges of the measured window."""
    at = time.monotonic() + 0.3
    measure_from, measure_to = at + warmup, at + warmup + seconds
    for pipe, worker_rooms in zip(gen.pipes, rooms, strict=True):
        pipe.send(
            {
                "op": "chat",
                "group": "chat",
                "rooms": worker_rooms,
                "rate_per_room": 1.0,
                "at": at,
                "measure_from": measure_from,
                "measure_to": measure_to,
                "send_until": measure_to + 0.5,  # lines still flow at the window's end
                "drain": 5.0,
            }
        )
    time.sleep(max(0.0, measure_from - time.monotonic()))
    server_before, gen_before = server.usage(), gen.usage()
    machine_before = procstat.busy_cpu_seconds()
    waits = _run_queue_waits(server.pid, measure_from, measure_to)
    server_cost, gen_cost = server.usage() - server_before, gen.usage() - gen_before
    others = procstat.busy_cpu_seconds() - machine_before
    others -= server_cost.cpu_seconds + gen_cost.cpu_seconds
    load = load_average()
    replies = []
    for pipe in gen.pipes:
        if not pipe.poll(seconds + 60):
            raise TimeoutError("a load generator did not finish its chat")
        reply = pipe.recv()
        if "error" in reply and len(reply) == 1:
            raise RuntimeError(f"load generator: {reply['error']}")
        replies.append(reply)
    latencies: list[int] = []
    by_second: dict[int, list[int]] = {}
    for reply in replies:
        values, sent_ms = array("I"), array("I")
        values.frombytes(reply["latencies_us"])
        sent_ms.frombytes(reply["sent_ms"])
        latencies.extend(values)
        for latency, sent in zip(values, sent_ms, strict=True):
            by_second.setdefault(sent // 1000, []).append(latency)
    latencies.sort()
    # A p50 that climbs second after second is a backlog: the server falls behind;
    # a p99 high in one second alone is one stall (a heartbeat round, a busy neighbour).
    p50_by_second, p99_by_second = [], []
    for second in sorted(by_second):
        values = sorted(by_second[second])
        p50_by_second.append(round(percentile(values, 0.5) / 1000, 1))
        p99_by_second.append(round(percentile(values, 0.99) / 1000))
    expected = sum(r["expected"] for r in replies)
    delivered = sum(r["delivered"] for r in replies)
    return {
        "seconds": seconds,
        "lines_per_s": sum(r["sent"] for r in replies) / seconds,
        "deliveries_per_s": delivered / seconds,
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "p50_ms": percentile(latencies, 0.50) / 1000,
        "p99_ms": percentile(latencies, 0.99) / 1000,
        "p999_ms": percentile(latencies, 0.999) / 1000,
        "max_ms": (latencies[-1] / 1000) if latencies else float("nan"),
        "p50_ms_by_second": p50_by_second,
        "p99_ms_by_second": p99_by_second,
        "server_waiting_ms_by_second": waits,
        "server_cores": server_cost.cpu_seconds / seconds,
        "server_system_cores": server_cost.system_seconds / seconds,
        "loadgen_cores": gen_cost.cpu_seconds / seconds,
        "other_cores": max(0.0, others / seconds),
        "load_average": load,
        "p99_met": percentile(latencies, 0.99) / 1000 < P99_TARGET_MS and expected == delivered,
    }


def _run_queue_waits(pid: int, start: float, end: float) -> list[int]:
    """Each second, how long the server's event-loop thread waited for a CPU while runnable.

    /proc/PID/schedstat's second field: nanoseconds spent on a run queue. When
    this is large, the server was ready to work and the machine gave the core to
    someone else: latency then is the machine's, not the server's.
    """
    waits = []
    moment = start
    last = waited_ns(pid)
    while moment < end:
        moment = min(end, moment + 1.0)
        time.sleep(max(0.0, moment - time.monotonic()))
        now = waited_ns(pid)
        waits.append((now - last) // 1_000_000)
        last = now
    return waits
