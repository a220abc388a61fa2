"""The Prometheus text chinwag renders parses, and says what was counted."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from chinwag.metrics import LATENCY_BUCKETS, Histogram, Metrics, Snapshot
from chinwag.metrics_export import render


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram()
    for value in (0.00001, 0.0003, 0.0003, 0.02, 5.0):
        histogram.observe(value)
    pairs = dict(histogram.cumulative())
    assert pairs["5e-05"] == 1
    assert pairs["0.0005"] == 3
    assert pairs["0.025"] == 4
    assert pairs["1.0"] == 4
    assert pairs["+Inf"] == 5
    assert len(pairs) == len(LATENCY_BUCKETS) + 1


def test_render_parses_and_carries_every_value() -> None:
    metrics = Metrics(connections_opened=7, slow_readers_dropped=1, heartbeat_dropped=2)
    metrics.refused["server full"] += 3
    metrics.transport_errors["binary-frame"] += 1
    metrics.relay_latency.observe(0.002)
    snapshot = Snapshot(
        sockets=9,
        websockets=5,
        users=4,
        calls_active=1,
        calls_ringing=1,
        ready=True,
        messages={"message": 10, "video-offer": 2},
        errors={"binary-frame": 2, "no-such-user": 1},
    )
    samples = parse(render(metrics, snapshot))
    assert samples[("chinwag_websockets", ())] == 5
    assert samples[("chinwag_users", ())] == 4
    assert samples[("chinwag_calls_active", ())] == 1
    assert samples[("chinwag_ready", ())] == 1
    assert samples[("chinwag_websockets_opened_total", ())] == 7
    assert samples[("chinwag_slow_readers_dropped_total", ())] == 1
    assert samples[("chinwag_heartbeat_dropped_total", ())] == 2
    assert samples[("chinwag_messages_total", (("type", "video-offer"),))] == 2
    assert samples[("chinwag_errors_total", (("code", "binary-frame"),))] == 3  # lobby + transport
    assert samples[("chinwag_refused_total", (("reason", "server full"),))] == 3
    assert samples[("chinwag_relay_latency_seconds_count", ())] == 1
    assert samples[("chinwag_relay_latency_seconds_bucket", (("le", "0.0025"),))] == 1
    assert samples[("chinwag_relay_latency_seconds_bucket", (("le", "0.001"),))] == 0


def test_label_values_are_escaped() -> None:
    snapshot = Snapshot(0, 0, 0, 0, 0, False, {'odd"type\\\n': 1}, {})
    samples = parse(render(Metrics(), snapshot))
    assert samples[("chinwag_messages_total", (("type", 'odd"type\\\n'),))] == 1


def test_sfu_figures_appear_only_with_an_sfu() -> None:
    plain = parse(render(Metrics(), Snapshot(0, 0, 0, 0, 0, True, {}, {})))
    assert not [name for name, _ in plain if "sfu" in name or "recording" in name]
    sfu = {
        "sfu_calls": 2, "sfu_publishers": 9, "sfu_subscribers": 8, "sfu_janus_up": 1,
        "sfu_janus_lost": 1, "sfu_moves_to_sfu": 3, "sfu_moves_to_janus": 1,
        "sfu_moves_to_mesh": 2, "recordings_active": 1, "recordings_converting": 0,
        "recordings_ready": 4, "recordings_failed": 1,
    }  # fmt: skip
    samples = parse(render(Metrics(), Snapshot(0, 0, 0, 0, 0, True, {}, {}, sfu=sfu)))
    assert samples[("chinwag_sfu_calls", ())] == 2
    assert samples[("chinwag_sfu_publishers", ())] == 9
    assert samples[("chinwag_sfu_subscribers", ())] == 8
    assert samples[("chinwag_sfu_janus_up", ())] == 1
    assert samples[("chinwag_sfu_janus_lost_total", ())] == 1
    assert samples[("chinwag_sfu_moves_total", (("to", "sfu"),))] == 3
    assert samples[("chinwag_sfu_moves_total", (("to", "janus"),))] == 1
    assert samples[("chinwag_sfu_moves_total", (("to", "mesh"),))] == 2
    assert samples[("chinwag_recordings_active", ())] == 1
    assert samples[("chinwag_recordings_total", (("state", "ready"),))] == 4
    assert samples[("chinwag_recordings_total", (("state", "failed"),))] == 1
