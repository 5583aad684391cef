"""planset merge benchmark (issue 15, item 5). Prints figures; run: python bench/planset_merge.py

Builds 50 partial plan sets of 20 stacks each (1000 stacks), each stack with a 200 KB
plan.tfplan, a 60 KB plan.json, plan.txt, log.txt and policy results, as `plan --shard I/50`
writes them, then times `planset merge` of the 50 parts (reading and checking every
manifest and policy report, copying every stack directory, writing the merged manifest and
policy.json atomically). Median of --runs runs, on a fresh output directory each time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.planset import Manifest, StackPlan, sha256_file, write_plan_set  # noqa: E402
from orchestrator.planset_merge import SHARD_FILE, ShardRecord, merge  # noqa: E402


def make_parts(root: Path, parts: int, per_part: int) -> list[Path]:
    selection = [f"svc-{i:04d}/prod" for i in range(parts * per_part)]
    tfplan = os.urandom(200_000)
    plan_json = json.dumps({"resource_changes": [{"address": f"r.x{i}", "change": {}} for i in range(600)]})
    out = []
    for p in range(parts):
        owned = selection[p * per_part : (p + 1) * per_part]

        def populate(tmp: Path, owned: list[str] = owned, index: int = p + 1) -> Manifest:
            stacks = []
            findings = []
            for sid in owned:
                slug = sid.replace("/", "-")
                d = tmp / slug
                d.mkdir()
                (d / "plan.tfplan").write_bytes(tfplan)
                (d / "plan.json").write_text(plan_json)
                (d / "plan.txt").write_text("  # r.x will be updated in-place\n" * 200)
                (d / "log.txt").write_text("terraform output\n" * 100)
                stacks.append(
                    StackPlan(
                        stack=sid,
                        slug=slug,
                        path=f"stacks/{sid}",
                        status="changes",
                        plan_sha256=sha256_file(d / "plan.tfplan"),
                        plan_json_sha256=sha256_file(d / "plan.json"),
                    )
                )
                findings.append(
                    {
                        "stack": sid,
                        "denied": 0,
                        "warned": 1,
                        "errors": 0,
                        "duration_ms": 3.0,
                        "findings": [
                            {
                                "level": "warn",
                                "rule": "main.warn",
                                "policy": None,
                                "resource": "r.x0",
                                "msg": "tag owner missing",
                                "metadata": {},
                                "location": None,
                            }
                        ],
                    }
                )
            policy = {
                "format": 1,
                "enforcement": "blocking",
                "namespaces": ["main"],
                "policies": [],
                "warnings": [],
                "summary": {},
                "duration_ms": 60.0,
                "stacks": findings,
            }
            (tmp / "policy.json").write_text(json.dumps(policy))
            (tmp / SHARD_FILE).write_text(
                ShardRecord(index=index, count=parts, selection=selection, owned=owned).model_dump_json()
            )
            return Manifest(
                commit="c" * 40,
                created_at="2026-01-01T00:00:00+00:00",
                orchestrate_version="0.1.0",
                stacks=stacks,
            )

        out.append(write_plan_set(root, None, populate, final_dir=root / f"part-{p + 1}")[1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=50)
    parser.add_argument("--stacks", type=int, default=20, help="stacks per part")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        dirs = make_parts(root, args.parts, args.stacks)
        built = time.perf_counter() - started
        size = sum(f.stat().st_size for d in dirs for f in d.rglob("*") if f.is_file())
        times = []
        for run in range(args.runs):
            out = root / f"merged-{run}"
            t0 = time.perf_counter()
            merged = merge(dirs, plans_root=root, out=out)
            times.append(time.perf_counter() - t0)
            assert len(merged.manifest.stacks) == args.parts * args.stacks
            shutil.rmtree(out)
    print(
        f"parts: {args.parts} x {args.stacks} stacks = {args.parts * args.stacks} stacks, {size / 1e6:.0f} MB"
    )
    print(f"building the parts: {built:.2f} s")
    print(
        f"merge, median of {args.runs}: {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"
    )


if __name__ == "__main__":
    main()
