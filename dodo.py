"""doit entry point for this repository; the tasks live in the tflmake package."""

from tflmake.graph.tasks import project_tasks

globals().update(project_tasks(specs_dir="modelspecs", build_dir="build"))
