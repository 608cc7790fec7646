"""Where the groups of a study and the trials of a search run: in-process, in worker processes, on Ray.

Every executor has the same three calls: ``submit(key, fn, *args)`` starts a task, ``next_result()``
returns ``(key, value)`` of a finished one (re-raising its exception), and ``close()`` ends the
workers. Results stream back to the driver, which alone writes the store; a task is a plain
module-level function of picklable arguments, so the same task gives the same numbers wherever it
runs (each group and trial seeds its own generators; nothing depends on which process runs it).

    with executor("local", workers=4) as ex:
        ex.submit(0, run_group, group, y, test)
        key, results = ex.next_result()

Ray is imported only by ``RayExecutor``, never on the default path.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from lstmcast.errors import InputError

EXECUTORS = ("local", "ray")
# imported once by the fork server, so each worker starts with torch and lstmcast loaded
_PRELOAD = ["lstmcast.experiments.study", "lstmcast.experiments.search"]


def default_workers() -> int:
    """Return the cores this process may use (one worker per core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_workers(workers: int | None) -> int:
    """Return ``workers`` (None: one per core) after checking it is a positive integer."""
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a whole number of processes, at least 1; got {workers!r}")
    return workers


def executor(kind: str = "local", workers: int | None = None, address: str | None = None, tasks: int | None = None):
    """Return the executor ``kind`` ("local" or "ray") for at most ``tasks`` concurrent tasks.

    local: ``workers`` processes (None: one per core); one worker, or one task, runs in-process.
    ray: tasks on the Ray cluster at ``address`` (None: a running local Ray, or a new one).
    """
    if kind not in EXECUTORS:
        raise InputError(f"executor must be one of {', '.join(EXECUTORS)}; got {kind!r}")
    if kind == "ray":
        return RayExecutor(address)
    if address is not None:
        raise InputError("address names a Ray cluster; pass executor='ray' (--executor ray) with it")
    workers = check_workers(workers)
    if tasks is not None:
        workers = min(workers, tasks)
    return InlineExecutor() if workers <= 1 else ProcessExecutor(workers)


class InlineExecutor:
    """Runs each task in this process when its result is asked for, in submission order."""

    slots = 1  # tasks that run at once

    def __init__(self):
        self._queue: deque = deque()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(abort=exc_type is not None)
        return False

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, key, fn, *args) -> None:
        self._queue.append((key, fn, args))

    def next_result(self):
        key, fn, args = self._queue.popleft()
        return key, fn(*args)

    def close(self, abort: bool = False) -> None:
        self._queue.clear()


class ProcessExecutor(InlineExecutor):
    """Runs tasks in ``workers`` processes forked from a server that has lstmcast and torch loaded.

    A fork server rather than a plain fork: the driver may already have started torch's thread
    pools, which do not survive a fork; the server forks from a clean, single-threaded process.
    """

    def __init__(self, workers: int):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self.slots = workers
        self._futures: dict = {}

    @property
    def pending(self) -> int:
        return len(self._futures)

    def submit(self, key, fn, *args) -> None:
        self._futures[self._pool.submit(fn, *args)] = key

    def next_result(self):
        done, _ = wait(self._futures, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        key = self._futures.pop(future)
        return key, future.result()  # a task's exception is raised here, in the driver

    def close(self, abort: bool = False) -> None:
        """End the workers; ``abort`` (the driver failed or was interrupted) stops the tasks still running."""
        if abort:
            # a failed or interrupted driver must not wait for hours of groups nobody will store;
            # the pool has no public way to stop running tasks
            processes = list(getattr(self._pool, "_processes", {}).values())
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=10)
        self._futures.clear()
        self._pool.shutdown(wait=not abort, cancel_futures=True)


class RayExecutor(InlineExecutor):
    """Runs tasks as Ray tasks (one CPU each) on the cluster at ``address``; results come back as they finish."""

    def __init__(self, address: str | None = None):
        try:
            import ray
        except ImportError:
            raise InputError("the Ray executor needs Ray: pip install 'lstmcast[ray]' (or pip install ray)") from None
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, logging_level="WARNING")
            except ConnectionError as exc:
                raise InputError(f"cannot reach the Ray cluster at {address!r} ({exc}); start it with "
                                 "'ray start --head' or check --address") from None
        self._refs: dict = {}
        self._remote: dict = {}
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))

    @property
    def pending(self) -> int:
        return len(self._refs)

    def submit(self, key, fn, *args) -> None:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(num_cpus=1, max_retries=0)(fn)
        self._refs[remote.remote(*args)] = key

    def next_result(self):
        (ref,), _ = self._ray.wait(list(self._refs), num_returns=1)
        key = self._refs.pop(ref)
        try:
            return key, self._ray.get(ref)
        except self._ray.exceptions.RayTaskError as exc:
            cause = exc.as_instanceof_cause()
            # the task's own error (an InputError, a diverged training) reaches the caller as itself
            original = getattr(exc, "cause", None)
            raise (original if isinstance(original, BaseException) else cause) from None

    def close(self, abort: bool = False) -> None:
        for ref in self._refs:
            self._ray.cancel(ref, force=abort)
        self._refs.clear()
