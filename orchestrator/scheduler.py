"""Run a DAG of tasks with bounded parallelism (generic: it knows nothing about terraform).

- A task starts as soon as its own dependencies are done: no level barriers.
- At most ``parallelism`` tasks run at once, and at most ``pool_limits[pool]`` of a pool
  (a cloud target's ``max_parallel``).
- Among ready tasks, the highest ``priority`` goes first (the caller passes the longest
  remaining critical path), ties broken by id, so runs are deterministic.
- A failed task marks every task downstream of it ``skipped``; independent tasks finish.
  ``fail_fast`` (or a cancel event) stops starting new tasks; what did not start is skipped.

The decisions live in ``ScheduleState`` (pure); ``run`` drives it with threads and
``simulate`` with simulated durations (for tests and bench/scheduler.py).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
TaskStatus = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Task:
    id: str
    deps: frozenset[str] = frozenset()
    pool: str | None = None
    priority: float = 0.0


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a worker returns: ``ok`` False marks the task failed (its dependents skipped)."""

    ok: bool
    value: T
    failure: str = "failed"  # how dependents' skip reason names it ("needs re-approval", ...)


@dataclass
class TaskResult(Generic[T]):
    id: str
    status: TaskStatus
    value: T | None = None
    error: BaseException | None = None
    reason: str | None = None  # why it was skipped
    started: float | None = None
    finished: float | None = None

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


def check_tasks(tasks: Iterable[Task]) -> dict[str, Task]:
    by_id: dict[str, Task] = {}
    for t in tasks:
        if t.id in by_id:
            raise ValueError(f"duplicate task id {t.id!r}")
        by_id[t.id] = t
    for t in by_id.values():
        unknown = t.deps - by_id.keys()
        if unknown:
            raise ValueError(f"task {t.id!r} depends on unknown tasks {sorted(unknown)}")
    return by_id


@dataclass
class ScheduleState:
    """The pure core: which tasks may start now, and what a finish or failure implies."""

    tasks: dict[str, Task]
    parallelism: int
    pool_limits: Mapping[str, int] = field(default_factory=dict)
    fail_fast: bool = False

    def __post_init__(self) -> None:
        if self.parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        self.waiting: dict[str, set[str]] = {tid: set(t.deps) for tid, t in self.tasks.items()}
        self.dependents: dict[str, set[str]] = {tid: set() for tid in self.tasks}
        for tid, t in self.tasks.items():
            for d in t.deps:
                self.dependents[d].add(tid)
        self.ready: list[tuple[float, str]] = []
        self.running: set[str] = set()
        self.pool_running: dict[str, int] = {}
        self.status: dict[str, TaskStatus] = {}
        self.reasons: dict[str, str] = {}
        self.stopped: str | None = None  # why no more tasks start
        for tid, deps in self.waiting.items():
            if not deps:
                heapq.heappush(self.ready, (-self.tasks[tid].priority, tid))

    def _pool_full(self, task: Task) -> bool:
        if task.pool is None or task.pool not in self.pool_limits:
            return False
        return self.pool_running.get(task.pool, 0) >= self.pool_limits[task.pool]

    def startable(self) -> list[str]:
        """Tasks to start now, best first; marks them running."""
        if self.stopped is not None:
            return []
        picked: list[str] = []
        held: list[tuple[float, str]] = []
        while self.ready and len(self.running) < self.parallelism:
            item = heapq.heappop(self.ready)
            task = self.tasks[item[1]]
            if self._pool_full(task):
                held.append(item)
                continue
            self.running.add(task.id)
            if task.pool is not None:
                self.pool_running[task.pool] = self.pool_running.get(task.pool, 0) + 1
            picked.append(task.id)
        for item in held:
            heapq.heappush(self.ready, item)
        return picked

    def finish(self, tid: str, ok: bool, failure: str = "failed") -> list[str]:
        """Record the end of a running task; returns the tasks newly skipped because of it."""
        self.running.discard(tid)
        pool = self.tasks[tid].pool
        if pool is not None:
            self.pool_running[pool] -= 1
        self.status[tid] = "done" if ok else "failed"
        if ok:
            for d in sorted(self.dependents[tid]):
                self.waiting[d].discard(tid)
                if not self.waiting[d] and d not in self.status:
                    heapq.heappush(self.ready, (-self.tasks[d].priority, d))
            return []
        if self.fail_fast and self.stopped is None:
            self.stopped = f"not started: --fail-fast after '{tid}' failed"
        return self._skip_downstream(tid, f"depends on '{tid}', which {failure}")

    def _skip_downstream(self, tid: str, reason: str) -> list[str]:
        skipped: list[str] = []
        stack = sorted(self.dependents[tid])
        while stack:
            d = stack.pop()
            if d in self.status or d in self.running:
                continue
            self.status[d] = "skipped"
            self.reasons[d] = reason
            skipped.append(d)
            stack.extend(sorted(self.dependents[d]))
        self.ready = [item for item in self.ready if item[1] not in self.status]
        heapq.heapify(self.ready)
        return skipped

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason

    def finished(self) -> bool:
        if self.running:
            return False
        if self.stopped is not None:
            return True
        return len(self.status) == len(self.tasks)

    def leftover(self) -> list[str]:
        """Tasks that never ran (after a stop): they are reported skipped."""
        return sorted(t for t in self.tasks if t not in self.status and t not in self.running)


