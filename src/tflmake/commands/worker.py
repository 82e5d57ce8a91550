"""`tflmake worker status|stop`: the project's warm build workers (see engine.workerclient)."""

from __future__ import annotations

import time
from typing import Any

from tflmake.commands.settings import Settings, parse, parser
from tflmake.engine import workerclient
from tflmake.paths import Layout


def run(args: list[str], settings: Settings) -> int:
    command_parser = parser("worker", "The warm build workers that keep TensorFlow imported between builds.")
    command_parser.add_argument("action", choices=("status", "stop"),
                                help="status: pid, uptime, memory, steps served; stop: end them now")
    options = parse(command_parser, args)
    layout = Layout(settings.build_dir)
    if options.action == "stop":
        pids = workerclient.stop(layout)
        stopped = ", ".join(str(pid) for pid in pids)
        print(f"stopped the worker{'s' if len(pids) > 1 else ''} (pid {stopped})" if pids
              else "no worker serves this project")
        return 0
    answers = workerclient.statuses(layout)
    print("\n".join(describe(answer) for answer in answers) if answers else "no worker serves this project")
    return 0


def describe(status: dict[str, Any]) -> str:
    """One line on a serving worker, as `tflmake worker status` and `tflmake status` show it."""
    started = time.strftime("%H:%M:%S", time.localtime(status["started"]))
    state = "running a step" if status["busy"] else "idle"
    name = f"worker {status['slot']}" if status.get("slot") else "worker"
    return (f"{name}: pid {status['pid']}, up {_duration(status['uptime'])} (since {started}), "
            f"{status['rss_mb']:.0f} MB resident, {status['tasks']} steps served, {state}; "
            f"TensorFlow {status['tensorflow']}; exits after {_duration(status['idle_seconds'])} idle")


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
