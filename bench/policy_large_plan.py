"""One large plan through the default policy pack (issue 12 item 10): how evaluation grows.

Builds plans of N resource changes (the test plans' changes repeated under unique addresses,
tests/policy/test_large_plans.big_plan) and times, in-process with regopy:
- the whole evaluation (`evaluate_stack`: input, both entry points, findings, redaction);
- each policy of the pack compiled alone with the library, to show which one grows fastest.

Usage: python bench/policy_large_plan.py [--sizes 250,500,1000,2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="250,500,1000,2000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from orchestrator.config import PolicySettings
    from orchestrator.policy import evaluate_stack, load_policy_set
    from orchestrator.policy.engine import Program
    from orchestrator.policy.evaluate import policy_input
    from tests.policy.conftest import EXAMPLE_DATA, context
    from tests.policy.test_large_plans import big_plan

    pack = load_policy_set(ROOT, PolicySettings(data=EXAMPLE_DATA))
    lib = ("lib/terraform.rego", (ROOT / "policies/lib/terraform.rego").read_text())
    files = sorted((ROOT / "policies").glob("*.rego"))
    alone = {
        f.name: Program.compile(
            [lib, (f.name, f.read_text())], {"orchestrate": {}}, ["main/deny", "main/warn"]
        )
        for f in files
    }
    header = ["resources", "evaluate_stack", "per 1,000", *[f.name.removesuffix(".rego") for f in files]]
    print(" | ".join(header))
    for n in sizes:
        plan = big_plan(n)
        started = time.perf_counter()
        result = evaluate_stack(pack, plan, context())
        whole = time.perf_counter() - started
        assert not [f for f in result.findings if f.level == "error"], "evaluation errors"
        per_policy = []
        value = policy_input(plan, context())
        for name in alone:
            started = time.perf_counter()
            alone[name].evaluate(value)
            per_policy.append(f"{time.perf_counter() - started:.2f} s")
        row = [str(n), f"{whole:.2f} s", f"{whole / n * 1000:.2f} s", *per_policy]
        print(" | ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
