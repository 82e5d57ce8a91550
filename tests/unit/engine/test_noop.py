"""The no-op record: it answers only while nothing it recorded changed; any doubt falls through."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tflmake.engine import noop

SUMMARY = "0 built, 2 up to date, 0 failed"


def make_inputs(root: Path) -> None:
    (root / "modelspecs").mkdir()
    (root / "modelspecs" / "m.toml").write_text("[model]\n")
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("1,2\n")
    # The record proves nothing about files changed within a clock tick of the run's start.
    time.sleep(1.5 * noop.TICK_NS / 1e9)


def run_full_build(monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...] = (),
                   outputs: dict[str, tuple[int, int] | None] | None = None) -> bool:
    """A run that read the spec and data/x.csv and wrote build/out.bin: whether it wrote the record."""
    noop.start_run()  # the run starts now
    os.makedirs("build", exist_ok=True)
    Path("build/out.bin").write_bytes(b"tflite")
    Path("build/.doit.db").write_bytes(b"state")
    Path("build/.lock").touch()
    noop.expect_record(noop.tflmake_context(list(argv)), "build")
    noop.note_inputs(["modelspecs", "modelspecs/m.toml"])
    return noop.write_record("build", SUMMARY, ["data/x.csv"],
                             outputs or {"build/out.bin": None, "build/.doit.db": None})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project whose last full build (no arguments) wrote the record."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith(noop.ENV_PREFIXES)]:
        monkeypatch.delenv(name)
    make_inputs(tmp_path)
    assert run_full_build(monkeypatch)
    yield tmp_path
    noop.start_run()


def answer(argv: tuple[str, ...] = ()) -> str | None:
    return noop.nothing_to_do(noop.tflmake_context(list(argv)), "build")


def test_an_unchanged_project_is_answered_from_the_record(project: Path) -> None:
    """Nothing changed since the full build: one line with the no-op's counts."""
    line = answer()
    assert line is not None
    assert line.startswith(f"tflmake: {SUMMARY} (") and line.endswith(f"s, {noop.NOTHING_CHANGED})")


def test_without_a_record_the_normal_path_decides(project: Path) -> None:
    """No record (never written, or removed by a build that started): no answer."""
    noop.remove_record("build")
    assert answer() is None


