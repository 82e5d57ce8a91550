"""The `tflmake` command in-process (`main([...])`) in a temp project without a dodo.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tests.support import SPECS, Project
from tflmake.commands.main import main, parse_options
from tflmake.commands.settings import Settings
from tflmake.spec.schema import spec_schema

BROKEN = """\
[model]
name = "broken"
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{ type = "Flatten" }]
[dataset]
type = "digits"
seed = -1
[[variant]]
name = "int8"
quantize = "int3"
"""

TYPO = """\
[model]
[model.source]
type = "layers"
input_shape = [8, 8]
layers = [{ type = "Flatten" }]
[dataset]
type = "digits"
[trian]
epochs = 2
[[variant]]
name = "float32"
"""

# A spec whose data set (a small .npz) builds without TensorFlow, for status tests.
NPZ_SPEC = """\
[model.source]
type = "layers"
input_shape = [4]
layers = [{ type = "Dense", units = 2 }]
[dataset]
type = "npz"
path = "data.npz"
seed = 0
[[variant]]
name = "float32"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add_npz_model(project: Project, name: str = "tiny") -> Path:
    rng = np.random.default_rng(0)
    np.savez(project.specs / "data.npz", x=rng.random((20, 4), dtype=np.float32), y=rng.integers(0, 2, 20))
    return project.add_spec(name, NPZ_SPEC)


def copy_mlp(project: Project) -> None:
    shutil.copy(SPECS / "digits_mlp.toml", project.specs)


def test_validate_reports_every_problem_of_every_spec(cli_project: Project, capsys) -> None:
    """validate lists all problems of all specs at once and exits 2 (invalid spec)."""
    cli_project.add_spec("broken", BROKEN)
    cli_project.add_spec("typo", TYPO)
    code, out, _ = run(capsys, "validate")
    assert code == 2
    assert "modelspecs/broken.toml: dataset.seed: expected a number >= 0; got -1 (line 9)" in out
    assert "modelspecs/broken.toml: variant[0].quantize: expected one of" in out
    assert 'modelspecs/typo.toml: trian: unknown key; did you mean "train"?' in out
    assert "2 specs: 0 valid, 2 invalid (3 problems)" in out


def test_validate_accepts_valid_specs(cli_project: Project, capsys) -> None:
    """A project of valid specs validates with exit code 0."""
    copy_mlp(cli_project)
    code, out, _ = run(capsys, "validate")
    assert (code, out) == (0, "modelspecs/digits_mlp.toml: ok\n1 spec: 1 valid, 0 invalid\n")


def test_validate_checks_only_the_given_files(cli_project: Project, capsys) -> None:
    """validate FILES ignores the other specs in the folder."""
    cli_project.add_spec("broken", BROKEN)
    copy_mlp(cli_project)
    code, out, _ = run(capsys, "validate", "modelspecs/digits_mlp.toml")
    assert code == 0 and "broken" not in out


def test_validate_json_gives_key_message_and_line(cli_project: Project, capsys) -> None:
    """--format json splits each problem into key and message, with its line (and column, for syntax)."""
    cli_project.add_spec("broken", BROKEN)
    cli_project.add_spec("syntax", "[model\n")
    code, out, _ = run(capsys, "validate", "--format", "json")
    report = json.loads(out)
    assert code == 2 and report["valid"] is False
    broken, syntax = report["specs"]
    assert broken["path"] == "modelspecs/broken.toml" and not broken["valid"]
    assert {"key": "dataset.seed", "message": "expected a number >= 0; got -1", "line": 9} in broken["problems"]
    assert {"key": "variant[0].quantize", "line": 12}.items() <= broken["problems"][1].items()
    assert syntax["problems"][0]["key"] is None and syntax["problems"][0]["line"] == 1


def test_validate_without_specs_fails_with_a_hint(cli_project: Project, capsys) -> None:
    """An empty specs folder is reported (exit 2), pointing at `tflmake new`."""
    code, out, _ = run(capsys, "validate")
    assert code == 2 and "tflmake new NAME" in out


