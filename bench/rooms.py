"""Rooms benchmark (issue 11): room chat at scale, a crowd joining a room, a mesh forming.

Run by hand, never in CI:

    .venv/bin/python bench/rooms.py --only scale                 # 10,000 users, history off
    .venv/bin/python bench/rooms.py --only scale --history       # the same with SQLite history
    .venv/bin/python bench/rooms.py --only join                  # 2,000 join one room at once
    .venv/bin/python bench/rooms.py --only mesh --people 8       # 8 Chromium pages, one call
    .venv/bin/python bench/rooms.py --only sfu                   # 12 on Janus: 4 pages + 8 bots
    .venv/bin/python bench/rooms.py --only upload                # 8 people: mesh, then SFU
    .venv/bin/python bench/rooms.py --json out.json              # every number, for later

- ``scale``: one ``chinwag serve`` process, ``--users`` signed-in users (web
  client features) in rooms of ``--room-size``, each room saying one chat line
  per second (so users / room-size lines/s, each delivered to the whole room).
  Reported: server CPU from /proc, p50/p99 delivery latency at the receivers,
  RSS growth per user, the load generators' CPU and what others used meanwhile.
- ``join``: ``--join-clients`` sockets sign in straight into one room at one
  instant; time until each holds the complete room list (``deltas`` like the
  web client, a full ``userlist`` each time, and reference clients).
- ``mesh``: ``--people`` Chromium pages (one browser context each) on the
  real web client at /r/<room> join one room call at once; time until every
  pair decodes video both ways, and the signaling each page sent.
- ``sfu``: a call of ``--sfu-people`` on a real Janus, ``--pages`` of them
  Chromium pages and the rest aiortc bots (``roombench/sfubot.py``) sending
  small video: time until everyone decodes everyone, call messages per
  participant, CPU of Janus, chinwag, the browser and each bot over
  ``--window`` seconds, upload per page (``roombench/sfu.py``).
- ``upload``: the same figures for an ``--upload-people`` call as a mesh
  (no ``--sfu``) and then on Janus: what each page uploads in each.

Everything talks to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import procstat
import roomchat
from relaybench.drive import LoadGen
from relaybench.servers import say
from roombench.common import load_average
from roombench.join import KINDS, join_test
from roombench.scale import scale_test

TESTS = ("scale", "join", "mesh", "sfu", "upload")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(TESTS), help="comma-separated tests")
    parser.add_argument("--history", action="store_true", help="server keeps chat (SQLite)")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured chat window")
    parser.add_argument("--warmup", type=float, default=3.0, help="chat before measuring")
    parser.add_argument("--join-clients", type=int, default=2_000)
    parser.add_argument("--kinds", default=",".join(KINDS), help="join: client kinds")
    parser.add_argument("--people", type=int, default=8, help="mesh: Chromium pages")
    parser.add_argument("--sfu-people", type=int, default=12, help="sfu: participants")
    parser.add_argument("--upload-people", type=int, default=8, help="upload: participants")
    parser.add_argument("--pages", type=int, default=4, help="sfu, upload: Chromium pages")
    parser.add_argument("--window", type=float, default=10.0, help="sfu, upload: CPU window (s)")
    parser.add_argument(
        "--server-args",
        default="",
        help="more `chinwag serve` options for scale and join (e.g. '--heartbeat 600')",
    )
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args(argv)
    if args.users % args.room_size:
        parser.error("--users must be a multiple of --room-size")
    return args


def run(args: argparse.Namespace, log: IO[bytes]) -> dict[str, Any]:
    tests = set(args.only.split(","))
    results: dict[str, Any] = {
        "machine": procstat.machine_facts(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": load_average(),
        "argv": sys.argv,
    }
    if tests & {"scale", "join"}:
        gen = LoadGen(args.procs, roomchat.worker_main)
        try:
            if "scale" in tests:
                say(f"scale: {args.users} users, rooms of {args.room_size}")
                results["scale"] = scale_test(
                    gen,
                    log,
                    users=args.users,
                    room_size=args.room_size,
                    seconds=args.seconds,
                    warmup=args.warmup,
                    history=args.history,
                    server_args=shlex.split(args.server_args),
                )
            if "join" in tests:
                say(f"join: {args.join_clients} clients into one room at once")
                results["join"] = [
                    join_test(
                        gen,
                        log,
                        kind=kind,
                        clients=args.join_clients,
                        history=args.history,
                        server_args=shlex.split(args.server_args),
                    )
                    for kind in args.kinds.split(",")
                ]
        finally:
            gen.close()
    if "mesh" in tests:
        from roombench.mesh import mesh_test  # needs Playwright and the repository's tests/

        say(f"mesh: {args.people} Chromium pages join one room call")
        results["mesh"] = mesh_test(log, people=args.people)
    if tests & {"sfu", "upload"}:
        from roombench.sfu import call_test  # needs Playwright, Janus and tests/

        calls = {"pages": args.pages, "window": args.window}
        if "sfu" in tests:
            say(f"sfu: {args.sfu_people} people on Janus ({args.pages} Chromium pages)")
            results["sfu"] = call_test(log, people=args.sfu_people, sfu=True, **calls)
        if "upload" in tests:
            say(f"upload: {args.upload_people} people, a mesh then on Janus")
            results["upload"] = [
                call_test(log, people=args.upload_people, sfu=sfu, **calls) for sfu in (False, True)
            ]
    results["load_average_at_end"] = load_average()
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # 10,000 client sockets per generator process at most, plus the server's own.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 65536)), hard))
    with tempfile.NamedTemporaryFile(prefix="rooms-bench-", suffix=".log", delete=False) as log:
        say(f"server logs: {log.name}; load average {load_average()}")
        results = run(args, log)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
        say(f"wrote {args.json}")


if __name__ == "__main__":
    main()
