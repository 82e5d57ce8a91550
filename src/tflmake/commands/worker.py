"""`tflmake worker status|stop`: the project's warm build worker (see engine.workerclient)."""

from __future__ import annotations

import time
from typing import Any

from tflmake.commands.settings import Settings, parse, parser
from tflmake.engine import workerclient
from tflmake.paths import Layout


def run(args: list[str], settings: Settings) -> int:
    command_parser = parser("worker", "The warm build worker that keeps TensorFlow imported between builds.")
    command_parser.add_argument("action", choices=("status", "stop"),
                                help="status: pid, uptime, memory, steps served; stop: end it now")
    options = parse(command_parser, args)
    layout = Layout(settings.build_dir)
    if options.action == "stop":
        pid = workerclient.stop(layout)
        print(f"stopped the worker (pid {pid})" if pid else "no worker serves this project")
        return 0
    answer = workerclient.ask(layout, "status")
    print(describe(answer) if answer and answer.get("status") == "ok" else "no worker serves this project")
    return 0


def describe(status: dict[str, Any]) -> str:
    """One line on a serving worker, as `tflmake worker status` and `tflmake status` show it."""
    started = time.strftime("%H:%M:%S", time.localtime(status["started"]))
    state = "running a step" if status["busy"] else "idle"
    return (f"worker: pid {status['pid']}, up {_duration(status['uptime'])} (since {started}), "
            f"{status['rss_mb']:.0f} MB resident, {status['tasks']} steps served, {state}; "
            f"TensorFlow {status['tensorflow']}; exits after {_duration(status['idle_seconds'])} idle")


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
