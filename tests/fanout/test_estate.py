"""Fan-out on the example estate (issue 15, item 5), on the emulated clouds:

- three ``plan --shard I/3`` parts merged by ``planset merge`` equal a single runner's plan set of
  the same commit in everything but timestamps and timings (stacks, order, statuses, counts,
  inputs, resource changes, plan text, policy results);
- applying the merged plan set wave by wave (``apply --wave K``) leaves the same state as one
  ``apply`` does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrator.planset import read_manifest
from orchestrator.shard import waves
from tests.conftest import LEFT_IN_CHECKOUT, REPO_ROOT, TerraformBinary, git

pytestmark = pytest.mark.integration

TIMINGS = {"created_at", "duration_s", "duration_ms", "id"}
# plan.tfplan is a zip with file times, plan.json carries terraform's "timestamp": their digests differ
# between two plans of the same commit, as they do between two single-runner plans.
DIGESTS = {"plan_sha256", "plan_json_sha256"}


def _strip(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in TIMINGS | DIGESTS}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def comparable(plan_set: Path) -> dict[str, Any]:
    manifest = json.loads((plan_set / "manifest.json").read_text())
    policy = plan_set / "policy.json"
    texts = {
        d.name: (d / "plan.txt").read_text() for d in sorted(plan_set.iterdir()) if (d / "plan.txt").is_file()
    }
    return {
        "manifest": _strip(manifest),
        "policy": _strip(json.loads(policy.read_text())) if policy.is_file() else None,
        "plan_text": texts,
    }


class Estate:
    def __init__(self, root: Path, env: dict[str, str], cli: Callable[..., Result]) -> None:
        self.root, self.env, self.cli = root, env, cli

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> Result:
        res = self.cli("--repo", str(self.root), *args, env=self.env)
        assert res.exit_code in ok, f"orchestrate {' '.join(args)} exited {res.exit_code}:\n{res.output}"
        return res

    def states(self) -> dict[str, list[str]]:
        """stack -> the addresses in its state, with each instance's declared names and tags."""
        out: dict[str, list[str]] = {}
        for path in sorted((self.root / ".orchestrate" / "state").rglob("terraform.tfstate")):
            doc = json.loads(path.read_text())
            rows = []
            for r in doc.get("resources", []):
                for inst in r.get("instances", []):
                    attrs = inst.get("attributes", {})
                    keep = {k: attrs.get(k) for k in ("name", "bucket", "project_id", "tags", "labels")}
                    rows.append(
                        f"{r.get('module', '')}{r['type']}.{r['name']} {json.dumps(keep, sort_keys=True)}"
                    )
            out[str(path.parent.relative_to(self.root / ".orchestrate" / "state"))] = sorted(rows)
        return out


@pytest.fixture
def make_estate(
    tmp_path: Path,
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    cli: Callable[..., Result],
) -> Iterator[Callable[[str], Estate]]:
    pytest.importorskip("moto")
    from orchestrate_emulate.manager import Emulation

    made: list[Path] = []

    def _make(name: str) -> Estate:
        config = (REPO_ROOT / "orchestrate.yaml").read_text()
        config = config.replace("terraform:\n", f"terraform:\n  binary: {newest_terraform.path}\n", 1)
        root = tmp_path / name
        root.mkdir()
        (root / "orchestrate.yaml").write_text(config)
        (root / ".gitignore").write_text(
            ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform/\n.terraform.lock.hcl\n/parts/\n"
        )
        for sub in ("stacks", "modules", "policies"):
            shutil.copytree(REPO_ROOT / sub, root / sub, ignore=LEFT_IN_CHECKOUT)
        git(tmp_path, "init", "-q", "-b", "main", str(root))
        git(root, "add", "-A")
        git(root, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "the example estate")
        home = tmp_path / f"home-{name}"
        home.mkdir()
        made.append(root)
        estate = Estate(root, {"HOME": str(home), "USER": "tester"}, cli)
        estate.run("emulate", "up")
        return estate

    try:
        yield _make
    finally:
        for root in made:
            Emulation(root).down()


