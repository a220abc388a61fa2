"""Counters kept on the hot path as plain ints, exposed through prometheus_client.

The transport bumps attributes of one :class:`Metrics` object (an integer
add, a dict lookup, or a bisect for the latency histogram); nothing is
formatted until ``/metrics`` is requested; then
:mod:`chinwag.metrics_export` (which needs prometheus_client, the ``metrics``
extra) turns them and a :class:`Snapshot` of the gauges into metric families.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = ["LATENCY_BUCKETS", "Histogram", "Metrics", "Snapshot"]

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
    frames_over_budget: int = 0
    error_replies_suppressed: int = 0
    policy_closed: int = 0
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
    sfu: Mapping[str, int] = field(default_factory=dict)  # SfuLink.counters(); empty: no --sfu
