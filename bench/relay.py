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
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import IO, Any

import procstat
from relaybench.drive import LoadGen
from relaybench.footprint import clients_test, memory_test, signin_test
from relaybench.relaytest import relay_test
from relaybench.report import markdown, verdicts, versions
from relaybench.servers import BENCH, EXTRA_TARGETS, TARGETS, say

# --- main -----------------------------------------------------------------------------------


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
