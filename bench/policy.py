"""Policy evaluation benchmark (issue 5): 500 stacks x 20 policy files, in-process with regopy.

The 20 files are the default pack (policies/: 5 policies + lib) plus 14 generated policies of
the same shape (iterate resource_changes, filter by type and action, read attributes, build a
message). The 500 plans cycle through the test plans in tests/policy/plans (the estate's first
plans and every failing/passing plan of the default pack), so the inputs are real
`terraform show -json` shapes of 2-50 KB.

Prints: cold load (scan + compile, no cache), per-stack evaluation (mean, p50, p95), the
whole 500-stack evaluation, the share spent inside regopy, and the cost without reuse
(a fresh interpreter and compile per stack) for comparison.

Usage: python bench/policy.py [--stacks 500] [--policies 20] [--width 1] [--no-fresh]
(--width 10 merges ten test plans into each stack's plan: about 35 resource changes, 40 KB.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.config import PolicySettings  # noqa: E402
from orchestrator.policy import evaluate_stack, load_policy_set  # noqa: E402
from orchestrator.policy import loader as loader_module  # noqa: E402

GENERATED = """# bench-{i}: generated policy {i}
package main

import data.lib.terraform as tf

watched_{i} := {{"aws_s3_bucket", "aws_sqs_queue", "google_project", "azurerm_storage_account", "aws_db_instance"}}

deny contains result if {{
	some rc in input.resource_changes
	rc.type in watched_{i}
	tf.writes(rc)
	value := object.get(rc.change.after, "bench_attribute_{i}", null)
	value != null
	result := tf.result("bench-{i}", rc.address, concat("", [rc.address, ": bench_attribute_{i} is set"]))
}}

warn contains result if {{
	some rc in input.resource_changes
	tf.deletes(rc)
	startswith(rc.type, "{prefix}")
	count(object.keys(object.get(rc.change, "before", {{}}) )) > 1000
	result := tf.result("bench-{i}", rc.address, "huge resource deleted")
}}
"""


def make_policies(directory: Path, total: int) -> None:
    for path in (ROOT / "policies").rglob("*.rego"):
        dest = directory / "policies" / path.relative_to(ROOT / "policies")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(path.read_text())
    existing = len(list((directory / "policies").rglob("*.rego")))
    prefixes = ["aws_", "google_", "azurerm_"]
    for i in range(total - existing):
        text = GENERATED.format(i=i, prefix=prefixes[i % 3])
        (directory / "policies" / f"bench_{i:02d}.rego").write_text(text)


def merged(docs: list[dict[str, Any]], start: int, width: int) -> dict[str, Any]:
    """One bigger plan: the resource changes of ``width`` test plans, addresses made unique."""
    out: dict[str, Any] = {
        "format_version": "1.2",
        "resource_changes": [],
        "configuration": {"provider_config": {}},
    }
    for k in range(width):
        doc = docs[(start + k) % len(docs)]
        for rc in doc.get("resource_changes", []):
            rc = dict(rc, address=f"{rc['address']}_{k}", name=f"{rc['name']}_{k}")
            out["resource_changes"].append(rc)
        out["configuration"]["provider_config"].update(
            doc.get("configuration", {}).get("provider_config", {})
        )
    return out


def load_plans(n: int, width: int = 1) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    files = sorted((ROOT / "tests/policy/plans").glob("*/*.json"))
    docs = [json.loads(p.read_text()) for p in files]
    if width > 1:
        docs = [merged(docs, i, width) for i in range(len(docs))]
    out = []
    for i in range(n):
        ctx = {
            "stack": f"bench/s{i:04d}",
            "path": f"stacks/bench/s{i:04d}",
            "cloud": "aws-prod",
            "environment": "prod",
            "provider": "aws",
            "region": "eu-west-1",
            "project": None,
            "subscription_id": None,
            "allow_destroy": [],
            "params": {},
            "tags": [],
        }
        out.append((docs[i % len(docs)], ctx))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stacks", type=int, default=500)
    parser.add_argument("--policies", type=int, default=20)
    parser.add_argument("--no-fresh", action="store_true", help="skip the no-reuse comparison")
    parser.add_argument("--width", type=int, default=1, help="test plans merged into one (bigger plans)")
    args = parser.parse_args()
    data = {
        "required_tags": ["owner", "environment"],
        "allowed_regions": {"aws": ["eu-west-1"], "gcp": ["europe-west1", "EU"], "azure": ["westeurope"]},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_policies(root, args.policies)
        settings = PolicySettings(data=data)
        loads = []
        for _ in range(3):
            loader_module._cache.clear()
            t = time.perf_counter()
            ps = load_policy_set(root, settings)
            loads.append(time.perf_counter() - t)
        t = time.perf_counter()
        load_policy_set(root, settings)
        cached = time.perf_counter() - t
        print(
            f"policy files: {len(ps.files)}, rules queried: {len(ps.rules)} ({', '.join(r.id for r in ps.rules)})"
        )
        print(
            f"cold load (scan + compile): median {statistics.median(loads) * 1000:.1f} ms; cached {cached * 1000:.2f} ms"
        )

        plans = load_plans(args.stacks, args.width)
        sizes = [len(json.dumps(p)) for p, _ in plans]
        print(
            f"plans: {len(plans)}, JSON size median {statistics.median(sizes) / 1024:.1f} KB, max {max(sizes) / 1024:.1f} KB"
        )
        evaluate_stack(ps, plans[0][0], plans[0][1])  # warm-up
        per: list[float] = []
        engine: list[float] = []
        findings = 0
        t_all = time.perf_counter()
        for doc, ctx in plans:
            t = time.perf_counter()
            result = evaluate_stack(ps, doc, ctx)
            per.append(time.perf_counter() - t)
            findings += len(result.findings)
            from orchestrator.policy.inputs import policy_input

            t = time.perf_counter()
            ps.program.evaluate(policy_input(doc, ctx))
            engine.append(time.perf_counter() - t)
        total = time.perf_counter() - t_all - sum(engine)
        per_ms = sorted(x * 1000 for x in per)
        p95 = per_ms[int(len(per_ms) * 0.95) - 1]
        print(
            f"per stack: mean {statistics.mean(per_ms):.2f} ms, p50 {statistics.median(per_ms):.2f} ms, "
            f"p95 {p95:.2f} ms, max {per_ms[-1]:.2f} ms"
        )
        print(f"inside regopy (input + entry points): mean {statistics.mean(engine) * 1000:.2f} ms a stack")
        print(f"{len(plans)} stacks x {len(ps.files)} files: {total:.2f} s in all, {findings} findings")

        if not args.no_fresh:
            from orchestrator.policy import compile_policy_set

            texts = [(f.as_posix(), f.read_text()) for f in sorted((root / "policies").rglob("*.rego"))]
            sample = plans[:20]
            t = time.perf_counter()
            for doc, ctx in sample:
                fresh = compile_policy_set("policies", texts, ["main"], data)
                evaluate_stack(fresh, doc, ctx)
            each = (time.perf_counter() - t) / len(sample)
            print(
                f"without reuse (compile per stack): {each * 1000:.1f} ms a stack, "
                f"{each * len(plans):.1f} s for {len(plans)} stacks"
            )


if __name__ == "__main__":
    main()
