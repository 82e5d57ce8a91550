"""`tflmake schema`: the JSON Schema spec files are validated against, for editors."""

from __future__ import annotations

import json

from tflmake.commands.settings import Settings, parse, parser


def run(args: list[str], settings: Settings) -> int:
    """`tflmake schema`."""
    from tflmake.spec.schema import spec_schema

    parse(parser("schema", "Print the JSON Schema of spec files (for editors)."), args)
    print(json.dumps(spec_schema(), indent=2))
    return 0
