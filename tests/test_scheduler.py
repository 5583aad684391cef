"""The scheduler's decisions, with simulated durations and with real threads."""

from __future__ import annotations

import random
import threading
import time

import pytest

from orchestrator.scheduler import (
    Outcome,
    ScheduleState,
    Task,
    level_barrier_makespan,
    lower_bound,
    run,
    simulate,
)


def chain_and_shorts() -> tuple[list[Task], dict[str, float]]:
    # a1 -> a2 -> a3 is long; b* are short and independent; c depends on b1 only.
    tasks = [
        Task("a1", priority=30),
        Task("a2", frozenset({"a1"}), priority=20),
        Task("a3", frozenset({"a2"}), priority=10),
        Task("b1", priority=2),
        Task("b2", priority=1),
        Task("c", frozenset({"b1"}), priority=1),
    ]
    durations = {"a1": 10, "a2": 10, "a3": 10, "b1": 1, "b2": 1, "c": 1}
    return tasks, durations


def test_a_stack_starts_when_its_own_dependencies_finish_not_its_level() -> None:
    tasks, durations = chain_and_shorts()
    sim = simulate(tasks, durations, parallelism=2)
    # c (level 1) starts as soon as b1 is done and a slot is free, long before a1 (level 0) ends.
    assert sim.starts["c"] <= 2
    assert sim.starts["c"] < sim.ends["a1"]
    assert sim.makespan == pytest.approx(30)


def test_level_barriers_are_slower_on_the_same_dag() -> None:
    # a (10) and b (1) have no dependencies; c (10) needs b only.
    tasks = [Task("a", priority=10), Task("b", priority=11), Task("c", frozenset({"b"}), priority=10)]
    durations = {"a": 10.0, "b": 1.0, "c": 10.0}
    assert simulate(tasks, durations, parallelism=2).makespan == pytest.approx(11)
    assert level_barrier_makespan(tasks, durations, parallelism=2) == pytest.approx(20)


def test_longest_critical_path_goes_first_among_ready_tasks() -> None:
    tasks = [Task("short", priority=1), Task("long", priority=5), Task("mid", priority=3)]
    sim = simulate(tasks, {"short": 1, "long": 1, "mid": 1}, parallelism=1)
    assert sorted(sim.starts, key=sim.starts.__getitem__) == ["long", "mid", "short"]


def test_ties_are_broken_by_id() -> None:
    tasks = [Task(x) for x in ("c", "a", "b")]
    sim = simulate(tasks, dict.fromkeys("abc", 1.0), parallelism=1)
    assert sorted(sim.starts, key=sim.starts.__getitem__) == ["a", "b", "c"]


def test_pool_limit_caps_concurrency_of_one_cloud_target() -> None:
    tasks = [Task(f"p{i}", pool="aws-prod") for i in range(4)] + [Task("g", pool="gcp")]
    durations = {t.id: 1.0 for t in tasks}
    sim = simulate(tasks, durations, parallelism=4, pool_limits={"aws-prod": 2})
    at_zero = [t for t, s in sim.starts.items() if s == 0]
    assert sorted(at_zero) == ["g", "p0", "p1"]
    assert sim.makespan == pytest.approx(2)


def test_failure_skips_dependents_and_independents_finish() -> None:
    tasks, durations = chain_and_shorts()
    sim = simulate(tasks, durations, parallelism=2, failing=["a1"])
    assert sim.skipped == ["a2", "a3"]
    assert {"b1", "b2", "c"} <= set(sim.ends)


def test_fail_fast_starts_nothing_after_a_failure() -> None:
    tasks, durations = chain_and_shorts()
    sim = simulate(tasks, durations, parallelism=1, failing=["a1"], fail_fast=True)
    assert set(sim.ends) == {"a1"}
    assert sim.skipped == ["a2", "a3", "b1", "b2", "c"]


def test_unknown_dependency_and_bad_parallelism_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown"):
        simulate([Task("a", frozenset({"zz"}))], {"a": 1}, parallelism=1)
    with pytest.raises(ValueError, match="parallelism"):
        ScheduleState({"a": Task("a")}, 0)


