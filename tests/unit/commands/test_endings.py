"""Every `tflmake` command ends cleanly: one line, a documented exit code, no traceback."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import DATA, Project
from tflmake import exits
from tflmake.commands import main as cli
from tflmake.commands.main import main

SRC = Path(cli.__file__).resolve().parent

BROKEN = """\
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{ type = "Flatten" }]
[[variant]]
name = "int8"
quantize = "int3"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add_report(folder: Path, model: str = "toy") -> None:
    (folder / model).mkdir(parents=True)
    shutil.copy(DATA / "report_toy.json", folder / model / "report.json")


def test_report_reads_the_build_dir_of_pyproject(cli_project: Project, capsys) -> None:
    """`tflmake report` looks in [tool.tflmake] build-dir, as every other command does."""
    (cli_project.root / "pyproject.toml").write_text('[tool.tflmake]\nbuild-dir = "out"\n')
    add_report(cli_project.root / "out")
    code, out, err = run(capsys, "report", "--plain")
    assert code == 0, err
    assert "toy (500 test samples)" in out


def test_report_reads_the_build_dir_option(cli_project: Project, capsys) -> None:
    """`tflmake --build-dir DIR report` reads DIR; `report --build-dir` after it still wins."""
    add_report(cli_project.root / "out")
    assert run(capsys, "--build-dir", "out", "report", "--plain")[0] == 0
    assert run(capsys, "--build-dir", "elsewhere", "report", "--build-dir", "out", "--plain")[0] == 0


def test_report_without_reports_says_to_run_tflmake(cli_project: Project, capsys) -> None:
    """With nothing built, the hint names a command that exists."""
    code, _, err = run(capsys, "report")
    assert code == 1
    assert "run `tflmake`" in err and "tflmake build" not in err


def test_no_hint_names_a_command_that_is_not_tflmakes() -> None:
    """No message in the package tells a tflmake user to run `doit ...` or `tflmake build`."""
    offenders = [f"{path.relative_to(SRC)}: {line.strip()}"
                 for path in sorted(SRC.rglob("*.py")) for line in path.read_text().splitlines()
                 if re.search(r"run `doit |`tflmake build", line) and not line.lstrip().startswith("#")]
    assert offenders == []


@pytest.mark.parametrize("args", [["status", "--help"], ["status", "-h"], ["refresh", "--help"],
                                  ["list", "--help"]])
def test_help_after_a_doit_command_shows_its_help(cli_project: Project, capsys, args: list[str]) -> None:
    """`tflmake COMMAND --help` (and -h) is `tflmake help COMMAND`, not a parsing error."""
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "ERROR" not in out + err
    assert "PURPOSE" in out and f"tflmake {args[0]}" in out


