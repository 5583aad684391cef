"""Discovery benchmark: `orchestrate list --format json` as a whole process, cold and warm cache.

Synthetic repositories of 500, 2,000 and 5,000 stacks: each a stack.yaml and a main.tf with a
terraform_remote_state block and a local module call; a random DAG with average in-degree 2
(half explicit depends_on, half inferred from remote state). Targets on a 2-core machine:
5,000 stacks cold < 3 s, warm < 1 s.

With --rules the same estate has no stack.yaml: orchestrate.yaml `stacks:` rules find the root
modules by their backend block, targets come from a path pattern, and every edge is inferred from
remote state written through a variable default and a template (issue 14).

Usage: python bench/discovery.py [--sizes 500,2000,5000] [--runs 3] [--rules]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RULES_CONFIG = """\
stacks:
  include: ["stacks/**"]
  targets:
    - {match: "stacks/{group}/**", cloud: "aws-{group}"}
"""


def build_rules(root: Path, n: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    (root / "modules/common").mkdir(parents=True)
    (root / "modules/common/main.tf").write_text(
        'variable "name" { type = string }\noutput "name" { value = var.name }\n'
    )
    (root / "orchestrate.yaml").write_text(RULES_CONFIG)
    edges = 0
    for i in range(n):
        d = root / "stacks" / f"g{i % 50:02d}" / f"s{i:05d}"
        d.mkdir(parents=True)
        ups = rng.sample(range(i), k=min(i, 2)) if i else []
        edges += len(ups)
        tf = [
            'terraform {\n  backend "local" {}\n}\n',
            'module "common" {\n  source = "../../../modules/common"\n  name   = "x"\n}\n',
            'variable "root" {\n  default = "../.."\n}\n',
        ]
        for u in ups:
            tf.append(
                f'data "terraform_remote_state" "up{u}" {{\n  backend = "local"\n  config = {{\n'
                f'    path = "${{var.root}}/g{u % 50:02d}/s{u:05d}/terraform.tfstate"\n  }}\n}}\n'
            )
        (d / "main.tf").write_text("".join(tf))
    return edges


def build(root: Path, n: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    (root / "modules/common").mkdir(parents=True)
    (root / "modules/common/main.tf").write_text(
        'variable "name" { type = string }\noutput "name" { value = var.name }\n'
    )
    edges = 0
    for i in range(n):
        sid = f"s{i:05d}"
        d = root / "stacks" / f"g{i % 50:02d}" / sid
        d.mkdir(parents=True)
        ups = rng.sample(range(i), k=min(i, 2)) if i else []
        explicit = [f"g{u % 50:02d}/s{u:05d}" for u in ups[:1]]
        inferred = ups[1:]
        edges += len(ups)
        (d / "stack.yaml").write_text(
            f"environment: {'prod' if i % 2 else 'dev'}\n"
            + (f"depends_on: [{', '.join(explicit)}]\n" if explicit else "")
        )
        tf = [
            'module "common" {\n  source = "../../../modules/common"\n  name   = "x"\n}\n',
            'resource "null_resource" "r" {\n  triggers = { name = module.common.name }\n}\n',
            'output "id" {\n  value = null_resource.r.id\n}\n',
        ]
        for u in inferred:
            tf.append(
                f'data "terraform_remote_state" "up{u}" {{\n  backend = "local"\n  config = {{\n'
                f'    path = "../../../.orchestrate/state/g{u % 50:02d}/s{u:05d}/terraform.tfstate"\n  }}\n}}\n'
            )
        if not inferred:
            tf.append(
                'data "terraform_remote_state" "ext" {\n  backend = "s3"\n'
                '  config = { bucket = "external", key = "shared.tfstate" }\n}\n'
            )
        (d / "main.tf").write_text("".join(tf))
    return edges


def run_list(root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "orchestrator", "--repo", str(root), "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - start
    return elapsed, len(json.loads(out.stdout)["stacks"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="500,2000,5000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rules", action="store_true", help="no stack.yaml: stacks: rules and inferred edges")
    args = ap.parse_args()
    print(f"{'stacks':>7} {'edges':>6} {'cold s':>8} {'warm s':>8}  (median of {args.runs})")
    for n in (int(s) for s in args.sizes.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix="bench-discovery-"))
        try:
            edges = (build_rules if args.rules else build)(tmp, n)
            colds, warms = [], []
            for _ in range(args.runs):
                shutil.rmtree(tmp / ".orchestrate", ignore_errors=True)
                t, count = run_list(tmp)
                assert count == n, count
                colds.append(t)
                t, _ = run_list(tmp)
                warms.append(t)
            print(f"{n:>7} {edges:>6} {statistics.median(colds):>8.2f} {statistics.median(warms):>8.2f}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import orchestrator.cli"], check=True)
    print(f"interpreter + CLI import alone: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
