"""Unit tests run in seconds: property-based tests try fewer examples unless CI asks for the full count."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("full", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("quick", max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "full" if os.environ.get("CI") else "quick"))