def test_merged_shards_equal_a_single_runner_plan_set(make_estate: Callable[[str], Estate]) -> None:
    estate = make_estate("estate")
    estate.run("plan", "--out", str(estate.root / "parts/single"), ok=(2,))
    for i in (1, 2, 3):
        estate.run("plan", "--shard", f"{i}/3", "--out", str(estate.root / f"parts/shard-{i}"), ok=(0, 2))
    parts = [str(estate.root / f"parts/shard-{i}") for i in (1, 2, 3)]
    owned = [set(json.loads((Path(p) / "shard.json").read_text())["owned"]) for p in parts]
    assert all(owned) and set.union(*owned) == {
        s.stack for s in read_manifest(estate.root / "parts/single").stacks
    }
    # Dependencies cross shards: a reader of an upstream's remote state, and readers of an
    # upstream's planned outputs (inputs), are owned by another shard than their upstream.
    from orchestrator.workspace import Workspace

    owner = {sid: i for i, ids in enumerate(owned) for sid in ids}
    graph = Workspace.load(estate.root).graph
    crossing = {
        (up, down, reason.kind)
        for up, down in graph.graph.edges
        for reason in graph.reasons(up, down)
        if owner[up] != owner[down]
    }
    assert ("gcp/prod/project", "aws/prod/data", "remote_state") in crossing, crossing
    assert ("gcp/dev/project", "aws/dev/storage", "inputs") in crossing, crossing
    estate.run("planset", "merge", *reversed(parts), "--out", str(estate.root / "parts/merged"), ok=(2,))

    single, merged = comparable(estate.root / "parts/single"), comparable(estate.root / "parts/merged")
    assert merged["manifest"]["stacks"] == single["manifest"]["stacks"]
    assert merged == single
    statuses = {s.stack: s.status for s in read_manifest(estate.root / "parts/merged").stacks}
    # Its upstream (owned by another shard) was planned in its shard too: it sees the same plan.
    assert statuses["aws/prod/data"] == "provisional"


def test_apply_by_waves_leaves_the_state_one_apply_leaves(make_estate: Callable[[str], Estate]) -> None:
    one = make_estate("one")
    by_waves = make_estate("waves")

    for _ in range(3):  # provisional stacks need their upstream applied first
        if one.run("plan", ok=(0, 2)).exit_code == 0:
            break
        one.run("apply", "--approved-by", "tester", "--reason", "one apply", ok=(0, 2))
    else:
        pytest.fail("did not converge")

    from orchestrator.workspace import Workspace

    graph = Workspace.load(by_waves.root).graph
    for round_ in range(3):
        out = str(by_waves.root / f"parts/round-{round_}")
        if by_waves.run("plan", "--out", out, ok=(0, 2)).exit_code == 0:
            break
        manifest = read_manifest(Path(out))
        wave_of = waves(graph, [s.stack for s in manifest.stacks if s.status in ("changes", "provisional")])
        if round_ == 0:
            assert max(wave_of.values()) >= 2, wave_of  # the test proves something only with several waves
            # Wave 1 before wave 0 is refused: its upstreams have not been applied yet.
            early = by_waves.run(
                "apply", "--plan-set", out, "--wave", "1", "--approved-by", "t", "--reason", "r", ok=(1,)
            )
            assert "earlier waves" in early.output
        for k in range(max(wave_of.values()) + 1):
            by_waves.run(
                "apply",
                "--plan-set",
                out,
                "--wave",
                str(k),
                "--approved-by",
                "tester",
                "--reason",
                "waves",
                ok=(0, 2),
            )
    else:
        pytest.fail("did not converge")

    assert by_waves.states() == one.states()
    assert by_waves.states()  # there is state to compare