def test_commands_that_inspect_never_import_tensorflow(cli_project: Project) -> None:
    """validate, status, list and schema leave TensorFlow and Keras unimported."""
    copy_mlp(cli_project)
    script = ("import sys; from tflmake.commands.main import main\n"
              "for args in (['validate'], ['status'], ['list', '--all'], ['schema']):\n"
              "    main(args)\n"
              "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], cwd=cli_project.root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "stale" in result.stdout and result.stdout.strip().splitlines()[-1] == "[]"


def test_new_writes_a_spec_that_validates(cli_project: Project, capsys) -> None:
    """new NAME writes modelspecs/NAME.toml, which validates as written."""
    code, out, _ = run(capsys, "new", "blinky")
    assert code == 0 and "wrote modelspecs/blinky.toml" in out
    assert run(capsys, "validate")[0] == 0


def test_new_refuses_to_overwrite(cli_project: Project, capsys) -> None:
    """new leaves an existing spec untouched and exits non-zero."""
    existing = cli_project.add_spec("blinky", "# mine\n")
    code, _, err = run(capsys, "new", "blinky")
    assert code == 2 and "already exists" in err
    assert existing.read_text() == "# mine\n"


@pytest.mark.parametrize("name", ["Blinky", "2fast", "has-dash", "a" * 65])
def test_new_rejects_invalid_names(cli_project: Project, capsys, name: str) -> None:
    """new refuses names that are not valid model names, writing nothing."""
    code, _, err = run(capsys, "new", name)
    assert code == 2 and "not a valid model name" in err
    assert list(cli_project.specs.iterdir()) == []


def test_new_from_copies_a_spec_under_the_new_name(cli_project: Project, capsys) -> None:
    """new NAME --from SPEC copies SPEC and renames its model.name, so both specs coexist."""
    cli_project.add_spec("base", BROKEN.replace("seed = -1", "seed = 0").replace('"int3"', '"int8"'))
    code, _, _ = run(capsys, "new", "copy", "--from", "base")
    text = (cli_project.specs / "copy.toml").read_text()
    assert code == 0 and 'name = "copy"' in text and 'name = "int8"' in text
    assert run(capsys, "validate")[0] == 0


def test_schema_prints_the_shipped_schema(cli_project: Project, capsys) -> None:
    """schema prints exactly the JSON Schema specs are validated against."""
    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out) == spec_schema()


def test_list_works_without_a_dodo_file(cli_project: Project, capsys) -> None:
    """`tflmake list --all` lists the tasks of the specs in modelspecs/."""
    copy_mlp(cli_project)
    assert not (cli_project.root / "dodo.py").exists()
    code, out, _ = run(capsys, "list", "--all")
    assert code == 0
    assert "tflite:digits_mlp.int8" in out and "carray:digits_mlp.int8" in out


def test_status_says_never_built_on_a_new_project(cli_project: Project, capsys) -> None:
    """status on an unbuilt project marks every target stale, never built, and exits 1."""
    copy_mlp(cli_project)
    code, out, _ = run(capsys, "status")
    lines = out.splitlines()
    assert code == 1
    assert len(lines) == 15 and lines[-2] == "0 of 13 targets up to date"
    assert lines[-1] == "worker: off (--no-worker or TFLMAKE_WORKER=0)"  # the tests' default (conftest)
    assert all(line.startswith("stale") and line.endswith("never built") for line in lines[:-2])


def test_status_names_the_spec_key_that_changed(cli_project: Project, capsys) -> None:
    """After a build, status is up to date; editing a key makes it name that key."""
    spec = add_npz_model(cli_project)
    assert run(capsys, "dataset")[0] == 0
    code, out, _ = run(capsys, "status", "dataset")
    assert code == 0 and out.startswith("up to date  dataset:tiny")
    spec.write_text(spec.read_text().replace("seed = 0", "seed = 3"))
    code, out, _ = run(capsys, "status", "dataset")
    assert code == 1
    assert out.splitlines()[0] == "stale       dataset:tiny  dataset.seed: 0 -> 3"


