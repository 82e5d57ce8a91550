"""The shared artifact cache: restore what a colleague or CI already built, publish what this build made.

Light on purpose: the reporter and the runner import this package on every
run; fsspec and the storage code load only when a stale cacheable task runs.
"""

# What a restored task's action returns (doit keeps it as the task's result; the reporter counts it).
RESTORED = "restored from cache"

# The resolved cache settings of this run, as JSON (set by the tflmake command for its build steps).
SETTINGS_ENV = "TFLMAKE_CACHE_SETTINGS"

__all__ = ["RESTORED", "SETTINGS_ENV"]
