"""How real builds end: Ctrl-C mid-training, and a model that fails next to one that builds."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import SPECS, TINY_SPEC, Project, make_project

INTERRUPTED = "tflmake: interrupted; rerun to continue — finished targets are kept"


def interrupted_build(project: Project, marker: str, delay: float) -> tuple[int, str, str]:
    """`python -m tflmake` in `project`, Ctrl-C'd `delay` seconds after `marker` appears in its output.

    Returns the exit code, the output up to the marker, and the output after it.
    """
    # A shell without job control starts background jobs (such as a backgrounded pytest) with
    # SIGINT ignored, and children inherit that: give the build the terminal's default.
    # Without the local cache: a project built before in this test would restore its model, print no
    # epoch, and never be interrupted.
    process = subprocess.Popen([sys.executable, "-m", "tflmake"], cwd=project.root, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "TFLMAKE_CACHE_LOCAL": "0"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGINT)
            break
    else:
        raise AssertionError(f"the build never printed {marker!r}: {''.join(seen)}")
    rest = process.stdout.read()
    return process.wait(timeout=120), "".join(seen), rest


def test_ctrl_c_during_training_prints_one_line_and_exits_130(tmp_path: Path) -> None:
    """SIGINT to the process group (what Ctrl-C sends) ends with one line, no traceback, exit 130;
    the finished data set is kept."""
    project = make_project(tmp_path / "p", dodo=False)
    project.add_spec("slow", (SPECS / "digits_mlp.toml").read_text().replace("epochs = 5", "epochs = 500"))
    code, seen, rest = interrupted_build(project, "epoch 2/500", 0.0)
    assert code == 130, seen + rest
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


# After the last epoch: the end of training, the export, the conversion (whose TensorFlow
# finalizers swallowed the interrupt at about 0.4 s), the later steps, the exit.
DELAYS_AFTER_TRAINING = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)
FINISHED = re.compile(r"^tflmake: \d+ built", re.MULTILINE)


def test_every_ctrl_c_around_the_end_of_training_exits_130(tmp_path: Path) -> None:
    """Ctrl-C at several moments after the last epoch of a tiny model always ends the build with 130.

    Once the build has printed its last line, Python may already be past running signal
    handlers (its teardown, then TensorFlow's C++ one): the process dies by SIGINT, which
    a shell reports as 130 too.
    """
    codes = {}
    for delay in DELAYS_AFTER_TRAINING:
        project = make_project(tmp_path / f"p{delay}", dodo=False)
        project.add_spec("tiny", TINY_SPEC)
        code, seen, rest = interrupted_build(project, "epoch 2/2", delay)
        if code == -signal.SIGINT and FINISHED.search(rest):
            code = 130
        codes[delay] = code
        assert code != 130 or INTERRUPTED in rest or FINISHED.search(rest), rest
    assert codes == dict.fromkeys(DELAYS_AFTER_TRAINING, 130)