def test_random_dags_stay_within_ten_percent_of_the_lower_bound() -> None:
    rng = random.Random(7)
    worst = 0.0
    for _ in range(5):
        n = 120
        tasks = []
        durations = {}
        for i in range(n):
            deps = frozenset(f"t{j}" for j in rng.sample(range(i), k=min(i, rng.randint(0, 3))))
            tasks.append(Task(f"t{i}", deps))
            durations[f"t{i}"] = rng.uniform(1, 20)
        # Priority = longest path to a sink, as the engine computes it.
        by_id = {t.id: t for t in tasks}
        tail: dict[str, float] = {}
        for t in reversed(tasks):
            succ = [u for u in tasks if t.id in u.deps]
            tail[t.id] = durations[t.id] + max((tail[u.id] for u in succ), default=0.0)
        tasks = [Task(t.id, t.deps, priority=tail[t.id]) for t in by_id.values()]
        ratio = simulate(tasks, durations, parallelism=4).makespan / lower_bound(tasks, durations, 4)
        worst = max(worst, ratio)
    assert worst <= 1.10


def test_threads_respect_parallelism_and_pools() -> None:
    lock = threading.Lock()
    running: dict[str, int] = {"all": 0, "pool": 0}
    peak = {"all": 0, "pool": 0}

    def worker(tid: str) -> Outcome[str]:
        in_pool = tid.startswith("p")
        with lock:
            running["all"] += 1
            running["pool"] += in_pool
            peak["all"] = max(peak["all"], running["all"])
            peak["pool"] = max(peak["pool"], running["pool"])
        time.sleep(0.05)
        with lock:
            running["all"] -= 1
            running["pool"] -= in_pool
        return Outcome(True, tid)

    tasks = [Task(f"p{i}", pool="x") for i in range(5)] + [Task(f"q{i}") for i in range(5)]
    results = run(tasks, worker, parallelism=3, pool_limits={"x": 1})
    assert all(r.status == "done" for r in results.values())
    assert peak == {"all": 3, "pool": 1}


def test_threads_a_raising_worker_fails_its_task_and_skips_dependents() -> None:
    def worker(tid: str) -> Outcome[None]:
        if tid == "a":
            raise RuntimeError("boom")
        return Outcome(True, None)

    results = run([Task("a"), Task("b", frozenset({"a"})), Task("c")], worker, parallelism=2)
    assert results["a"].status == "failed" and isinstance(results["a"].error, RuntimeError)
    assert results["b"].status == "skipped" and results["b"].reason == "depends on 'a', which failed"
    assert results["c"].status == "done"


def test_threads_cancel_stops_starting_new_tasks() -> None:
    cancel = threading.Event()

    def worker(tid: str) -> Outcome[None]:
        cancel.set()
        return Outcome(True, None)

    results = run([Task("a", priority=2), Task("b", priority=1)], worker, parallelism=1, cancel=cancel)
    assert results["a"].status == "done"
    assert results["b"].status == "skipped" and "interrupted" in (results["b"].reason or "")


def test_lower_bound_is_the_critical_path_or_the_work_spread_over_the_slots() -> None:
    tasks, durations = chain_and_shorts()
    assert lower_bound(tasks, durations, 2) == 30  # a1 -> a2 -> a3
    assert lower_bound(tasks, durations, 1) == 33  # all the work on one slot
    diamond = [Task("a"), Task("b", frozenset("a")), Task("c", frozenset("a")), Task("d", frozenset("bc"))]
    assert lower_bound(diamond, {"a": 1, "b": 5, "c": 2, "d": 1}, 8) == 7  # a, b, d
    chain = [Task(f"t{i}", frozenset({f"t{i - 1}"}) if i else frozenset()) for i in range(5000)]
    assert lower_bound(chain, {t.id: 1.0 for t in chain}, 4) == 5000  # no recursion limit
    with pytest.raises(ValueError, match="cycle"):
        lower_bound([Task("x", frozenset("y")), Task("y", frozenset("x"))], {"x": 1, "y": 1}, 1)


def test_run_reports_each_skip_once_with_its_reason() -> None:
    tasks = [Task("a"), Task("b", frozenset("a")), Task("c", frozenset("b")), Task("d")]
    skips: list[tuple[str, str]] = []

    def worker(tid: str) -> Outcome[str]:
        if tid == "d":
            raise RuntimeError("boom")
        return Outcome(tid != "a", tid, failure="needs re-approval")

    results = run(tasks, worker, parallelism=2, on_skip=lambda tid, why: skips.append((tid, why)))
    assert {t: r.status for t, r in results.items()} == {
        "a": "failed",
        "b": "skipped",
        "c": "skipped",
        "d": "failed",
    }
    assert isinstance(results["d"].error, RuntimeError) and results["d"].duration is not None
    why = "depends on 'a', which needs re-approval"
    assert sorted(skips) == [("b", why), ("c", why)]
    assert results["b"].reason == results["c"].reason == why
