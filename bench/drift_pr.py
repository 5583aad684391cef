"""Git cost of drift pull requests on a large repository (prints figures).

    python bench/drift_pr.py [--files 5000] [--stacks 50]

A repository with ``--files`` files spread over 500 stack directories, a local bare remote,
and ``--stacks`` drifted stacks. Timed: the one fetch a run makes (base branch and every drift
branch), building each stack's drift commit from objects (the base tree plus the record, no
checkout), and each leased push to the bare remote. Terraform and GitHub are left out: the
remediation plan costs one ``terraform plan`` of the stack, and GitHub one list of open pull
requests per run plus one create (or update) per opened (or updated) pull request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.drift_pr.gitops import DriftGit  # noqa: E402
from orchestrator.drift_pr.record import BRANCH_PREFIX, branch_name, record_path  # noqa: E402

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout


def build(tmp: Path, files: int) -> tuple[Path, Path]:
    seed = tmp / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    for i in range(files):
        d = seed / "stacks" / f"s{i % 500:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.tf").write_text(f'# file {i}\nresource "null_resource" "r{i}" {{}}\n')
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "estate")
    bare = tmp / "origin.git"
    git(tmp, "clone", "-q", "--bare", str(seed), str(bare))
    clone = tmp / "clone"
    git(tmp, "clone", "-q", str(bare), str(clone))
    return clone, bare


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--stacks", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        clone, _ = build(Path(d), args.files)
        g = DriftGit(clone)
        t = time.perf_counter()
        base = g.fetch("main", BRANCH_PREFIX)
        fetch_s = time.perf_counter() - t
        commits, pushes = [], []
        for i in range(args.stacks):
            slug = f"aws-s{i:03d}"
            record = json.dumps({"format": 1, "stack": f"aws/s{i:03d}", "changed": [], "missing": []}) + "\n"
            t = time.perf_counter()
            sha = g.make_commit(base, g.path(record_path(slug)), record, f"drift: {slug}\n")
            commits.append(time.perf_counter() - t)
            t = time.perf_counter()
            g.push(sha, branch_name(slug), None)
            pushes.append(time.perf_counter() - t)
        t = time.perf_counter()
        g.fetch("main", BRANCH_PREFIX)
        refetch_s = time.perf_counter() - t
        branches = len(g.remote_branches(BRANCH_PREFIX))

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"

    print(f"repository: {args.files} files in 500 stack directories; {args.stacks} drifted stacks")
    print(f"fetch (base + drift branches, none yet): {fetch_s * 1000:.0f} ms")
    print(f"drift commit from objects: {ms(commits)}")
    print(f"leased push to a local bare remote: {ms(pushes)}")
    print(f"fetch with {branches} drift branches: {refetch_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
