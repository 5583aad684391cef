"""How long rendering the PR comment takes for large plan sets (prints figures).

    python bench/comment.py

Cases: one stack with a ~2 MB plan (cut to fit), and 500 stacks with realistic plans (split
into parts, then capped at ten parts with stubs). Rendering is pure: no terraform, no GitHub.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.pr.view import comment_data  # noqa: E402
from orchestrator.render.comment import render_comment  # noqa: E402
from orchestrator.workspace import Workspace  # noqa: E402
from tests.pr.planfixtures import StackSpec, plan_json, write_plan_set  # noqa: E402


def workspace(tmp: Path, n: int) -> Workspace:
    for i in range(n):
        d = tmp / "repo" / "stacks" / f"s{i:04d}"
        d.mkdir(parents=True)
        (d / "stack.yaml").write_text("{}\n" if i == 0 else f"depends_on: [s{(i - 1) // 3:04d}]\n")
    return Workspace.load(tmp / "repo", use_cache=False)


def big_plan() -> dict[str, object]:
    doc = plan_json("create")
    template = doc["resource_changes"][1]
    changes = []
    for i in range(4000):
        rc = json.loads(json.dumps(template))
        rc["address"] = f"terraform_data.web[{i}]"
        rc["change"]["after"]["input"]["tags"] = {f"k{j}": f"value-{i}-{j}" for j in range(12)}
        changes.append(rc)
    doc["resource_changes"] = changes
    return doc


def measure(label: str, ws: Workspace, tmp: Path, specs: list[StackSpec]) -> None:
    manifest = write_plan_set(tmp / label, specs)
    t0 = time.perf_counter()
    data, redactor = comment_data(ws, tmp / label, manifest)
    t1 = time.perf_counter()
    parts = render_comment(data, redactor)
    t2 = time.perf_counter()
    sizes = [len(p) for p in parts]
    print(
        f"{label:<28} load+diff {t1 - t0:6.2f} s  render {t2 - t1:6.2f} s  "
        f"parts {len(parts):2d}  largest {max(sizes):,} chars  total {sum(sizes):,} chars"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ws = workspace(tmp, 500)
        doc = big_plan()
        print(f"2 MB plan: {len(json.dumps(doc)):,} bytes of plan JSON")
        measure("one 2 MB plan", ws, tmp, [StackSpec("s0000", plan=doc)])
        measure("50 stacks, aws plan", ws, tmp, [StackSpec(f"s{i:04d}", plan="aws") for i in range(50)])
        measure("500 stacks, aws plan", ws, tmp, [StackSpec(f"s{i:04d}", plan="aws") for i in range(500)])


if __name__ == "__main__":
    main()
