"""Plan JSON boundary benchmark (issue 13 item 5). Prints figures; run: python bench/planjson.py

What the shape check of terraform.planjson costs on top of parsing: a plan of --resources
resource changes (the real test plans' changes, repeated with unique addresses, each with its
configuration resource and planned values): ``json.loads`` of its text, and the shape check
alone (``plan_json_of`` on the parsed document: what ``load_plan_json`` adds). Median of --runs
runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.errors import TerraformError  # noqa: E402
from orchestrator.terraform.planjson import plan_json_of  # noqa: E402

PLANS = REPO / "tests" / "policy" / "plans"


def big_plan(resources: int) -> dict[str, Any]:
    docs = [json.loads(p.read_text()) for p in sorted(PLANS.glob("*/*.json"))]
    changes: list[dict[str, Any]] = []
    planned: list[dict[str, Any]] = []
    config: list[dict[str, Any]] = []
    k = 0
    while len(changes) < resources:
        for doc in docs:
            for rc in doc.get("resource_changes", []):
                changes.append(dict(rc, address=f"{rc['address']}_{k}", name=f"{rc['name']}_{k}"))
                after = rc["change"].get("after")
                planned.append(
                    {"address": changes[-1]["address"], "values": after if isinstance(after, dict) else {}}
                )
                k += 1
            config += ((doc.get("configuration") or {}).get("root_module") or {}).get("resources", [])
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "resource_changes": changes[:resources],
        "planned_values": {"root_module": {"resources": planned[:resources]}},
        "configuration": {"root_module": {"resources": config[:resources]}},
    }


def median_s(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| resource changes | plan.json | json.loads | shape check | check / parse |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.resources:
        text = json.dumps(big_plan(n)).encode()
        parse = median_s(lambda text=text: json.loads(text), args.runs)
        doc = json.loads(text)
        check = median_s(
            lambda doc=doc: plan_json_of(doc, what="plan", where="bench", error=TerraformError), args.runs
        )
        print(
            f"| {n} | {len(text) / 1e6:.1f} MB | {parse * 1000:.0f} ms | {check * 1000:.1f} ms "
            f"| {check / parse * 100:.0f} % |"
        )


if __name__ == "__main__":
    main()
