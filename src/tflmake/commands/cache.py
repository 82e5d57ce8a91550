"""`tflmake cache status|push|verify|gc`: one doit command, so it sees the same tasks and state as a build.

Only the command's description lives here: `tflmake` lists it on every run,
so the cache code (see operations) loads when the command runs.
"""

from __future__ import annotations

from doit.cmd_base import DoitCmdBase


class CacheCommand(DoitCmdBase):  # type: ignore[misc]
    """The doit command behind `tflmake cache`."""

    name = "cache"
    doc_purpose = "the artifact caches (shared and local): status, push, verify, gc"
    doc_usage = ("status [TASK ...] | push | verify [--sample N] [--rebuild] | "
                 "gc [--max-size S] [--older-than A]; each also [--local]")
    doc_description = (
        "status: hit or miss for each stale cacheable task; on a miss, what differs from the\n"
        "nearest entry. push: publish this build's up-to-date artifacts (mode read-write).\n"
        "verify: re-hash blobs; --rebuild also rebuilds cached tasks locally and compares bytes.\n"
        "gc: trim a folder cache by age and size (least recently used entries first).\n"
        "Each acts on the shared cache when one is configured, else (or with --local) on the\n"
        "local cache in ~/.cache/tflmake; gc --local alone trims it to its local-max-mb bound.\n"
        "Exit code 1 when something is wrong or missing.")
    # doit stops reading options at the first word: the action's options are parsed with it.
    cmd_options = ()

    def _execute(self, pos_args: list[str] | None = None) -> int:
        from tflmake.commands.cache_operations import CacheOperations
        from tflmake.errors import TflmakeError

        operations = CacheOperations(self.task_list, self.dep_manager, self.outstream)
        try:
            return operations.run(pos_args or ["status"])
        except TflmakeError as error:
            self.outstream.write(f"tflmake: error: {error}\n")
            return 2
        finally:
            self.dep_manager.close()
