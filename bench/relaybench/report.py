"""Versions, tables and verdicts: the markdown docs/performance.md quotes."""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from typing import Any

from relaybench.servers import (
    BENCH,
    CPU_RATIO_TARGET,
    IDLE_CONNECTION_TARGET_KIB,
    P99_TARGET_MS,
    SIGNIN_TARGET_SECONDS,
)

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
