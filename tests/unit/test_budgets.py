"""The budgets the transport charges before parsing, and the per-address back-off (no I/O)."""

from __future__ import annotations

from chinwag.core.limits import FloodPolicy, FrameBudget, Rate


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
