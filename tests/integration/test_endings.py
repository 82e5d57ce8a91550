"""How real builds end: Ctrl-C mid-training, and a model that fails next to one that builds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import SPECS, make_project

INTERRUPTED = "tflmake: interrupted; rerun to continue — finished targets are kept"


def test_ctrl_c_during_training_prints_one_line_and_exits_130(tmp_path: Path) -> None:
    """SIGINT to the process group (what Ctrl-C sends) ends with one line, no traceback, exit 130;
    the finished data set is kept."""
    project = make_project(tmp_path / "p", dodo=False)
    project.add_spec("slow", (SPECS / "digits_mlp.toml").read_text().replace("epochs = 5", "epochs = 500"))
    # A shell without job control starts background jobs (such as a backgrounded pytest) with
    # SIGINT ignored, and children inherit that: give the build the terminal's default.
    process = subprocess.Popen([sys.executable, "-m", "tflmake"], cwd=project.root, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "epoch 2/500" in line:
            os.killpg(process.pid, signal.SIGINT)
            break
    rest = process.stdout.read()
    code = process.wait(timeout=120)
    assert code == 130, "".join(seen) + rest
    assert "Traceback" not in rest and rest.rstrip().splitlines()[-1] == INTERRUPTED, rest
    assert [line for line in rest.splitlines() if line.startswith("tflmake")] == [INTERRUPTED], rest
    assert (project.build / "slow" / "dataset.npz").is_file()
    status = project.tflmake("status", "dataset")
    assert status.output.startswith("up to date  dataset:slow"), status.output


def test_a_failing_model_leaves_the_report_of_the_other(tmp_path: Path) -> None:
    """One model fails in training, the other builds; build/report.html shows both, the failed one as failed."""
    project = make_project(tmp_path / "p", dodo=False)
    good = (SPECS / "digits_mlp.toml").read_text().replace("epochs = 5", "epochs = 1")
    project.add_spec("good", good)
    project.add_spec("bad", good.replace('optimizer = "adam"', 'optimizer = "adamx"'))
    run = project.tflmake()
    assert run.returncode == 1, run.output
    assert "summary built from what exists; failed: bad" in run.output
    html = (project.build / "report.html").read_text()
    assert '<section id="good">' in html
    assert 'build FAILED</span> bad: bad (modelspecs/bad.toml): train.optimizer: unknown optimizer' in html
