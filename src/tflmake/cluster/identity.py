"""What makes a worker's artifacts equal the driver's: platform, tool versions, tflmake's own code.

A worker that differs would publish entries under keys the driver never asks
for (or, worse, artifacts made by other tools), so its job stops before building.
"""

from __future__ import annotations

from typing import Any

from tflmake.cache.key import code_digest, platform_tuple
from tflmake.engine.toolversions import tool_version
from tflmake.spec.provenance import MANIFEST_TOOLS


def build_identity() -> dict[str, Any]:
    """This process's platform, tool versions (from package metadata) and tflmake code digest."""
    return {"platform": platform_tuple(), "tools": {tool: tool_version(tool) for tool in MANIFEST_TOOLS},
            "code": code_digest()}


def difference(worker: dict[str, Any], driver: dict[str, Any]) -> str | None:
    """The first way `worker` differs from `driver`, as one line, or None."""
    for group in ("platform", "tools"):
        for name, wanted in sorted(driver.get(group, {}).items()):
            have = worker.get(group, {}).get(name, "nothing")
            if have != wanted:
                return f"worker has {name} {have}, driver {wanted}"
    if worker.get("code") != driver.get("code"):
        return f"worker has tflmake code {str(worker.get('code'))[:12]}, driver {str(driver.get('code'))[:12]}"
    return None
