"""doit entry point for this repository; the tasks live in the tflmake package."""

from tflmake.engine.noop import exit_if_nothing_changed

# Plain `doit` with nothing changed since the last full build: one line, before any task loads.
exit_if_nothing_changed(__file__, specs_dir="modelspecs", build_dir="build")

from tflmake.graph.tasks import project_tasks  # noqa: E402

globals().update(project_tasks(specs_dir="modelspecs", build_dir="build"))
