"""doit's state database for tflmake projects: doit's own sqlite3 file, read in one query.

doit's sqlite3 backend runs one query per task, and sqlite takes and drops a
file lock and looks for a journal around each: a 50-spec no-op made 611
queries and about 4,400 system calls. This backend reads every row when the
database opens, decodes a row the first time its task is asked for, and
writes only the tasks that changed (nothing at all on a no-op). The file and
table are doit's (`doit(task_id, task_data json)`), so either backend reads
what the other wrote. doit finds it as the "tflmake" backend through the
`doit.BACKEND` entry point; doit imports it on every command, hence the lazy sqlite3.

While a StateDB is open, up-to-date checks share file stats (see filestats):
doit saves or removes a task's state here exactly when a task has run.

doit also removes the state of every task a failed task blocked, although those
did not run and their targets are unchanged: the next build would then rebuild
them whatever their inputs hold. The reporter hears of each blocked task right
after the removal and gives its state back (`keep_blocked_state`), so the
content of their inputs decides, not the failure.
"""

from __future__ import annotations

from typing import Any

from doit.dependency import DatabaseException

from tflmake.engine import filestats

TaskState = dict[str, Any]

_open: StateDB | None = None  # the database of the running doit command


class StateDB:
    """The doit backend interface (get, set, in_, remove, remove_all, dump) over one sqlite3 file."""

    desc = "doit's sqlite3 database, read in one query (tflmake)"

    def __init__(self, name: str, codec: Any, *, module_name: str | None = None) -> None:
        import sqlite3

        self.name = name
        self.codec = codec
        try:
            self._conn = sqlite3.connect(name)
            self._conn.execute("create table if not exists doit "
                               "(task_id text not null primary key, task_data json)")
            self._rows: dict[str, str] = dict(self._conn.execute("select task_id, task_data from doit"))
        except sqlite3.DatabaseError as error:
            raise DatabaseException(f"{name} is not a readable doit state database ({error}); "
                                    "remove it and the next build rebuilds everything") from None
        self._tasks: dict[str, TaskState] = {}
        self._dirty: set[str] = set()
        self._removed: dict[str, TaskState] = {}  # this run's removals, for keep_blocked_state
        filestats.start_sharing()
        global _open
        _open = self

    def _state(self, task_id: str) -> TaskState:
        state = self._tasks.get(task_id)
        if state is None:
            row = self._rows.pop(task_id, None)
            state = self._tasks[task_id] = {} if row is None else self.codec.decode(row)
        return state

    def get(self, task_id: str, dependency: str) -> Any:
        """A saved value of a task, or None."""
        return self._state(task_id).get(dependency)

    def set(self, task_id: str, dependency: str, value: Any) -> None:
        filestats.forget()  # doit saves a task's state after it ran
        self._state(task_id)[dependency] = value
        self._dirty.add(task_id)

    def in_(self, task_id: str) -> bool:
        """Whether the task has saved state."""
        return task_id in self._rows or bool(self._tasks.get(task_id))

    def remove(self, task_id: str) -> None:
        filestats.forget()  # doit removes a task's state after it failed (or was blocked)
        state = self._state(task_id)
        if state:
            self._removed[task_id] = state
        self._rows.pop(task_id, None)
        self._tasks.pop(task_id, None)
        self._dirty.discard(task_id)
        self._conn.execute("delete from doit where task_id = ?", (task_id,))

    def restore(self, task_id: str) -> None:
        """Give back the state this run removed for `task_id` (nothing if it had none)."""
        state = self._removed.pop(task_id, None)
        if state is not None:
            filestats.forget()
            self._tasks[task_id] = state
            self._dirty.add(task_id)

    def remove_all(self) -> None:
        filestats.forget()
        self._rows.clear()
        self._tasks.clear()
        self._dirty.clear()
        self._conn.execute("delete from doit")

    def dump(self) -> None:
        """Write the changed tasks in one transaction and close the file."""
        global _open
        if _open is self:
            _open = None
        filestats.stop_sharing()
        try:
            if self._dirty:
                self._conn.executemany("insert or replace into doit values (?, ?)", [
                    (task_id, self.codec.encode(self._tasks[task_id])) for task_id in sorted(self._dirty)])
            self._conn.commit()
        finally:
            self._conn.close()
        self._dirty.clear()


def keep_blocked_state(task_id: str) -> None:
    """Undo doit's removal of a task's state when the task did not run because a dependency failed.

    doit calls the reporter's `add_failure(task, UnmetDependency)` right after removing
    the state; without an open StateDB (another backend) this does nothing.
    """
    if _open is not None:
        _open.restore(task_id)