def test_status_names_a_changed_input_file(cli_project: Project, capsys) -> None:
    """Editing a file a spec reads makes status name that file."""
    add_npz_model(cli_project)
    assert run(capsys, "dataset")[0] == 0
    np.savez(cli_project.specs / "data.npz", x=np.zeros((20, 4), np.float32), y=np.zeros(20))
    code, out, _ = run(capsys, "status", "dataset")
    assert code == 1 and "input changed: modelspecs/data.npz" in out


def test_status_marks_invalid_specs(cli_project: Project, capsys) -> None:
    """A spec that does not validate shows as invalid in status."""
    cli_project.add_spec("broken", BROKEN)
    code, out, _ = run(capsys, "status")
    assert code == 1 and out.startswith("invalid     spec:broken")


def test_folders_come_from_pyproject_and_the_command_line_wins(cli_project: Project, capsys) -> None:
    """[tool.tflmake] sets the folders; --specs/--build-dir on the command line win."""
    (cli_project.root / "pyproject.toml").write_text('[tool.tflmake]\nspecs = "specs"\nbuild-dir = "out"\n')
    (cli_project.root / "specs").mkdir()
    add_npz_model(cli_project)  # in modelspecs/, not in the configured specs/
    assert run(capsys, "validate")[0] == 2
    assert run(capsys, "--specs", "modelspecs", "dataset")[0] == 0
    assert (cli_project.root / "out/tiny/dataset.npz").is_file()
    assert run(capsys, "dataset", "--specs=modelspecs", "--build-dir", "elsewhere")[0] == 0
    assert (cli_project.root / "elsewhere/tiny/dataset.npz").is_file()


def test_unknown_tool_tflmake_key_is_an_error(cli_project: Project, capsys) -> None:
    """A typo in [tool.tflmake] is an error with a suggestion, not silently ignored."""
    (cli_project.root / "pyproject.toml").write_text('[tool.tflmake]\nbuild_dir = "out"\n')
    code, _, err = run(capsys, "list")
    assert code == 2 and 'tool.tflmake.build_dir: unknown key; did you mean "build-dir"?' in err


def test_verify_checks_the_configured_build_folder(cli_project: Project, capsys) -> None:
    """`tflmake verify` runs tflmake.commands.verify on --build-dir (or [tool.tflmake] build-dir)."""
    model = cli_project.root / "out" / "m"
    model.mkdir(parents=True)
    (model / "a.bin").write_bytes(b"built")
    (model / "manifest.json").write_text(json.dumps({"artifacts": {"a.bin": "0" * 64}}))
    code, out, _ = run(capsys, "--build-dir", "out", "verify")
    assert code == 1 and "out/m/a.bin: sha256 differs from the manifest" in out
    code, out, _ = run(capsys, "verify")
    assert code == 1 and "no manifest found under build/" in out


def test_global_options_are_taken_out_and_doit_verbosity_is_left() -> None:
    """-v alone means --verbose; `-v 2` is doit's verbosity and passes through."""
    settings, rest = parse_options(["-v", "--traceback", "tflite", "-v", "2"], Settings())
    assert settings.verbose and settings.traceback
    assert rest == ["tflite", "-v", "2"]


def fake_command(monkeypatch: pytest.MonkeyPatch, name: str, run_: object) -> None:
    """`tflmake.commands.<name>` replaced by a module whose `run` is `run_`."""
    module = types.ModuleType(f"tflmake.commands.{name}")
    module.run = run_  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"tflmake.commands.{name}", module)


