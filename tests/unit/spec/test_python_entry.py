"""A python source's local imports are its dependencies, and each spec imports its entry in isolation."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import write_spec
from tflmake.spec.python_entry import isolated_import, local_imports

PYTHON_SPEC = """
[model.source]
type = "python"
entry = "mymodels.net:build"
{extra}

[dataset]
type = "digits"

[[variant]]
name = "float32"
"""


def write(folder: Path, relative: str, text: str = "") -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A spec folder with a package whose entry imports local modules four ways."""
    write(tmp_path, "mymodels/__init__.py")
    write(tmp_path, "mymodels/net.py", """
        import numpy
        from . import helper
        from mymodels.blocks import conv_block
        import settings
        """)
    write(tmp_path, "mymodels/helper.py", "from .deep import UNITS\n")
    write(tmp_path, "mymodels/deep.py", "UNITS = 16\n")
    write(tmp_path, "mymodels/blocks.py", "def conv_block(): pass\n")
    write(tmp_path, "mymodels/unused.py", "")
    write(tmp_path, "settings.py", "")
    return tmp_path


def test_local_imports_follow_every_import_form_transitively(package: Path) -> None:
    """Relative, absolute, from-package and top-level imports are followed; others are not."""
    assert local_imports(str(package), "mymodels.net") == [
        "mymodels/__init__.py", "mymodels/blocks.py", "mymodels/deep.py", "mymodels/helper.py",
        "mymodels/net.py", "settings.py"]


def test_local_imports_see_an_import_added_to_an_edited_file(package: Path) -> None:
    """The import list is re-read when a file changes (its size and mtime are part of the memo)."""
    assert "mymodels/unused.py" not in local_imports(str(package), "mymodels.net")
    write(package, "mymodels/helper.py", "from .deep import UNITS\nfrom . import unused\n")
    assert "mymodels/unused.py" in local_imports(str(package), "mymodels.net")


def test_sibling_imports_of_scripts_that_extend_sys_path_are_dependencies(tmp_path: Path) -> None:
    """`import keras_model` beside the importing file (reference code does sys.path tricks) counts."""
    write(tmp_path, "kws/__init__.py")
    write(tmp_path, "kws/net.py", "import keras_model\n")
    write(tmp_path, "kws/keras_model.py")
    assert local_imports(str(tmp_path), "kws.net") == ["kws/__init__.py", "kws/keras_model.py", "kws/net.py"]


def test_savedmodel_task_depends_on_every_local_import_and_listed_source(package: Path) -> None:
    """Editing helper.py (or a file named in `sources`) must make the savedmodel task stale."""
    from tflmake.graph.tasks import savedmodel_task
    from tflmake.paths import Layout
    from tflmake.spec.load import load_spec

    write(package, "configs/a.json", "{}")
    write(package, "configs/nested/b.json", "{}")
    write(package, "weights.bin", "w")
    spec = load_spec(write_spec(package, PYTHON_SPEC.format(extra='sources = ["configs", "weights.bin"]')))
    file_dep = [Path(path).relative_to(package).as_posix()
                for path in savedmodel_task(spec, Layout(str(package / "build")))["file_dep"]]
    assert {"mymodels/helper.py", "mymodels/deep.py", "settings.py", "configs/a.json",
            "configs/nested/b.json", "weights.bin"} <= set(file_dep)
    assert "mymodels/unused.py" not in file_dep


def test_task_cache_notices_a_new_local_import(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached spec is described afresh when an edited module now imports a new file."""
    from tflmake.graph.tasks import load_models
    from tflmake.paths import Layout

    monkeypatch.chdir(package)
    spec_path = write_spec(package, PYTHON_SPEC.format(extra=""))
    layout = Layout("build")
    Path("build").mkdir()
    (first, _), = load_models([spec_path], layout)[0]
    write(package, "mymodels/extra.py")
    write(package, "mymodels/deep.py", "from .extra import *\nUNITS = 16\n")
    (_, tasks), = load_models([spec_path], layout)[0]
    savedmodel = next(task for task in tasks if task["basename"] == "savedmodel")
    assert "mymodels/extra.py" in savedmodel["file_dep"]


def test_missing_files_reports_every_missing_file_at_once(tmp_path: Path) -> None:
    """A missing entry module does not hide a missing data file or listed source."""
    from tests.support import spec_problems

    text = PYTHON_SPEC.format(extra='sources = ["gone.json"]').replace(
        'type = "digits"', 'type = "npz"\npath = "missing.npz"')
    problems = spec_problems(tmp_path, text)
    assert any("model.source.entry" in problem for problem in problems)
    assert any("model.source.sources[0]: no such file or directory" in problem for problem in problems)
    assert any("dataset.path: no such file" in problem for problem in problems)


def test_two_folders_with_modules_of_the_same_name_get_their_own(tmp_path: Path) -> None:
    """Importing one spec's entry must not hand its `keras_model` to the next spec's entry."""
    for name, units in (("first", 16), ("second", 24)):
        write(tmp_path, f"{name}/net.py", """
            import os, sys
            sys.path.insert(0, os.path.dirname(__file__))
            import keras_model
            def build():
                return keras_model.UNITS
            """)
        write(tmp_path, f"{name}/keras_model.py", f"UNITS = {units}\n")
    path_before = list(sys.path)
    built = []
    for name in ("first", "second"):
        with isolated_import(str(tmp_path / name), "net") as module:
            built.append(module.build())
    assert built == [16, 24]
    assert "keras_model" not in sys.modules and "net" not in sys.modules
    assert sys.path == path_before


def test_isolated_import_puts_back_a_module_it_shadowed(tmp_path: Path) -> None:
    """A local `json.py` is used by the entry, and the real json module is back afterwards."""
    import json

    write(tmp_path, "json.py", "LOCAL = True\n")
    write(tmp_path, "entry.py", "import json\nUSES_LOCAL = getattr(json, 'LOCAL', False)\n")
    with isolated_import(str(tmp_path), "entry") as module:
        assert module.USES_LOCAL
    assert sys.modules["json"] is json