def test_ctrl_c_is_one_line_and_exit_130(cli_project: Project, capsys,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C anywhere in a command prints one line and exits 130."""
    def interrupted(args: list[str], settings: cli.Settings) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.OWN_COMMANDS, "schema", interrupted)
    code, out, err = run(capsys, "schema")
    assert code == exits.INTERRUPTED == 130
    assert err == "tflmake: interrupted; rerun to continue — finished targets are kept\n"


class SendsCtrlCWhenCollected:
    """A finalizer that presses Ctrl-C: Python reports its KeyboardInterrupt as "Exception ignored"."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost interrupt itself
def test_a_ctrl_c_lost_in_a_finalizer_still_exits_130(cli_project: Project, capsys,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A press whose KeyboardInterrupt a finalizer swallowed (TensorFlow's, during a conversion) ends with 130."""
    def finishes_anyway(args: list[str], settings: cli.Settings) -> int:
        collected = SendsCtrlCWhenCollected()
        del collected
        return 0

    monkeypatch.setitem(cli.OWN_COMMANDS, "schema", finishes_anyway)
    code, _, err = run(capsys, "schema")
    assert code == exits.INTERRUPTED, err
    assert err.endswith("tflmake: interrupted; rerun to continue — finished targets are kept\n")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_build_with_an_invalid_spec_exits_2(cli_project: Project, capsys) -> None:
    """An invalid spec is exit code 2 for `tflmake` (build) and `validate`, not a build failure's 1."""
    cli_project.add_spec("broken", BROKEN)
    assert run(capsys, "validate")[0] == exits.INVALID
    code, out, _ = run(capsys)
    assert code == exits.INVALID, out


def test_an_unknown_task_exits_2(cli_project: Project, capsys) -> None:
    """A command line naming no task is a usage error: 2."""
    assert run(capsys, "no_such_task")[0] == exits.INVALID


def _closed_pipe_run(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """`tflmake ARGS | head -0`: stdout's reader is gone before the command writes."""
    process = subprocess.Popen([sys.executable, "-m", "tflmake", *args], cwd=project.root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    return subprocess.CompletedProcess(args, process.wait(timeout=120), "", err)


@pytest.mark.parametrize("args", [["validate", "--format", "json"], ["report"], ["list", "--all"]])
def test_a_closed_pipe_ends_quietly(cli_project: Project, args: list[str]) -> None:
    """Piping into `head` prints no BrokenPipeError traceback; the exit code says what happened (141)."""
    shutil.copy(DATA / "specs" / "digits_mlp.toml", cli_project.specs)
    add_report(cli_project.build, "digits_mlp")
    result = _closed_pipe_run(cli_project, *args)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert result.returncode == exits.READER_GONE, result.stderr


BROKEN_DATA = """\
[model.source]
type = "layers"
input_shape = [4]
layers = [{ type = "Dense", units = 2 }]
[dataset]
type = "npz"
path = "data.npz"
x_key = "images"
[[variant]]
name = "float32"
"""


@pytest.fixture
def failed_run(cli_project: Project, capsys) -> tuple[int, str]:
    """A project whose one model fails at its data set (no TensorFlow needed), built once."""
    import numpy as np

    np.savez(cli_project.specs / "data.npz", x=np.zeros((20, 4), np.float32), y=np.zeros(20))
    cli_project.add_spec("broken", BROKEN_DATA)
    code = main([])
    return code, capsys.readouterr().out


def test_a_failed_model_still_gets_the_project_report(cli_project: Project, failed_run: tuple[int, str]) -> None:
    """When a model fails, build/report.html and report.md are still written, naming it as failed."""
    code, out = failed_run
    assert code == exits.FAILED, out
    html = (cli_project.build / "report.html").read_text()
    assert "build FAILED</span> broken: " in html and "no array &quot;images&quot;" in html
    assert "- broken: " in (cli_project.build / "report.md").read_text()


def test_status_after_a_failed_run_says_it_failed(cli_project: Project, failed_run: tuple[int, str],
                                                  capsys) -> None:
    """status names the failure of the last run, not "no build record (forgotten?)"."""
    code, out, _ = run(capsys, "status", "dataset")
    assert code == 1
    assert out.splitlines()[0].startswith("stale       dataset:broken  failed last time: broken (")
    assert "forgotten" not in out


def test_a_build_without_failures_writes_no_failure_record(cli_project: Project, capsys) -> None:
    """The failure record exists only once something failed (a no-op build writes nothing)."""
    import numpy as np

    np.savez(cli_project.specs / "data.npz", x=np.zeros((20, 4), np.float32), y=np.zeros(20))
    cli_project.add_spec("fine", BROKEN_DATA.replace('x_key = "images"\n', ""))
    assert main(["dataset"]) == 0 and main(["dataset"]) == 0
    assert not (cli_project.build / ".failed-tasks.json").exists()


def test_a_fixed_task_leaves_the_failure_record(cli_project: Project, failed_run: tuple[int, str], capsys) -> None:
    """After the failed task builds, status no longer says it failed."""
    cli_project.add_spec("broken", BROKEN_DATA.replace('x_key = "images"\n', ""))
    assert main(["dataset"]) == 0
    capsys.readouterr()
    assert main(["status", "dataset"]) == 0
    assert "failed last time" not in capsys.readouterr().out
