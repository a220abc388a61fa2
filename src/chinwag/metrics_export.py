"""The Prometheus exposition of chinwag's counters, through prometheus_client.

:class:`ChinwagCollector` turns the plain counters of
:class:`~chinwag.metrics.Metrics` and a :class:`~chinwag.metrics.Snapshot` of
the gauges into metric families when scraped; the registry of
:func:`registry_for` adds the standard process metrics
(``process_cpu_seconds_total``, ``process_resident_memory_bytes``,
``process_open_fds`` ...). Needs the ``metrics`` extra.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .metrics import Metrics, Snapshot

__all__ = ["CONTENT_TYPE", "ChinwagCollector", "exposition", "families", "registry_for", "render"]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST


def families(metrics: Metrics, now: Snapshot) -> Iterator[Metric]:
    """Every chinwag metric family, built from the plain counters and a snapshot."""
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
        yield GaugeMetricFamily(name, help_text, value=value)
    counters = (
        ("chinwag_websockets_opened", "WebSocket upgrades accepted", metrics.connections_opened),
        (
            "chinwag_slow_readers_dropped",
            "clients disconnected because their send queue passed send_buffer",
            metrics.slow_readers_dropped,
        ),
        (
            "chinwag_heartbeat_dropped",
            "clients disconnected for not answering pings",
            metrics.heartbeat_dropped,
        ),
        ("chinwag_frames_received", "WebSocket text frames received", metrics.frames_received),
        (
            "chinwag_frames_over_budget",
            "WebSocket frames dropped unread: over the connection's frame budget",
            metrics.frames_over_budget,
        ),
        (
            "chinwag_error_replies_suppressed",
            "error replies not sent: over the connection's error-reply budget",
            metrics.error_replies_suppressed,
        ),
        (
            "chinwag_policy_closed",
            "WebSockets closed with 1008 after repeated bad or excess frames",
            metrics.policy_closed,
        ),
        ("chinwag_history_written", "chat lines stored in history", now.history_written),
        (
            "chinwag_history_failed",
            "failed history store writes and reads (each retried or answered empty)",
            now.history_failed,
        ),
        (
            "chinwag_history_dropped",
            "chat lines the history store discarded (queue full, or unwritten at shutdown)",
            now.history_dropped,
        ),
        (
            "chinwag_calls_started",
            "calls answered (one per call, counted when it is answered)",
            metrics.calls["started"],
        ),
        (
            "chinwag_calls_connected",
            "calls whose clients reported media and no failure (counted at the end)",
            metrics.calls["connected"],
        ),
    )
    for name, help_text, value in counters:
        yield CounterMetricFamily(name, help_text, value=value)
    errors = Counter(now.errors)
    errors.update(metrics.transport_errors)
    labelled = (
        ("chinwag_messages", "messages received, by type", "type", now.messages),
        ("chinwag_errors", "error messages sent to clients, by code", "code", errors),
        ("chinwag_refused", "connections refused, by reason", "reason", metrics.refused),
        (
            "chinwag_calls_failed",
            "calls reported failed, by reason",
            "reason",
            metrics.calls_failed,
        ),
        (
            "chinwag_call_routes",
            "selected candidate pairs reported, local/remote",
            "pair",
            metrics.call_routes,
        ),
        (
            "chinwag_webhooks",
            "webhook events delivered, failed (after every retry) or dropped (queue full)",
            "outcome",
            metrics.webhooks,
        ),
    )
    for name, help_text, label, values in labelled:
        family = CounterMetricFamily(name, help_text, labels=[label])
        for key in sorted(values):
            family.add_metric([key], values[key])
        yield family
    histograms = (
        (
            "chinwag_relay_latency_seconds",
            "time from a frame read to the writes it caused",
            metrics.relay_latency,
        ),
        (
            "chinwag_call_first_frame_seconds",
            "time from answering to the first decoded frame, as clients report it",
            metrics.first_frame,
        ),
    )
    for name, help_text, histogram in histograms:
        yield HistogramMetricFamily(
            name,
            help_text,
            buckets=[(le, float(count)) for le, count in histogram.cumulative()],
            sum_value=histogram.total,
        )
    if now.sfu:
        yield from _sfu_families(now.sfu)


#: SFU gauges: (metric name, help, key in SfuLink.counters()).
_SFU_GAUGES: Final = (
    ("chinwag_sfu_calls", "room calls on Janus with a room there from this process", "sfu_calls"),
    ("chinwag_sfu_publishers", "participants publishing to Janus", "sfu_publishers"),
    ("chinwag_sfu_subscribers", "participants receiving from Janus", "sfu_subscribers"),
    ("chinwag_sfu_janus_up", "Janus instances answering", "sfu_janus_up"),
    ("chinwag_recordings_active", "calls being recorded", "recordings_active"),
    ("chinwag_recordings_converting", "recordings being made playable", "recordings_converting"),
)


def _sfu_families(sfu: Mapping[str, int]) -> Iterator[Metric]:
    for name, help_text, key in _SFU_GAUGES:
        yield GaugeMetricFamily(name, help_text, value=sfu[key])
    yield CounterMetricFamily(
        "chinwag_sfu_janus_lost", "times a Janus stopped answering", value=sfu["sfu_janus_lost"]
    )
    moves = CounterMetricFamily(
        "chinwag_sfu_moves",
        "room calls moved: to=sfu from a mesh past mesh_max, to=janus off a lost Janus, "
        "to=mesh back to a mesh when no Janus was left",
        labels=["to"],
    )
    moves.add_metric(["sfu"], sfu["sfu_moves_to_sfu"])
    moves.add_metric(["janus"], sfu["sfu_moves_to_janus"])
    moves.add_metric(["mesh"], sfu["sfu_moves_to_mesh"])
    yield moves
    recordings = CounterMetricFamily(
        "chinwag_recordings", "recordings finished, by outcome", labels=["state"]
    )
    recordings.add_metric(["ready"], sfu["recordings_ready"])
    recordings.add_metric(["failed"], sfu["recordings_failed"])
    yield recordings


class ChinwagCollector(Collector):
    """Reads the plain counters only when scraped, so the hot path stays an integer add."""

    def __init__(self, metrics: Metrics, snapshot: Callable[[], Snapshot]) -> None:
        self._metrics = metrics
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        return families(self._metrics, self._snapshot())


def registry_for(metrics: Metrics, snapshot: Callable[[], Snapshot]) -> CollectorRegistry:
    """A registry with chinwag's metrics and the process's own (CPU, memory, open files)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ChinwagCollector(metrics, snapshot))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def render(metrics: Metrics, now: Snapshot) -> str:
    """The Prometheus text exposition of ``metrics`` and ``now`` alone (no process metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ChinwagCollector(metrics, lambda: now))
    return generate_latest(registry).decode()


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition of everything ``registry`` holds."""
    return generate_latest(registry)
