"""Run ``Work`` under the scheduler: one worker wrapper, one reconciliation.

``run_work`` turns the work's items into scheduler tasks (dependency edges within the
selection, reversed for destroys; pools from clouds' ``max_parallel``; priorities from the
critical path of last durations), runs each item's step with SIGINT/SIGTERM forwarded to
terraform, turns any exception of a step into that item's failure (``Steps.failed``), and
returns one result per item in report order, skipped items included (``Steps.skipped``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

from orchestrator.engine.context import Engine
from orchestrator.engine.work import Work, WorkItem
from orchestrator.graph import StackGraph
from orchestrator.scheduler import Outcome, Task, TaskResult
from orchestrator.scheduler import run as run_dag
from orchestrator.terraform import runner as tf

T = TypeVar("T")


class Steps(Protocol[T]):
    """What one kind of work does per item; ``run`` may raise, the others may not."""

    def run(self, item: WorkItem) -> T: ...

    def failed(self, item: WorkItem, exc: BaseException) -> T: ...

    def skipped(self, item: WorkItem, reason: str) -> T: ...

    def finish(self, item: WorkItem, value: T, elapsed: float) -> Outcome[T]:
        """Record and report a finished item; ``Outcome.ok`` False skips its dependents."""
        ...


def build_tasks(
    graph: StackGraph, work: Work, weights: Mapping[str, float], limits: Mapping[str, int]
) -> list[Task]:
    """Scheduler tasks for ``work`` (pure)."""
    ids = work.ids
    wanted = set(ids)
    sub = graph.subgraph(wanted)
    if work.order == "reverse":
        sub.graph = sub.graph.reverse(copy=True)
    priorities = sub.critical_path_lengths(dict(weights))
    tasks = []
    for sid in ids:
        if work.order == "none":
            related: set[str] = set()
        elif work.order == "reverse":
            related = graph.downstream_of([sid])
        else:
            related = graph.upstream_of([sid])
        cloud = graph.stacks[sid].cloud
        pool = cloud if cloud is not None and cloud in limits else None
        tasks.append(Task(sid, frozenset(related & wanted), pool=pool, priority=priorities.get(sid, 1.0)))
    return tasks


def reconcile(
    work: Work, values: Mapping[str, T], tasks: Mapping[str, TaskResult[T]], steps: Steps[T]
) -> list[T]:
    """One result per item in report order: what ran, else failed (a step that raised past
    the wrapper) or skipped with the scheduler's reason (pure apart from ``steps``)."""
    out: list[T] = []
    for item in work.result_order():
        if item.stack in values:
            out.append(values[item.stack])
            continue
        tr = tasks.get(item.stack)
        if tr is not None and tr.error is not None:
            out.append(steps.failed(item, tr.error))
        else:
            out.append(steps.skipped(item, (tr.reason if tr is not None else None) or "not started"))
    return out


class StepWorker(Generic[T]):
    """The one worker wrapper: time the step, turn any exception into the item's failure."""

    def __init__(self, work: Work, steps: Steps[T]) -> None:
        self.items = work.by_id()
        self.steps = steps
        self.values: dict[str, T] = {}
        self._lock = threading.Lock()

    def __call__(self, sid: str) -> Outcome[T]:
        item = self.items[sid]
        started = time.monotonic()
        try:
            value = self.steps.run(item)
        except Exception as exc:  # a bug in one stack must not lose the others' results
            value = self.steps.failed(item, exc)
        outcome = self.steps.finish(item, value, time.monotonic() - started)
        with self._lock:
            self.values[sid] = outcome.value
        return outcome


def run_work(engine: Engine, work: Work, steps: Steps[T], *, fail_fast: bool = False) -> list[T]:
    """Run every item of ``work`` in order under the scheduler; one result per item."""
    graph = engine.ws.graph
    weights = {sid: engine.timings.estimated(engine.stack(sid).slug, work.op) for sid in work.ids}
    tasks = build_tasks(graph, work, weights, engine.pool_limits())
    worker: StepWorker[T] = StepWorker(work, steps)
    restore = tf.install_signal_forwarding(engine.cancel)
    try:
        results = run_dag(
            tasks,
            worker,
            parallelism=engine.parallelism,
            pool_limits=engine.pool_limits(),
            fail_fast=fail_fast,
            cancel=engine.cancel.interrupted,
            on_skip=lambda sid, why: engine.progress.done(sid, "skipped", why),
        )
    finally:
        restore()
    return reconcile(work, worker.values, results, steps)
