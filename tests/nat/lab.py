"""A NAT lab in network namespaces: the one place tests build routers and LANs.

Topology (all addresses in the 198.18.0.0/15 benchmark range, and only inside
namespaces made here)::

    LAN cone_a 198.18.1.2 -- router cone_a --+
    LAN cone_b 198.18.2.2 -- router cone_b --+-- bridge in "pub" 198.18.0.1
    LAN sym    198.18.3.2 -- router sym    --+   (chinwag and coturn live here)

Each router masquerades its LAN behind its WAN address (198.18.0.2, .3, .4):
plain ``MASQUERADE`` keeps the source port where it can (endpoint-independent
mapping, a "cone": hole punching works); ``MASQUERADE --random-fully`` picks
a new port per destination (symmetric: only a relay works).
:meth:`Lab.mapping_is_endpoint_independent` checks that with a UDP probe to
two destinations rather than trusting the rules.

Processes run in a namespace with ``ip netns exec`` (:meth:`Lab.start`);
sockets the test itself needs there are made by a thread that joined the
namespace with ``setns`` (:meth:`Lab.socket`): a socket stays in the
namespace it was created in, whichever thread uses it later. Chromium is
started through a wrapper script that runs it under ``ip netns exec``
(:meth:`Lab.chromium_wrapper`); Playwright talks to it over a pipe, so the
driver itself can stay outside.

:func:`nat_lab` builds it all and, in a ``finally``, kills what it started
(by PID) and deletes every namespace it made, even after a failed build.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

__all__ = ["PUBLIC", "Lab", "nat_lab"]

PUBLIC = "198.18.0.1"
#: Router name -> whether it maps each destination to a new port (symmetric NAT).
ROUTERS = {"cone_a": False, "cone_b": False, "sym": True}
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


@dataclass
class Lab:
    """The namespaces of one lab, by role: ``pub``, ``r-<router>`` and ``lan-<router>``."""

    prefix: str
    workdir: Path
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def ns(self, role: str) -> str:
        """The namespace name of ``role``."""
        return f"{self.prefix}-{role}"

    @staticmethod
    def lan_address(router: str) -> str:
        return f"198.18.{list(ROUTERS).index(router) + 1}.2"

    @staticmethod
    def wan_address(router: str) -> str:
        return f"198.18.0.{list(ROUTERS).index(router) + 2}"

    # -- running things inside ------------------------------------------------

    def ip(self, *args: str) -> None:
        """Run ``ip ARGS``; fail loudly with its error output."""
        _run(["ip", *args])

    def exec(self, role: str, *command: str) -> str:
        """Run ``command`` in ``role``'s namespace to the end; its output."""
        return _run(["ip", "netns", "exec", self.ns(role), *command])

    def start(self, role: str, command: Sequence[str], log_name: str) -> subprocess.Popen[bytes]:
        """Start ``command`` in ``role``'s namespace; it is killed at teardown."""
        log = (self.workdir / log_name).open("ab")
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(role), *command], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.processes.append(process)
        return process

    def call_in(self, role: str, function: Callable[[], T]) -> T:
        """Call ``function`` in a thread that joined ``role``'s network namespace."""
        result: list[T] = []
        errors: list[BaseException] = []

        def inside() -> None:
            try:
                with open(f"/var/run/netns/{self.ns(role)}") as handle:
                    if _libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns failed")
                result.append(function())
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=inside)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        return result[0]

    def socket(self, role: str, kind: int = socket.SOCK_DGRAM) -> socket.socket:
        """A new IPv4 socket that lives in ``role``'s namespace."""
        return self.call_in(role, lambda: socket.socket(socket.AF_INET, kind))

    def wait_listening(self, role: str, host: str, port: int, deadline: float = 30.0) -> None:
        """Wait until something accepts TCP connections at host:port, seen from ``role``."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            with self.socket(role, socket.SOCK_STREAM) as probe:
                probe.settimeout(0.5)
                if probe.connect_ex((host, port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"nothing listens on {host}:{port} in {role} after {deadline} s")

    def chromium_wrapper(self, role: str) -> str:
        """A script that runs Chromium in ``role``'s namespace (for ``executable_path``)."""
        path = self.workdir / f"chromium-{role}"
        path.write_text(
            f'#!/bin/sh\nexec ip netns exec {self.ns(role)} /usr/lib/chromium/chromium "$@"\n'
        )
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
        return str(path)

    # -- changing the network ----------------------------------------------------

    @contextlib.contextmanager
    def firewall(self, role: str, *rule: str) -> Iterator[None]:
        """While inside: the iptables ``rule`` (chain first) is in force in ``role``."""
        self.exec(role, "iptables", "-I", *rule)
        try:
            yield
        finally:
            self.exec(role, "iptables", "-D", *rule)

    def udp_blocked(self, router: str) -> contextlib.AbstractContextManager[None]:
        """While inside: ``router`` drops every UDP packet its LAN sends out (TCP still passes)."""
        return self.firewall(f"r-{router}", "FORWARD", "-i", "lan", "-p", "udp", "-j", "DROP")

    def udp_cut(self, router: str) -> contextlib.AbstractContextManager[None]:
        """While inside: ``router`` forwards no UDP either way (its LAN's TCP connections,
        such as a signaling WebSocket, carry on)."""
        return self.firewall(f"r-{router}", "FORWARD", "-p", "udp", "-j", "DROP")

    def set_wan(self, router: str, up: bool) -> None:
        """Unplug (or plug back) ``router``'s link to the public side."""
        self.ip("-n", self.ns(f"r-{router}"), "link", "set", "wan", "up" if up else "down")

    def mapping_is_endpoint_independent(self, router: str) -> bool:
        """Probe: one LAN socket sends to two public ports; the same mapped port means
        endpoint-independent mapping (cone), different ports a symmetric NAT."""
        with contextlib.ExitStack() as stack:
            sender = stack.enter_context(self.socket(f"lan-{router}"))
            sender.bind(("0.0.0.0", 0))
            mapped = []
            for _ in range(2):
                receiver = stack.enter_context(self.socket("pub"))
                receiver.bind((PUBLIC, 0))
                receiver.settimeout(5)
                sender.sendto(b"nat probe", receiver.getsockname())
                _, source = receiver.recvfrom(64)
                assert source[0] == self.wan_address(router), source
                mapped.append(source[1])
            return mapped[0] == mapped[1]


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def _build(lab: Lab) -> None:
    for role in ["pub", *(f"{kind}-{r}" for r in ROUTERS for kind in ("r", "lan"))]:
        lab.ip("netns", "add", lab.ns(role))
        lab.namespaces.append(lab.ns(role))
        lab.ip("-n", lab.ns(role), "link", "set", "lo", "up")
    pub = lab.ns("pub")
    lab.ip("-n", pub, "link", "add", "name", "br0", "type", "bridge")
    lab.ip("-n", pub, "addr", "add", f"{PUBLIC}/24", "dev", "br0")
    lab.ip("-n", pub, "link", "set", "br0", "up")
    # As on the internet, a packet to an address nobody has (a LAN's host candidate)
    # is lost quietly; without a default route coturn's relay would get "network
    # unreachable" errors when a peer checks such a candidate through it.
    # The default gateway is a made-up neighbour that no port answers for.
    nowhere = "198.18.0.254"
    lab.ip("-n", pub, "neigh", "add", nowhere, "lladdr", "02:00:00:00:00:fe", "dev", "br0")
    lab.ip("-n", pub, "route", "add", "default", "via", nowhere, "dev", "br0")
    for index, (router, symmetric) in enumerate(ROUTERS.items()):
        _build_router(lab, router, symmetric, index)


