"""Relay benchmark (issue 2): chinwag against a Node.js `ws` relay and an aiohttp relay.

Run by hand, never in CI:

    .venv/bin/python bench/relay.py                      # everything, about 4 minutes
    .venv/bin/python bench/relay.py --only relay --targets chinwag,node --seconds 10
    .venv/bin/python bench/relay.py --json out.json

Each server runs as its own process, started fresh for each test on a free
port of 127.0.0.1; the load generators are other processes (``--procs``), so
what /proc says about the server's PID is the server's cost alone:

- ``relay``: ``--pairs`` signed-in pairs stream ``new-ice-candidate``
  messages to each other, each side keeping at most ``--window`` in flight
  (the partner's receipt is the ack). A ramp of paced rates finds the peak, a
  closed-loop run measures the server at saturation, and a run paced at half
  the peak measures latency. Reported: delivered messages/s, latency p50/p99,
  server CPU microseconds and read/write system calls (/proc/PID/io) per
  relayed message, and the load generators' own CPU.
- ``memory``: Pss (smaps_rollup) of the server with 1, 1,000 and 5,000 idle
  signed-in connections; the growth per connection.
- ``signin``: 2,000 connected clients sign in at the same instant; how long
  until every one holds the complete user list, for reference clients (full
  ``userlist``) and for ``deltas`` clients (applying ``presence`` deltas).
- ``clients``: CPU per message of the WebSocket client libraries a load
  generator could use (this bench's own small client, aiohttp's, websockets').
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import loadgen
import procstat

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HOST = "127.0.0.1"
TARGETS = ("chinwag", "node", "aiohttp")
# Not run by default: chinwag on uvloop's event loop (needs `pip install uvloop`).
EXTRA_TARGETS = ("chinwag-uvloop",)
_UVLOOP_CHINWAG = (
    "import asyncio, sys, uvloop; asyncio.set_event_loop_policy(uvloop.EventLoopPolicy()); "
    "from chinwag.cli import main; sys.exit(main(sys.argv[1:]))"
)
# Loopback load comes from one address, so lift the per-IP and total caps;
# warnings only, as the other relays log nothing per connection.
_CHINWAG_FLAGS = (
    *("serve", "--host", HOST, "--port", "0", "--max-per-ip", "100000"),
    *("--max-connections", "100000", "--log-level", "warning"),
)
_LISTENING = re.compile(rb"listening on http://[^/]*:(\d+)/")

# Targets (from the issue): chinwag vs the Node relay measured in the same run.
CPU_RATIO_TARGET = 0.6
IDLE_CONNECTION_TARGET_KIB = 10.0
P99_TARGET_MS = 5.0
SIGNIN_TARGET_SECONDS = 5.0
# A measurement during which other processes used more CPU than this is repeated.
NOISE_CORES = 0.25


# --- servers --------------------------------------------------------------------------------


def server_command(target: str) -> list[str]:
    """The command line that starts one target's server on a free port of 127.0.0.1."""
    if target in ("chinwag", "chinwag-uvloop"):
        venv = ROOT / ".venv" / "bin"
        if target == "chinwag-uvloop":
            python = str(venv / "python") if (venv / "python").exists() else sys.executable
            # -O: chinwag asserts asyncio.Transport, which uvloop's transports are not.
            return [python, "-O", "-c", _UVLOOP_CHINWAG, *_CHINWAG_FLAGS]
        script = str(venv / "chinwag") if (venv / "chinwag").exists() else "chinwag"
        return [script, *_CHINWAG_FLAGS]
    if target == "node":
        return ["node", str(BENCH / "node_relay" / "relay.js"), "--host", HOST, "--port", "0"]
    if target == "aiohttp":
        return [sys.executable, str(BENCH / "aiohttp_relay.py"), "--host", HOST, "--port", "0"]
    raise ValueError(f"unknown target {target!r}")