def test_a_touched_input_falls_through(project: Path) -> None:
    """A new timestamp on a data file, even with the same bytes, is a doubt."""
    stat = os.stat("data/x.csv")
    os.utime("data/x.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))
    assert answer() is None


def test_an_edited_spec_falls_through(project: Path) -> None:
    Path("modelspecs/m.toml").write_text("[model]\ndescription = 'edited'\n")
    assert answer() is None


def test_a_deleted_output_falls_through(project: Path) -> None:
    os.remove("build/out.bin")
    assert answer() is None


def test_a_new_spec_falls_through(project: Path) -> None:
    """A spec added to the specs folder changes the folder, which the record holds."""
    Path("modelspecs/n.toml").write_text("[model]\n")
    assert answer() is None


def test_a_removed_spec_falls_through(project: Path) -> None:
    os.remove("modelspecs/m.toml")
    assert answer() is None


def test_a_new_settings_file_falls_through(project: Path) -> None:
    """pyproject.toml was absent when the record was written; one that appears may hold [tool.tflmake]."""
    Path("pyproject.toml").write_text("[tool.tflmake]\nbuild-dir = 'out'\n")
    assert answer() is None


def test_other_arguments_fall_through(project: Path) -> None:
    """The record is of `tflmake` without arguments; `tflmake --no-cache` is another context."""
    assert answer(("--no-cache",)) is None


def test_a_changed_cache_variable_falls_through(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFLMAKE_CACHE_URL", "/tmp/elsewhere")
    assert answer() is None


def test_another_python_environment_falls_through(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "prefix", "/opt/other-venv")
    assert answer() is None


def test_another_working_directory_falls_through(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the project (same relative paths, other folder) is not the recorded one."""
    (project / "elsewhere").mkdir()
    os.symlink(project / "build", project / "elsewhere" / "build")
    monkeypatch.chdir(project / "elsewhere")
    assert answer() is None


def test_a_build_holding_the_lock_falls_through(project: Path) -> None:
    """While another run holds build/.lock, the normal path waits for it instead."""
    descriptor = os.open("build/.lock", os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        assert answer() is None
    finally:
        os.close(descriptor)
    assert answer() is not None, "the lock is released after a check"


def test_the_check_all_variable_writes_no_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that checked every task on request leaves the record to the next plain run."""
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    monkeypatch.setenv(noop.CHECK_ALL_ENV, "1")
    assert not run_full_build(monkeypatch)


def test_a_damaged_record_falls_through(project: Path) -> None:
    path = Path(noop.record_path("build"))
    path.write_bytes(path.read_bytes()[:-20])
    assert answer() is None


def test_a_changed_tflmake_file_falls_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tflmake's own files are in the record: editing one may change any task."""
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    code = tmp_path / "tflmake_code.py"
    code.write_text("VALUE = 1\n")
    time.sleep(1.5 * noop.TICK_NS / 1e9)
    monkeypatch.setattr(noop, "_own_files", lambda: [str(code)])
    assert run_full_build(monkeypatch)
    code.write_text("VALUE = 22\n")
    assert answer() is None


def test_a_package_folder_that_changed_falls_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An install into a folder on sys.path changes the folder: tool versions may differ."""
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    packages = tmp_path / "site-packages"
    packages.mkdir()
    time.sleep(1.5 * noop.TICK_NS / 1e9)
    monkeypatch.setattr(sys, "path", [*sys.path, str(packages)])
    assert run_full_build(monkeypatch)
    (packages / "keras-9.0.dist-info").mkdir()
    assert answer() is None


def test_no_record_when_an_input_changed_during_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An input written after the run began may not be what the run read."""
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    noop.start_run()
    Path("data/x.csv").write_text("3,4\n")
    Path("build").mkdir()
    Path("build/out.bin").write_bytes(b"tflite")
    noop.expect_record(noop.tflmake_context([]), "build")
    assert not noop.write_record("build", SUMMARY, ["data/x.csv"], {"build/out.bin": None})
    assert not os.path.exists(noop.record_path("build"))


def test_no_record_when_an_output_differs_from_what_doit_saved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A target edited after its task saved its stat would go unnoticed: no record then."""
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    assert not run_full_build(monkeypatch, outputs={"build/out.bin": (len(b"tflite") + 1, 0)})


def test_no_record_when_an_input_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    os.remove("data/x.csv")
    assert not run_full_build(monkeypatch)


def test_no_record_unless_a_full_build_was_expected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tflmake tflite:m.int8` (no expect_record) never writes one, even when it succeeds."""
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    Path("build").mkdir()
    Path("build/out.bin").write_bytes(b"tflite")
    noop.start_run()
    assert not noop.write_record("build", SUMMARY, ["data/x.csv"], {"build/out.bin": None})


def test_no_record_for_another_build_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    Path("out").mkdir()
    noop.start_run()
    noop.expect_record(noop.tflmake_context([]), "build")
    assert not noop.write_record("out", SUMMARY, ["data/x.csv"], {})


def test_the_dodo_shim_leaves_a_program_using_doit_as_a_library_alone(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only `doit` itself exits early; a program that loads the dodo file keeps running."""
    monkeypatch.setattr(sys, "argv", ["my_script.py"])
    noop.exit_if_nothing_changed("dodo.py", "modelspecs", "build")  # returns
    assert not noop.record_expected()


def test_the_dodo_shim_leaves_doit_with_arguments_alone(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/bin/doit", "list"])
    noop.exit_if_nothing_changed("dodo.py", "modelspecs", "build")
    assert not noop.record_expected()


def test_the_dodo_shim_answers_plain_doit_and_exits_zero(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    make_inputs(tmp_path)
    Path("dodo.py").write_text("# the shim\n")
    time.sleep(1.5 * noop.TICK_NS / 1e9)
    monkeypatch.setattr(sys, "argv", ["/venv/bin/doit"])
    noop.start_run()
    noop.exit_if_nothing_changed("dodo.py", "modelspecs", "build")  # no record yet: the run writes one
    assert noop.record_expected()
    Path("build").mkdir()
    Path("build/out.bin").write_bytes(b"tflite")
    Path("build/.lock").touch()
    noop.note_inputs(["modelspecs", "modelspecs/m.toml"])
    assert noop.write_record("build", SUMMARY, ["data/x.csv"], {"build/out.bin": None})
    with pytest.raises(SystemExit) as exit_:
        noop.exit_if_nothing_changed("dodo.py", "modelspecs", "build")
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"tflmake: {SUMMARY} (")


def test_the_default_build_folder_is_the_settings_default() -> None:
    """`tflmake` looks for the record before parsing its settings, in their default build folder."""
    from tflmake.commands.settings import Settings

    assert noop.DEFAULT_BUILD_DIR == Settings().build_dir