def _build_router(lab: Lab, router: str, symmetric: bool, index: int) -> None:
    pub, gateway, lan = lab.ns("pub"), lab.ns(f"r-{router}"), lab.ns(f"lan-{router}")
    port = f"p{index}"
    _veth(lab, gateway, "wan", pub, port)
    lab.ip("-n", pub, "link", "set", port, "master", "br0", "up")
    lab.ip("-n", gateway, "addr", "add", f"{lab.wan_address(router)}/24", "dev", "wan")
    lab.ip("-n", gateway, "link", "set", "wan", "up")
    lab.ip("-n", gateway, "route", "add", "default", "via", PUBLIC)
    subnet = f"198.18.{index + 1}"
    _veth(lab, gateway, "lan", lan, "eth0")
    lab.ip("-n", gateway, "addr", "add", f"{subnet}.1/24", "dev", "lan")
    lab.ip("-n", gateway, "link", "set", "lan", "up")
    lab.ip("-n", lan, "addr", "add", f"{subnet}.2/24", "dev", "eth0")
    lab.ip("-n", lan, "link", "set", "eth0", "up")
    lab.ip("-n", lan, "route", "add", "default", "via", f"{subnet}.1")
    lab.exec(f"r-{router}", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    masquerade = ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"]
    lab.exec(f"r-{router}", *masquerade, *(["--random-fully"] if symmetric else []))
    # Drop what arrives unasked, as a home router does. Without this, a peer's first
    # ICE check (arriving before ours went out) leaves a conntrack entry on the router
    # that makes MASQUERADE pick another port for our reply: the mapping would then
    # depend on timing, and hole punching between two cones would fail.
    for chain in ("INPUT", "FORWARD"):
        unasked = ["-i", "wan", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]
        lab.exec(f"r-{router}", "iptables", "-A", chain, *unasked)


def _veth(lab: Lab, namespace: str, name: str, peer_namespace: str, peer_name: str) -> None:
    """A veth pair: ``name`` in ``namespace``, ``peer_name`` in ``peer_namespace``."""
    link = ["link", "add", "name", name, "type", "veth", "peer", "name", peer_name]
    lab.ip("-n", namespace, *link, "netns", peer_namespace)


def _teardown(lab: Lab) -> None:
    for process in lab.processes:
        process.terminate()
    for process in lab.processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for name in reversed(lab.namespaces):
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@contextlib.contextmanager
def nat_lab(workdir: Path) -> Iterator[Lab]:
    """Build the lab (see the module docstring); always tear down what was made."""
    workdir.mkdir(parents=True, exist_ok=True)
    lab = Lab(prefix=f"cw{os.getpid() % 10000}{secrets.token_hex(2)}", workdir=workdir)
    try:
        _build(lab)
        yield lab
    finally:
        _teardown(lab)
