"""The project's error types: the CLI and the task runner turn these into one clear line."""


class TflmakeError(Exception):
    """Base of every error tflmake reports without a traceback."""


class SpecError(TflmakeError):
    """A spec file is invalid; carries every problem found in it, one line each."""

    def __init__(self, spec_path: str, problems: list[str]) -> None:
        self.spec_path = spec_path
        self.problems = problems
        super().__init__("\n".join(f"{spec_path}: {problem}" for problem in problems))


class BuildError(TflmakeError):
    """An artifact could not be built for a reason the user can fix."""
