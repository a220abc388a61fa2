"""Counters kept on the hot path as plain ints, rendered as Prometheus text on scrape.

The transport bumps attributes of one :class:`Metrics` object (an integer
add, a dict lookup, or a bisect for the latency histogram); nothing is
formatted until ``/metrics`` is requested. :func:`render` takes a
:class:`Snapshot` of the gauges read at scrape time plus the counters and
returns the text exposition format (version 0.0.4).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Histogram", "Metrics", "Snapshot", "render"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

#: Upper bounds (seconds) of the relay latency buckets: 50 us to 1 s.
LATENCY_BUCKETS: Final = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)


#: Upper bounds (seconds) of the time-to-first-frame buckets clients report.
FIRST_FRAME_BUCKETS: Final = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0)


@dataclass(slots=True)
class Histogram:
    """A cumulative-on-render histogram: ``observe`` only bumps one bucket."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs as Prometheus wants them, ``+Inf`` last."""
        pairs: list[tuple[str, int]] = []
        running = 0
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


@dataclass(slots=True)
class Metrics:
    """Everything the transport counts; one per server."""

    connections_opened: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # upgrade refusals by reason
    slow_readers_dropped: int = 0
    heartbeat_dropped: int = 0
    frames_received: int = 0
    transport_errors: Counter[str] = field(default_factory=Counter)  # codes found by the transport
    relay_latency: Histogram = field(default_factory=Histogram)
    calls: Counter[str] = field(default_factory=Counter)  # started, connected
    calls_failed: Counter[str] = field(default_factory=Counter)  # by reason
    call_routes: Counter[str] = field(default_factory=Counter)  # "local/remote" candidate types
    first_frame: Histogram = field(
        default_factory=lambda: Histogram(FIRST_FRAME_BUCKETS, [0] * (len(FIRST_FRAME_BUCKETS) + 1))
    )

    def count_call(self, event: str, label: str, seconds: float) -> None:
        """Count one ``CountCall`` effect of the lobby (core/callreports.py)."""
        if event == "failed":
            self.calls_failed[label] += 1
        elif event == "route":
            self.call_routes[label] += 1
        elif event == "first-frame":
            self.first_frame.observe(seconds)
        else:
            self.calls[event] += 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Gauges and lobby counters read at scrape time."""

    sockets: int
    websockets: int
    users: int
    calls_active: int
    calls_ringing: int
    ready: bool
    messages: Mapping[str, int]
    errors: Mapping[str, int]
    history_written: int = 0  # chat lines the history store wrote
    history_failed: int = 0  # failed history writes and reads
    history_dropped: int = 0  # chat lines the history store discarded
    history_pending: int = 0  # chat lines queued for the history store


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _labelled(name: str, label: str, values: Mapping[str, int]) -> Iterable[str]:
    for key in sorted(values):
        yield f'{name}{{{label}="{_escape(key)}"}} {values[key]}'


def render(metrics: Metrics, now: Snapshot) -> str:
    """The Prometheus text exposition of ``metrics`` and ``now``."""
    lines: list[str] = []
    gauges = (
        ("chinwag_sockets", "open TCP connections (HTTP and WebSocket)", now.sockets),
        ("chinwag_websockets", "open WebSocket connections", now.websockets),
        ("chinwag_users", "signed-in users on this server", now.users),
        ("chinwag_calls_active", "calls answered and in progress", now.calls_active),
        ("chinwag_calls_ringing", "calls ringing, not yet answered", now.calls_ringing),
        ("chinwag_ready", "1 while ready for traffic, 0 while stopping", int(now.ready)),
        ("chinwag_history_pending", "chat lines queued for the history store", now.history_pending),
    )
    for name, help_text, value in gauges:
        lines += [*_family(name, "gauge", help_text), f"{name} {value}"]
    counters = (
        (
            "chinwag_websockets_opened_total",
            "WebSocket upgrades accepted",
            metrics.connections_opened,
        ),
        (
            "chinwag_slow_readers_dropped_total",
            "clients disconnected because their send queue passed send_buffer",
            metrics.slow_readers_dropped,
        ),
        (
            "chinwag_heartbeat_dropped_total",
            "clients disconnected for not answering pings",
            metrics.heartbeat_dropped,
        ),
        (
            "chinwag_frames_received_total",
            "WebSocket text frames received",
            metrics.frames_received,
        ),
        ("chinwag_history_written_total", "chat lines stored in history", now.history_written),
        (
            "chinwag_history_failed_total",
            "failed history store writes and reads (each retried or answered empty)",
            now.history_failed,
        ),
        (
            "chinwag_history_dropped_total",
            "chat lines the history store discarded (queue full, or unwritten at shutdown)",
            now.history_dropped,
        ),
    )
    for name, help_text, value in counters:
        lines += [*_family(name, "counter", help_text), f"{name} {value}"]
    lines += _call_lines(metrics)
    errors = Counter(now.errors)
    errors.update(metrics.transport_errors)
    labelled = (
        ("chinwag_messages_total", "messages received, by type", "type", now.messages),
        ("chinwag_errors_total", "error messages sent to clients, by code", "code", errors),
        (
            "chinwag_refused_total",
            "WebSocket upgrades refused, by reason",
            "reason",
            metrics.refused,
        ),
        (
            "chinwag_calls_failed_total",
            "calls reported failed, by reason",
            "reason",
            metrics.calls_failed,
        ),
        (
            "chinwag_call_routes_total",
            "selected candidate pairs reported, local/remote",
            "pair",
            metrics.call_routes,
        ),
    )
    for name, help_text, label, values in labelled:
        lines += [*_family(name, "counter", help_text), *_labelled(name, label, values)]
    lines += _histogram(
        "chinwag_relay_latency_seconds",
        "time from a frame read to the writes it caused",
        metrics.relay_latency,
    )
    return "\n".join(lines) + "\n"


def _histogram(name: str, help_text: str, histogram: Histogram) -> list[str]:
    lines = _family(name, "histogram", help_text)
    lines += [f'{name}_bucket{{le="{le}"}} {count}' for le, count in histogram.cumulative()]
    lines += [f"{name}_sum {histogram.total!r}", f"{name}_count {sum(histogram.counts)}"]
    return lines


def _call_lines(metrics: Metrics) -> list[str]:
    """The per-call families without labels: started, connected, first frame."""
    lines: list[str] = []
    for event, help_text in (
        ("started", "calls answered (one per call, counted when it is answered)"),
        ("connected", "calls whose clients reported media and no failure (counted at the end)"),
    ):
        name = f"chinwag_calls_{event}_total"
        lines += [*_family(name, "counter", help_text), f"{name} {metrics.calls[event]}"]
    lines += _histogram(
        "chinwag_call_first_frame_seconds",
        "time from answering to the first decoded frame, as clients report it",
        metrics.first_frame,
    )
    return lines
