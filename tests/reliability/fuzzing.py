"""Hypothesis profiles for fuzz tests: ``short`` by default (CI), ``CHINWAG_FUZZ=long`` by hand.

Apply with ``@FUZZ`` under ``@given``; unlike ``settings.load_profile`` this
changes no other test's settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "short", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck)
)

#: The profile chosen by ``CHINWAG_FUZZ`` (``short`` or ``long``).
FUZZ = settings.get_profile(os.environ.get("CHINWAG_FUZZ", "short"))