def test_verbose_is_set_only_while_the_command_runs(cli_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """--verbose sets TFLMAKE_VERBOSE for the command and restores the environment after."""
    monkeypatch.delenv("TFLMAKE_VERBOSE", raising=False)
    seen: list[str | None] = []
    fake_command(monkeypatch, "report", lambda args, settings: seen.append(os.environ.get("TFLMAKE_VERBOSE")) or 0)
    assert main(["--verbose", "report"]) == 0
    assert seen == ["1"] and "TFLMAKE_VERBOSE" not in os.environ


@pytest.mark.parametrize("command", ["new", "validate", "schema", "verify", "report"])
def test_every_own_command_gets_its_arguments_and_the_project_settings(
        cli_project: Project, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """One signature for every own command: `run(args, settings)`, settings from options and pyproject."""
    (cli_project.root / "pyproject.toml").write_text('[tool.tflmake]\nspecs = "specs"\n')
    calls: list[tuple[list[str], Settings]] = []
    fake_command(monkeypatch, command, lambda args, settings: calls.append((args, settings)) or 7)
    assert main(["--build-dir", "out", command, "x"]) == 7
    assert calls == [(["x"], Settings(specs="specs", build_dir="out"))]


def test_report_and_verify_use_the_configured_build_folder(cli_project: Project, capsys) -> None:
    """`[tool.tflmake] build-dir` reaches report and verify (they ignored it once)."""
    (cli_project.root / "pyproject.toml").write_text('[tool.tflmake]\nbuild-dir = "elsewhere"\n')
    for command in ("report", "verify"):
        code, out, err = run(capsys, command)
        assert code == 1 and "elsewhere" in out + err, (command, out, err)


def test_help_lists_tflmake_commands(cli_project: Project, capsys) -> None:
    """--help names tflmake's own commands and the doit ones."""
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("new NAME", "validate", "status", "schema", "list --all"):
        assert command in out


def test_python_m_tflmake_runs_the_command(cli_project: Project) -> None:
    """`python -m tflmake` is the same command."""
    copy_mlp(cli_project)
    result = cli_project.tflmake("validate")
    assert result.returncode == 0 and "1 valid" in result.output


def test_installed_console_script_runs(cli_project: Project) -> None:
    """The installed `tflmake` script (next to the interpreter) validates the project."""
    script = shutil.which("tflmake", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("tflmake is not installed next to this interpreter")
    cli_project.add_spec("broken", BROKEN)
    result = subprocess.run([script, "validate"], cwd=cli_project.root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "variant[0].quantize" in result.stdout


@pytest.mark.parametrize("command", [["list", "--all"], ["status"], ["info", "dataset:demo"]])
def test_read_only_commands_do_not_wait_for_a_running_build(
        cli_project: Project, command: list[str]) -> None:
    """`tflmake list`/`status`/`info` answer while another process holds the build lock."""
    from tests.support import MINIMAL_SPEC

    cli_project.add_spec("demo", MINIMAL_SPEC)
    cli_project.build.mkdir()
    holder = os.open(cli_project.build / ".lock", os.O_RDWR | os.O_CREAT)
    # flock locks are per open file description: a child process holds it, as a running build would.
    child = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; "
                              f"fcntl.flock({holder}, fcntl.LOCK_EX); print('held', flush=True); "
                              "time.sleep(60)"], pass_fds=(holder,), stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        run = cli_project.tflmake(*command, timeout=30)
        assert "waiting" not in run.output and "dataset:demo" in run.output, run.output
    finally:
        child.kill()
        os.close(holder)


def test_executor_needs_a_read_write_cache(cli_project: Project, capsys) -> None:
    """--executor without a cache URL in read-write mode: one line, exit 2, before any task loads."""
    assert main(["--executor", "dask-local:2"]) == 2
    assert capsys.readouterr().err == ("tflmake: error: --executor: the cluster fills the shared cache, so it needs "
                                       "a cache URL in read-write mode (--cache-url URL --cache-mode read-write)\n")
    assert main(["--executor", "dask-local:2", "--cache-url", "cache"]) == 2  # mode read (the default)
    assert not (cli_project.root / "build").exists()


def test_executor_typo_is_a_usage_error(cli_project: Project, capsys) -> None:
    assert main(["--executor=dask-loca:2", "--cache-url", "cache", "--cache-mode", "read-write"]) == 2
    assert "--executor: expected dask://HOST:PORT, dask-local:N" in capsys.readouterr().err