class Server:
    """One server process: started, its port read from its first line, stopped by PID."""

    def __init__(self, target: str, log: IO[bytes]) -> None:
        self.target = target
        self.process = subprocess.Popen(
            server_command(target), stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
        )
        self.pid = self.process.pid
        self.port = self._read_port(log, deadline=time.monotonic() + 30)
        threading.Thread(target=self._copy_output, args=(log,), daemon=True).start()

    def _read_port(self, log: IO[bytes], deadline: float) -> int:
        assert self.process.stdout is not None
        for _ in range(100):
            if time.monotonic() > deadline or self.process.poll() is not None:
                break
            line = self.process.stdout.readline()
            log.write(line)
            found = _LISTENING.search(line)
            if found:
                return int(found.group(1))
        self.stop()
        raise RuntimeError(f"{self.target} did not say where it listens (see the log)")

    def _copy_output(self, log: IO[bytes]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            log.write(line)

    def usage(self) -> procstat.Usage:
        return procstat.usage(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def settle(self, quiet_for: float = 0.6, at_most: float = 8.0) -> None:
        """Wait until the server has used no CPU for ``quiet_for`` seconds (bounded)."""
        deadline = time.monotonic() + at_most
        last = self.usage().cpu_seconds
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.usage().cpu_seconds
            if now - last > 0.011:  # more than one clock tick
                quiet_since = time.monotonic()
            last = now
            if time.monotonic() - quiet_since >= quiet_for:
                return


@contextmanager
def running(target: str, log: IO[bytes]) -> Iterator[Server]:
    """A fresh server for one test."""
    server = Server(target, log)
    try:
        yield server
    finally:
        server.stop()


# --- load generators ------------------------------------------------------------------------


class LoadGen:
    """Worker processes (bench/loadgen.py) that hold the client connections."""

    def __init__(self, procs: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(procs):
            mine, theirs = context.Pipe()
            process = context.Process(target=loadgen.worker_main, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.pipes)

    def ask(self, commands: list[dict[str, Any]], timeout: float = 120.0) -> list[dict[str, Any]]:
        """Send one command to each of the first len(commands) workers; gather the replies."""
        for pipe, command in zip(self.pipes, commands, strict=False):
            pipe.send(command)
        replies = []
        deadline = time.monotonic() + timeout
        for pipe in self.pipes[: len(commands)]:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError("a load generator did not answer in time")
            reply = pipe.recv()
            if "error" in reply and len(reply) == 1:
                raise RuntimeError(f"load generator: {reply['error']}")
            replies.append(reply)
        return replies

    def usage(self) -> procstat.Usage:
        readings = [procstat.usage(p.pid) for p in self.processes if p.pid is not None]
        total = readings[0]
        for reading in readings[1:]:
            total += reading
        return total

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send({"op": "quit"})
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)


def split(items: list[Any], parts: int, multiple: int = 1) -> list[list[Any]]:
    """Cut a list into ``parts`` nearly equal runs whose lengths are multiples of ``multiple``."""
    units = len(items) // multiple
    runs = []
    for part in range(parts):
        lo, hi = units * part // parts, units * (part + 1) // parts
        runs.append(items[lo * multiple : hi * multiple])
    return runs


def open_group(
    gen: LoadGen,
    port: int,
    group: str,
    names: list[str],
    *,
    sign_in: bool,
    features: list[str],
    wait: str,
    multiple: int = 1,
) -> dict[str, Any]:
    """Open connections for ``names`` spread over the workers; fail loudly if any failed."""
    runs = split(names, len(gen), multiple)
    commands = [
        {
            "op": "open",
            "group": group,
            "port": port,
            "names": run,
            "sign_in": sign_in,
            "features": features,
            "wait": wait,
            "concurrency": 64,
            "patience": 30.0,
        }
        for run in runs
    ]
    replies = gen.ask(commands)
    failed = sum(r["failed"] for r in replies)
    if failed:
        examples = [f for r in replies for f in r["failures"]][:3]
        raise RuntimeError(f"{failed} of {len(names)} connections failed: {examples}")
    return {"seconds": max(r["seconds"] for r in replies)}


def close_group(gen: LoadGen, group: str) -> list[str]:
    replies = gen.ask([{"op": "close", "group": group}] * len(gen))
    return [e for r in replies for e in r["errors"]]


# --- measurements ---------------------------------------------------------------------------


def percentile(sorted_values: list[int] | list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return float(sorted_values[index])


def stream(
    gen: LoadGen,
    server: Server,
    group: str,
    window: int,
    rate: float | None,
    warmup: float,
    seconds: float,
    count_syscalls: bool = False,
) -> dict[str, Any]:
    """One relay measurement: traffic for warmup + seconds, counted and costed in the last part."""
    at = time.monotonic() + 0.2
    measure_from, measure_to = at + warmup, at + warmup + seconds
    per_worker = None if rate is None else rate / len(gen)
    command = {
        "op": "stream",
        "group": group,
        "window": window,
        "rate": per_worker,
        "at": at,
        "measure_from": measure_from,
        "measure_to": measure_to,
        "drain": 3.0,
    }
    for pipe in gen.pipes:
        pipe.send(command)
    time.sleep(max(0.0, measure_from - time.monotonic()))
    server_before, gen_before = server.usage(), gen.usage()
    machine_before = procstat.busy_cpu_seconds()
    syscall_seconds = seconds - 0.3  # perf needs a moment to attach
    syscalls = procstat.SyscallCount(server.pid, syscall_seconds) if count_syscalls else None
    time.sleep(max(0.0, measure_to - time.monotonic()))
    server_cost, gen_cost = server.usage() - server_before, gen.usage() - gen_before
    others = procstat.busy_cpu_seconds() - machine_before - server_cost.cpu_seconds
    others -= gen_cost.cpu_seconds
    syscall_counts = syscalls.result() if syscalls is not None else None
    replies = []
    for pipe in gen.pipes:
        if not pipe.poll(seconds + 30):
            raise TimeoutError("a load generator did not finish its stream")
        reply = pipe.recv()
        if "error" in reply and len(reply) == 1:
            raise RuntimeError(f"load generator: {reply['error']}")
        replies.append(reply)
    latencies: list[int] = []
    for reply in replies:
        values = array("I")
        values.frombytes(reply["latencies_us"])
        latencies.extend(values)
    latencies.sort()
    delivered = sum(r["delivered"] for r in replies)
    per_message = max(1, delivered)
    return {
        "offered_rate": None if rate is None else rate,
        "sent_rate": sum(r["sent_in_window"] for r in replies) / seconds,
        "rate": delivered / seconds,
        "delivered": delivered,
        "p50_ms": percentile(latencies, 0.50) / 1000,
        "p99_ms": percentile(latencies, 0.99) / 1000,
        "max_ms": (latencies[-1] / 1000) if latencies else float("nan"),
        "server_cpu_us_per_msg": server_cost.cpu_seconds * 1e6 / per_message,
        "server_cpu_share": server_cost.cpu_seconds / seconds,
        "server_system_cpu_us_per_msg": server_cost.system_seconds * 1e6 / per_message,
        "server_syscalls_per_msg": None
        if syscall_counts is None
        else {k: v / (per_message * syscall_seconds / seconds) for k, v in syscall_counts.items()},
        "server_proc_io_syscr_per_msg": server_cost.syscalls_read / per_message,
        "server_proc_io_syscw_per_msg": server_cost.syscalls_write / per_message,
        "other_processes_cpu_share": max(0.0, others / seconds),
        "loadgen_cpu_share": gen_cost.cpu_seconds / seconds,
        "loadgen_cpu_us_per_msg": gen_cost.cpu_seconds * 1e6 / per_message,
        "corrupt": sum(r["corrupt"] for r in replies),
        "lost": sum(r["lost"] for r in replies),
        "unexpected": sum(r["unexpected"] for r in replies),
        "errors": [e for r in replies for e in r["errors"]][:3],
    }


def quiet_stream(
    gen: LoadGen,
    server: Server,
    *args: Any,
    good_enough: Callable[[dict[str, Any]], bool] = lambda _: False,
    **kwargs: Any,
) -> dict[str, Any]:
    """``stream``, repeated (at most twice more) while other processes disturb the machine.

    The machine may be shared; a measurement during which other processes used
    more than ``NOISE_CORES`` is taken again unless it is ``good_enough`` anyway,
    and the least disturbed one is kept.
    """
    best = stream(gen, server, *args, **kwargs)
    for _ in range(2):
        others = best["other_processes_cpu_share"]
        if others <= NOISE_CORES or good_enough(best):
            break
        say(f"  (other processes used {others:.2f} core: measuring again)")
        again = stream(gen, server, *args, **kwargs)
        if again["other_processes_cpu_share"] < others:
            best = again
    return best


def keeps_up(step: dict[str, Any]) -> bool:
    """Did the server deliver (nearly) all of a paced step's offered rate?"""
    return bool(step["rate"] >= 0.9 * step["offered_rate"])


def describe(step: dict[str, Any]) -> str:
    """One line about one relay measurement, for the progress output."""
    text = (
        f"delivered {step['rate']:,.0f}/s,"
        f" p50 {step['p50_ms']:.2f} ms, p99 {step['p99_ms']:.2f} ms,"
        f" server {step['server_cpu_us_per_msg']:.1f} us/msg"
        f" ({step['server_system_cpu_us_per_msg']:.1f} in the kernel;"
        f" {step['server_cpu_share']:.2f} core),"
        f" load-gen {step['loadgen_cpu_share']:.2f} core,"
        f" other processes {step['other_processes_cpu_share']:.2f} core"
    )
    if step["server_syscalls_per_msg"]:
        calls = step["server_syscalls_per_msg"]
        text += " syscalls/msg " + " ".join(f"{k} {v:.2f}" for k, v in calls.items())
    problems = {k: step[k] for k in ("corrupt", "lost", "unexpected") if step[k]}
    if problems or step["errors"]:
        text += f" PROBLEMS {problems} {step['errors'][:1]}"
    return text


def relay_test(
    gen: LoadGen, target: str, args: argparse.Namespace, log: IO[bytes]
) -> dict[str, Any]:
    """Ramp to the peak, measure saturation closed-loop, then latency at half the peak."""
    names = [f"{side}{k}" for k in range(args.pairs) for side in "ab"]
    with running(target, log) as server:
        open_group(
            gen, server.port, "pairs", names, sign_in=True, features=[], wait="listed", multiple=2
        )
        server.settle()
        ramp = []
        rate = 1000.0
        for _ in range(10):  # 1k .. 512k messages/s at most
            step = quiet_stream(
                gen, server, "pairs", args.window, rate, 0.3, 0.8, good_enough=keeps_up
            )
            ramp.append(step)
            say(f"  {target} ramp: offered {rate:,.0f}/s -> {describe(step)}")
            if not keeps_up(step):
                break
            rate *= 2
        saturated = quiet_stream(gen, server, "pairs", args.window, None, 1.0, args.seconds)
        say(f"  {target} closed loop: {describe(saturated)}")
        peak = max([saturated["rate"]] + [s["rate"] for s in ramp])
        half = quiet_stream(gen, server, "pairs", args.window, peak / 2, 1.0, args.seconds)
        say(f"  {target} at half the peak ({peak / 2:,.0f}/s): {describe(half)}")
        common = quiet_stream(
            gen, server, "pairs", args.window, args.common_rate, 1.0, args.seconds
        )
        # Counting system calls slows each one down, so it gets its own short run.
        counted = stream(
            gen, server, "pairs", args.window, args.common_rate, 0.5, 2.5, count_syscalls=True
        )
        common["server_syscalls_per_msg"] = counted["server_syscalls_per_msg"]
        say(f"  {target} at {args.common_rate:,.0f}/s: {describe(common)}")
        close_group(gen, "pairs")
    fast_enough = [s["rate"] for s in [*ramp, half, common] if s["p99_ms"] < P99_TARGET_MS]
    return {
        "ramp": ramp,
        "saturated": saturated,
        "peak_rate": peak,
        "half": half,
        "best_rate_within_p99_target": max(fast_enough, default=0.0),
        "common": common,
    }


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


# --- report ---------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    def run(command: list[str]) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except OSError:
            return "missing"

    found = {"python": platform.python_version(), "node": run(["node", "--version"])}
    ws_package = BENCH / "node_relay" / "node_modules" / "ws" / "package.json"
    if ws_package.exists():
        found["ws"] = json.loads(ws_package.read_text())["version"]
    for package in ("chinwag", "aiohttp", "msgspec", "websockets"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def cpu_cell(step: dict[str, Any]) -> str:
    """Server CPU per message, with the part spent in the kernel."""
    return f"{step['server_cpu_us_per_msg']:.1f} ({step['server_system_cpu_us_per_msg']:.1f})"


def syscall_cell(step: dict[str, Any]) -> str:
    """System calls per message: reads + writes + epoll waits = all."""
    calls = step["server_syscalls_per_msg"]
    if not calls:
        return "perf missing"
    return (
        f"{calls['read']:.2f} + {calls['write']:.2f} + {calls['wait']:.2f} = {calls['total']:.2f}"
    )


def markdown(results: dict[str, Any]) -> str:
    """The tables for docs/performance.md."""
    out: list[str] = []
    add = out.append
    relay = results.get("relay", {})
    if relay:
        add(
            "| server | peak msg/s | closed loop msg/s | p50 / p99 at half peak (ms) | "
            f"best paced msg/s with p99 < {P99_TARGET_MS:g} ms | load-gen CPU at peak (cores) | "
            "other processes' CPU (cores) |"
        )
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for target, r in relay.items():
            closed, half = r["saturated"], r["half"]
            others = max(closed["other_processes_cpu_share"], half["other_processes_cpu_share"])
            add(
                f"| {target} | {r['peak_rate']:,.0f} | {closed['rate']:,.0f} | "
                f"{half['p50_ms']:.2f} / {half['p99_ms']:.2f} | "
                f"{r['best_rate_within_p99_target']:,.0f} | "
                f"{closed['loadgen_cpu_share']:.2f} | {others:.2f} |"
            )
        add("")
        rate = next(iter(relay.values()))["common"]["offered_rate"]
        add(
            f"| server | CPU us/msg at {rate:,.0f}/s (in kernel) | syscalls/msg at {rate:,.0f}/s: "
            "read + write + epoll = all | CPU us/msg closed loop (in kernel) | "
            "ratio to node (same rate / closed loop) |"
        )
        add("| --- | ---: | ---: | ---: | ---: |")
        for target, r in relay.items():
            common, closed = r["common"], r["saturated"]
            ratio = "-"
            if "node" in relay:
                node = relay["node"]
                ratios = [
                    mine["server_cpu_us_per_msg"] / node[load]["server_cpu_us_per_msg"]
                    for load, mine in (("common", common), ("saturated", closed))
                ]
                ratio = " / ".join(f"{value:.2f}" for value in ratios)
            add(
                f"| {target} | {cpu_cell(common)} | {syscall_cell(common)} | "
                f"{cpu_cell(closed)} | {ratio} |"
            )
        add("")
    memory = results.get("memory", {})
    if memory:
        add("| server | Pss, 1 conn | Pss, 1,000 | per conn | Pss, 5,000 | per conn |")
        add("| --- | ---: | ---: | ---: | ---: | ---: |")
        for target, m in memory.items():
            one, thousand, five = m["readings"]
            cells = [f"{one['pss_kib'] / 1024:.1f} MiB"]
            for reading in (thousand, five):
                cells.append(f"{reading['pss_kib'] / 1024:.1f} MiB")
                cells.append(f"{reading['pss_kib_per_connection']:.1f} KiB")
            add(f"| {target} | " + " | ".join(cells) + " |")
        add("")
    signin = results.get("signin", {})
    if signin:
        add(
            "| server | clients | connect (s) | reference: all complete after (s) | "
            "deltas: all complete after (s) |"
        )
        add("| --- | ---: | ---: | ---: | ---: |")
        for target, s in signin.items():
            ref, delta = s["reference"], s["deltas"]
            add(
                f"| {target} | {ref['clients']:,} | {ref['connect_seconds']:.2f} | "
                f"{ref['last_s']:.2f} (p50 {ref['p50_s']:.2f}) | "
                f"{delta['last_s']:.2f} (p50 {delta['p50_s']:.2f}) |"
            )
        add("")
    return "\n".join(out)


def verdicts(results: dict[str, Any]) -> list[str]:
    """chinwag against each target of the issue, in plain words."""
    lines = []
    relay = results.get("relay", {})
    if "chinwag" in relay and "node" in relay:
        for load in ("common", "saturated"):
            ours = relay["chinwag"][load]["server_cpu_us_per_msg"]
            node = relay["node"][load]["server_cpu_us_per_msg"]
            ratio = ours / node
            met = "met" if ratio <= CPU_RATIO_TARGET else "MISSED"
            where = "at the same paced rate" if load == "common" else "closed loop"
            lines.append(
                f"CPU per relayed message {where}: chinwag {ours:.1f} us, node "
                f"{node:.1f} us, ratio {ratio:.2f} (target <= {CPU_RATIO_TARGET}): {met}"
            )
    if "chinwag" in relay:
        p99 = relay["chinwag"]["half"]["p99_ms"]
        met = "met" if p99 < P99_TARGET_MS else "MISSED"
        lines.append(f"p99 at half the peak: {p99:.2f} ms (target < {P99_TARGET_MS} ms): {met}")
    memory = results.get("memory", {})
    if "chinwag" in memory:
        worst = max(r["pss_kib_per_connection"] for r in memory["chinwag"]["readings"][1:])
        met = "met" if worst <= IDLE_CONNECTION_TARGET_KIB else "MISSED"
        lines.append(
            f"memory per idle connection: {worst:.1f} KiB "
            f"(target <= {IDLE_CONNECTION_TARGET_KIB} KiB): {met}"
        )
    signin = results.get("signin", {})
    for kind in ("reference", "deltas"):
        if "chinwag" in signin:
            s = signin["chinwag"][kind]
            met = "met" if s["within_target"] == s["clients"] else "MISSED"
            lines.append(
                f"sign-in, {kind} clients: {s['within_target']}/{s['clients']} complete "
                f"within {SIGNIN_TARGET_SECONDS} s, last {s['last_s']:.2f} s: {met}"
            )
    return lines


# --- main -----------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, flush=True)


def install_node_relay() -> None:
    """``npm install`` the Node relay's one dependency when it is missing."""
    if (BENCH / "node_relay" / "node_modules" / "ws" / "package.json").exists():
        return
    say("installing the Node relay's dependencies (npm install)")
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund"],
        cwd=BENCH / "node_relay",
        check=True,
        timeout=300,
    )


def raise_file_limit() -> None:
    """5,000+ sockets need more descriptors than the usual soft limit; children inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300, help="signed-in pairs in the relay test")
    parser.add_argument("--window", type=int, default=4, help="messages in flight per direction")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each measurement")
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated servers from {', '.join(TARGETS + EXTRA_TARGETS)}",
    )
    parser.add_argument(
        "--only",
        choices=("memory", "relay", "signin", "clients"),
        help="run one test (default: all)",
    )
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--common-rate",
        type=float,
        default=10000.0,
        help="paced rate (msg/s) at which every server is costed alike",
    )
    parser.add_argument("--signin-clients", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument(
        "--log",
        type=Path,
        default=Path(tempfile.gettempdir()) / "chinwag-bench-servers.log",
        help="servers' output goes here",
    )
    args = parser.parse_args(argv)
    args.targets = [t for t in args.targets.split(",") if t]
    unknown = set(args.targets) - set(TARGETS) - set(EXTRA_TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    return args


def run_tests(gen: LoadGen, args: argparse.Namespace, log: IO[bytes]) -> dict[str, Any]:
    results: dict[str, Any] = {}

    def chosen(test: str) -> bool:
        return args.only in (None, test)

    if chosen("clients"):
        say("clients: CPU per message of each WebSocket client library")
        target = "node" if "node" in args.targets else args.targets[0]
        results["clients"] = {"server": target, **clients_test(gen, target, log)}
    for target in args.targets:
        say(f"{target}:")
        if chosen("memory"):
            results.setdefault("memory", {})[target] = memory_test(gen, target, log)
        if chosen("signin"):
            results.setdefault("signin", {})[target] = {
                kind: signin_test(gen, target, kind == "deltas", args.signin_clients, log)
                for kind in ("reference", "deltas")
            }
        if chosen("relay"):
            results.setdefault("relay", {})[target] = relay_test(gen, target, args, log)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_file_limit()
    if "node" in args.targets:
        install_node_relay()
    started = time.monotonic()
    facts = {**procstat.machine_facts(), **versions(), "date": date.today().isoformat()}
    say(" ".join(f"{k}={v}" for k, v in facts.items()))
    gen = LoadGen(args.procs)
    try:
        with args.log.open("ab") as log:
            results = run_tests(gen, args, log)
    finally:
        gen.close()
    results["machine"] = facts
    results["arguments"] = {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
    }
    results["verdicts"] = verdicts(results)
    results["seconds"] = time.monotonic() - started
    say("")
    say(markdown(results))
    for line in results["verdicts"]:
        say(line)
    say(f"whole run: {results['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
