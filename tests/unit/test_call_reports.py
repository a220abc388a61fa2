"""Call outcomes as the server counts them: once per call, bounded labels, clamped, rate-limited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chinwag.core.callreports import MAX_FIRST_FRAME_MS, parse_report
from chinwag.core.effects import CountCall
from chinwag.core.errors import ProtocolError
from chinwag.core.lobby import Lobby
from chinwag.metrics import Metrics, Snapshot
from chinwag.metrics_export import render
from tests.unit.test_lobby import FEATURES, World, sent


class Clocked(World):
    """A lobby whose monotonic clock the test moves, with the counts it emitted."""

    def __init__(self) -> None:
        self.now = 100.0
        self.lobby = Lobby(clock=lambda: 1_700_000_000.5, monotonic=lambda: self.now)
        self.next = 0
        self.counted: list[CountCall] = []

    def say(self, conn: int, **fields: Any) -> list[Any]:
        effects = self.lobby.receive(conn, json.dumps(fields))
        self.counted += [e for e in effects if isinstance(e, CountCall)]
        return effects

    def in_call(self) -> tuple[int, int]:
        alice, bob = self.join("alice", FEATURES), self.join("bob", FEATURES)
        self.say(alice, type="call-invite", target="bob")
        self.say(bob, type="call-accept", target="alice")
        return alice, bob

    def events(self, kind: str) -> list[CountCall]:
        return [c for c in self.counted if c.event == kind]


@pytest.fixture
def world() -> Clocked:
    return Clocked()


def test_a_call_counts_started_then_failed_once_by_reason(world: Clocked) -> None:
    alice, bob = world.in_call()
    assert world.events("started") == [CountCall("started")]
    effects = world.say(
        alice, type="call-report", target="bob", outcome="failed", reason="credentials-refused"
    )
    assert sent(effects, bob) == []  # nobody receives a report
    world.say(alice, type="hang-up", target="bob", reason="failed")
    # The partner's report after the call ended counts nothing more.
    world.say(
        bob, type="call-report", target="alice", outcome="failed", reason="credentials-refused"
    )
    assert world.events("failed") == [CountCall("failed", "credentials-refused")]
    assert world.events("connected") == []


def test_failure_wins_over_connected_and_first_frame_is_observed(world: Clocked) -> None:
    alice, bob = world.in_call()
    world.say(
        alice,
        type="call-report",
        target="bob",
        outcome="connected",
        ttff_ms=420,
        local="srflx",
        remote="prflx",
    )
    world.say(bob, type="call-report", target="alice", outcome="failed", reason="one-way-media")
    world.say(bob, type="hang-up", target="alice")
    assert world.events("first-frame") == [CountCall("first-frame", seconds=0.42)]
    assert world.events("route") == [CountCall("route", "srflx/prflx")]
    assert world.events("failed") == [CountCall("failed", "one-way-media")]
    assert world.events("connected") == []


def test_a_connected_call_counts_when_its_side_leaves_and_logs_one_line(
    world: Clocked, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = world.in_call()
    world.say(
        bob, type="call-report", outcome="connected", ttff_ms=300, local="host", remote="host"
    )
    with caplog.at_level("INFO", logger="chinwag.core.callreports"):
        effects = world.lobby.disconnect(alice, clean=True)
    assert [e for e in effects if isinstance(e, CountCall)] == [CountCall("connected")]
    [line] = [r.getMessage() for r in caplog.records if r.name == "chinwag.core.callreports"]
    assert line == "call outcome=connected reason=- ttff_ms=300 pair=host/host"
    assert "alice" not in line and "bob" not in line


def test_labels_are_bounded_and_times_clamped() -> None:
    odd = parse_report(b'{"outcome": "failed", "reason": "made-up-\\u2603", "local": "x"}')
    assert (odd.reason, odd.local) == ("other", "unknown")
    pair = parse_report(b'{"outcome": "connected", "local": "alien", "remote": "relay"}')
    assert (pair.local, pair.remote) == ("unknown", "relay")
    assert parse_report(b'{"outcome": "connected", "ttff_ms": 1e12}').ttff_ms == MAX_FIRST_FRAME_MS
    assert parse_report(b'{"outcome": "connected", "ttff_ms": -5}').ttff_ms == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"outcome": "maybe"},
        {"outcome": "failed"},
        {"outcome": "connected", "ttff_ms": "fast"},
        {"outcome": "connected", "ttff_ms": True},
        {"outcome": "connected", "local": 3},
    ],
)
def test_bad_reports_get_a_clear_error_and_count_nothing(
    world: Clocked, fields: dict[str, Any]
) -> None:
    alice, _ = world.in_call()
    effects = world.say(alice, type="call-report", **fields)
    [error] = sent(effects, alice)
    assert (error["code"], error["type"]) == ("bad-field", "error")
    assert not [c for c in world.counted if c.event != "started"]


def test_reports_are_rate_limited_per_connection(world: Clocked) -> None:
    alice, bob = world.in_call()
    refused = 0
    for _ in range(20):
        effects = world.say(alice, type="call-report", outcome="connected", ttff_ms=100)
        refused += any(m.get("code") == "rate-limited" for m in sent(effects, alice))
    assert len(world.events("first-frame")) == 6 and refused == 14
    # Another connection has its own allowance; time refills the first one.
    world.say(bob, type="call-report", outcome="connected", ttff_ms=100)
    world.now += 10.5
    world.say(alice, type="call-report", outcome="connected", ttff_ms=100)
    assert len(world.events("first-frame")) == 8


def test_metrics_render_the_call_families() -> None:
    metrics = Metrics()
    for effect in (
        CountCall("started"),
        CountCall("connected"),
        CountCall("failed", "unreachable"),
        CountCall("route", "relay/relay"),
        CountCall("first-frame", seconds=0.3),
    ):
        metrics.count_call(*effect)
    snapshot = Snapshot(0, 0, 0, 0, 0, True, {}, {})
    samples = {
        (s.name, tuple(s.labels.items())): s.value
        for family in text_string_to_metric_families(render(metrics, snapshot))
        for s in family.samples
    }
    assert samples[("chinwag_calls_started_total", ())] == 1
    assert samples[("chinwag_calls_connected_total", ())] == 1
    assert samples[("chinwag_calls_failed_total", (("reason", "unreachable"),))] == 1
    assert samples[("chinwag_call_routes_total", (("pair", "relay/relay"),))] == 1
    assert samples[("chinwag_call_first_frame_seconds_bucket", (("le", "0.5"),))] == 1
    assert samples[("chinwag_call_first_frame_seconds_bucket", (("le", "0.25"),))] == 0
    assert samples[("chinwag_call_first_frame_seconds_count", ())] == 1


def test_parse_report_rejects_non_strings_as_reason() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_report(b'{"outcome": "failed", "reason": 7}')
    assert caught.value.code == "bad-field"
