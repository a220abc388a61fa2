"""What the kernel says a process tree costs: CPU time, system calls, memory.

Every reading covers a process and all its descendants (a server that forks
workers is counted whole), read from /proc at one instant. Readings are meant
to be subtracted: take one before and one after a measured window.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import astuple, dataclass
from pathlib import Path

__all__ = ["SyscallCount", "Usage", "busy_cpu_seconds", "descendants", "machine_facts", "usage"]

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Usage:
    """One reading of a process tree's counters."""

    cpu_seconds: float  # utime + stime of every thread
    system_seconds: float  # stime alone: time in the kernel (system calls, TCP on loopback)
    syscalls_read: int  # /proc/PID/io syscr: read()/readv() only, not recv*()
    syscalls_write: int  # /proc/PID/io syscw: write()/writev() only, not send*()
    pss_kib: int  # proportional set size (smaps_rollup); shared pages split fairly
    rss_kib: int  # VmRSS from /proc/PID/status

    def __sub__(self, other: Usage) -> Usage:
        return Usage(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def descendants(pid: int) -> list[int]:
    """The process and every process below it, parents first."""
    found = [pid]
    for parent in found:
        for task in _listdir(f"/proc/{parent}/task"):
            text = _read(f"/proc/{parent}/task/{task}/children")
            found.extend(int(child) for child in text.split())
    return found


def usage(pid: int) -> Usage:
    """Add up the counters of a process tree right now."""
    cpu_ticks = system_ticks = syscr = syscw = pss = rss = 0
    for member in descendants(pid):
        stat = _read(f"/proc/{member}/stat")
        if not stat:
            continue  # exited between listing and reading
        # Fields after the ")" that closes the command name; utime and stime are 14 and 15.
        fields = stat.rsplit(")", 1)[1].split()
        cpu_ticks += int(fields[11]) + int(fields[12])
        system_ticks += int(fields[12])
        io = _fields(f"/proc/{member}/io")
        syscr += io.get("syscr", 0)
        syscw += io.get("syscw", 0)
        pss += _fields(f"/proc/{member}/smaps_rollup").get("Pss", 0)
        rss += _fields(f"/proc/{member}/status").get("VmRSS", 0)
    ticks = _TICKS_PER_SECOND
    return Usage(cpu_ticks / ticks, system_ticks / ticks, syscr, syscw, pss, rss)


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (every process, every core) since boot."""
    first = _read("/proc/stat").splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICKS_PER_SECOND


# Socket I/O from Python (recv/send) does not show in /proc/PID/io's syscr/syscw,
# which only count read()/write()-style calls; Node's libuv uses read()/write().
# So system calls are counted with perf's syscall tracepoints, the same way for all.
_SYSCALL_GROUPS = {
    "read": ("read", "readv", "recvfrom", "recvmsg"),
    "write": ("write", "writev", "sendto", "sendmsg"),
    "wait": ("epoll_wait", "epoll_pwait", "epoll_pwait2"),
}


class SyscallCount:
    """Count one process's system calls for a while with ``perf stat`` (if installed)."""

    def __init__(self, pid: int, seconds: float) -> None:
        self.process: subprocess.Popen[str] | None = None
        perf = shutil.which("perf")
        if perf is None:
            return
        events = ["raw_syscalls:sys_enter", "syscalls:sys_enter_*"]
        self.process = subprocess.Popen(
            [
                perf,
                "stat",
                "-x",
                ",",
                "-e",
                ",".join(events),
                "-p",
                str(pid),
                "--",
                "sleep",
                str(seconds),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> dict[str, int] | None:
        """Wait for the count: calls by group (read, write, wait), in total, and the top others."""
        if self.process is None:
            return None
        _, errors = self.process.communicate(timeout=60)
        counts: dict[str, int] = {}
        for line in errors.splitlines():
            parts = line.split(",")
            if len(parts) > 2 and parts[0].isdigit():
                counts[parts[2].rsplit("sys_enter_", 1)[-1]] = int(parts[0])
        if "raw_syscalls:sys_enter" not in counts:
            return None
        total = counts.pop("raw_syscalls:sys_enter")
        grouped = {g: sum(counts.pop(n, 0) for n in names) for g, names in _SYSCALL_GROUPS.items()}
        grouped["total"] = total
        busiest = sorted((c, n) for n, c in counts.items() if c > 0)[-3:]
        for count, name in reversed(busiest):
            grouped[name] = count  # the busiest of the rest, if any
        return grouped


def machine_facts() -> dict[str, str]:
    """nproc, CPU model, RAM and kernel, for the record next to the numbers."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    mem_kib = _fields("/proc/meminfo").get("MemTotal", 0)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": os.uname().release,
    }


def _fields(path: str) -> dict[str, int]:
    """``Name: value [kB]`` lines as integers (kB values stay in KiB)."""
    values: dict[str, int] = {}
    for line in _read(path).splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name.strip()] = int(parts[0])
    return values


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, ProcessLookupError):
        return []