@dataclass
class _Results(Generic[T]):
    """The results of a threaded run as they come in; skips are reported as they are recorded."""

    on_skip: Callable[[str, str], None] | None
    by_id: dict[str, TaskResult[T]] = field(default_factory=dict)

    def skip(self, tid: str, reason: str) -> None:
        self.by_id[tid] = TaskResult(tid, "skipped", reason=reason)
        if self.on_skip is not None:
            self.on_skip(tid, reason)

    def finished(self, tid: str, fut: Future[Outcome[T]], started: float) -> tuple[bool, str]:
        """Record a finished worker's result; ``(ok, failure)`` for the schedule."""
        end = time.monotonic()
        try:
            outcome = fut.result()
            ok, failure = outcome.ok, outcome.failure
            self.by_id[tid] = TaskResult(
                tid, "done" if ok else "failed", outcome.value, None, None, started, end
            )
        except BaseException as exc:  # a worker's error fails its task, not the run
            self.by_id[tid] = TaskResult(tid, "failed", None, exc, None, started, end)
            return False, "failed"
        return ok, failure

    def not_run(self, state: ScheduleState) -> None:
        """Skip what never started (after a stop) and what the schedule skipped unreported."""
        for tid in state.leftover():
            self.skip(tid, state.stopped or "not started")
        for tid, st in state.status.items():
            if st == "skipped" and tid not in self.by_id:
                self.skip(tid, state.reasons.get(tid, "skipped"))


def run(
    tasks: Iterable[Task],
    worker: Callable[[str], Outcome[T]],
    *,
    parallelism: int,
    pool_limits: Mapping[str, int] | None = None,
    fail_fast: bool = False,
    cancel: threading.Event | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> dict[str, TaskResult[T]]:
    """Run every task with threads; returns a result per task (done, failed or skipped)."""
    state = ScheduleState(check_tasks(tasks), parallelism, pool_limits or {}, fail_fast)
    results: _Results[T] = _Results(on_skip)
    futures: dict[Future[Outcome[T]], str] = {}
    started: dict[str, float] = {}
    if not state.tasks:
        return results.by_id
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="orchestrate") as pool:
        while not state.finished():
            if cancel is not None and cancel.is_set():
                state.stop("not started: interrupted")
            for tid in state.startable():
                started[tid] = time.monotonic()
                futures[pool.submit(worker, tid)] = tid
            if not futures:
                break
            # A short timeout keeps the main thread responsive to signals and the cancel event.
            done, _ = wait(list(futures), timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                tid = futures.pop(fut)
                ok, failure = results.finished(tid, fut, started[tid])
                for s in state.finish(tid, ok, failure):
                    results.skip(s, state.reasons[s])
    results.not_run(state)
    return results.by_id


@dataclass(frozen=True)
class Simulation:
    makespan: float
    starts: dict[str, float]
    ends: dict[str, float]
    skipped: list[str]


def simulate(
    tasks: Iterable[Task],
    durations: Mapping[str, float],
    *,
    parallelism: int,
    pool_limits: Mapping[str, int] | None = None,
    failing: Iterable[str] = (),
    fail_fast: bool = False,
) -> Simulation:
    """Discrete-event run of the same decisions with simulated durations (pure)."""
    state = ScheduleState(check_tasks(tasks), parallelism, pool_limits or {}, fail_fast)
    fails = set(failing)
    now = 0.0
    events: list[tuple[float, str]] = []
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    skipped: list[str] = []
    while not state.finished():
        for tid in state.startable():
            starts[tid] = now
            heapq.heappush(events, (now + durations[tid], tid))
        if not events:
            break
        now, tid = heapq.heappop(events)
        ends[tid] = now
        skipped += state.finish(tid, tid not in fails)
    skipped += state.leftover()
    return Simulation(now, starts, ends, sorted(skipped))


def lower_bound(tasks: Iterable[Task], durations: Mapping[str, float], parallelism: int) -> float:
    """max(critical path, total work / parallelism): no schedule can finish sooner."""
    by_id = check_tasks(tasks)
    longest: dict[str, float] = {}
    # In dependency order every dependency's longest path is known before its dependents'.
    for tid in _topological(by_id):
        longest[tid] = durations[tid] + max((longest[d] for d in by_id[tid].deps), default=0.0)
    critical = max(longest.values(), default=0.0)
    return max(critical, sum(durations[t] for t in by_id) / parallelism)


def _topological(by_id: Mapping[str, Task]) -> list[str]:
    indeg = {tid: len(t.deps) for tid, t in by_id.items()}
    dependents: dict[str, list[str]] = {tid: [] for tid in by_id}
    for tid, t in by_id.items():
        for d in t.deps:
            dependents[d].append(tid)
    queue = sorted(tid for tid, n in indeg.items() if n == 0)
    out: list[str] = []
    while queue:
        tid = queue.pop()
        out.append(tid)
        for d in dependents[tid]:
            indeg[d] -= 1
            if indeg[d] == 0:
                queue.append(d)
    if len(out) != len(by_id):
        raise ValueError("the tasks have a dependency cycle")
    return out


def level_barrier_makespan(
    tasks: Iterable[Task], durations: Mapping[str, float], *, parallelism: int
) -> float:
    """Makespan when each dependency level waits for the previous one to finish entirely
    (Atlantis' execution_order_group), tasks of a level run longest first."""
    by_id = check_tasks(tasks)
    level: dict[str, int] = {}
    for tid in _topological(by_id):
        level[tid] = 1 + max((level[d] for d in by_id[tid].deps), default=-1)
    total = 0.0
    for lv in sorted(set(level.values())):
        group = [t for t in by_id if level[t] == lv]
        sim = simulate(
            [Task(t, priority=durations[t]) for t in group],
            durations,
            parallelism=parallelism,
        )
        total += sim.makespan
    return total
