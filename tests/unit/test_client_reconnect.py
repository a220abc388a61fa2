"""The client's reconnect policy: which closes are worth coming back from, and the backoff."""

from __future__ import annotations

import random

import pytest

from chinwag.client import ReconnectPolicy, SignedIn, parse_event


@pytest.mark.parametrize("code", [None, 1001, 1006, 1012, 4002])
def test_drops_and_restarts_are_retried(code: int | None) -> None:
    assert ReconnectPolicy().should_retry(code)


@pytest.mark.parametrize("code", [1000, 1002, 1009, 4001])
def test_normal_closes_protocol_errors_and_takeovers_are_final(code: int) -> None:
    assert not ReconnectPolicy().should_retry(code)


def test_no_attempts_means_never_retry() -> None:
    assert not ReconnectPolicy(attempts=0).should_retry(1006)


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    policy = ReconnectPolicy(first_delay=0.25, max_delay=5.0, jitter=0.0)

    assert [policy.delay(n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_its_spread_and_varies() -> None:
    policy = ReconnectPolicy(first_delay=1.0, max_delay=1.0, jitter=0.25)
    rng = random.Random(7)

    delays = {policy.delay(1, rng) for _ in range(50)}

    assert all(0.75 <= delay <= 1.25 for delay in delays)
    assert len(delays) > 1


@pytest.mark.parametrize(
    "options", [{"attempts": -1}, {"first_delay": 2.0, "max_delay": 1.0}, {"jitter": 1.0}]
)
def test_impossible_policies_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**options)  # type: ignore[arg-type]


def test_signed_in_carries_the_resume_token_and_whether_it_resumed() -> None:
    event = parse_event(
        {"type": "signed-in", "id": 3, "name": "alice", "features": ["seq"],
         "resume": "k3J", "resumed": True}
    )  # fmt: skip

    assert isinstance(event, SignedIn)
    assert (event.resume, event.resumed, event.features) == ("k3J", True, frozenset({"seq"}))
