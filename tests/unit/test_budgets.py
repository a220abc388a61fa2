"""The budgets the transport charges before parsing, and the per-address back-off (no I/O)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chinwag.core.limits import FailureBackoff, FloodPolicy, FrameBudget, Rate


def test_frames_over_the_budget_are_refused_then_allowed_again() -> None:
    budget = FrameBudget(FloodPolicy(frames=Rate(10, 40)), now=0.0)
    assert all(budget.frame(0.0) for _ in range(40))
    assert not budget.frame(0.0)
    assert budget.frame(0.1)  # one more after a tenth of a second at 10/s


def test_violations_run_dry_after_the_burst() -> None:
    budget = FrameBudget(FloodPolicy(frames=Rate(10, 40), violations=Rate(1, 20)), now=0.0)
    assert all(budget.violation(0.0) for _ in range(20))
    assert not budget.violation(0.0)


def test_error_replies_have_their_own_budget() -> None:
    budget = FrameBudget(FloodPolicy(frames=Rate(10, 40), errors=Rate(5, 10)), now=0.0)
    assert sum(budget.error_reply(0.0) for _ in range(100)) == 10


def test_backoff_is_free_at_first_then_doubles_up_to_the_cap() -> None:
    backoff = FailureBackoff(free=2, base=1.0, longest=8.0)
    waits = [backoff.failed("10.0.0.1", float(n)) for n in range(7)]
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.wait("10.0.0.1", 6.0) == 8.0
    assert backoff.wait("10.0.0.2", 6.0) == 0.0  # another address is not touched


def test_backoff_forgets_an_address_after_a_quiet_spell() -> None:
    backoff = FailureBackoff(free=1, base=1.0, forget_after=60.0)
    backoff.failed("a", 0.0)
    assert backoff.failed("a", 1.0) == 1.0
    assert backoff.failed("a", 100.0) == 0.0  # counted afresh


@given(st.lists(st.integers(0, 10_000), max_size=500))
def test_backoff_memory_is_bounded_whatever_the_addresses(addresses: list[int]) -> None:
    backoff = FailureBackoff(max_keys=50)
    for n, address in enumerate(addresses):
        backoff.failed(str(address), float(n))
    assert len(backoff.failures) <= 50
