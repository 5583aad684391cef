"""Fixtures for policy tests: the default pack, the test plans, and plan sets built from them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator import __version__
from orchestrator.config import PolicySettings
from orchestrator.errors import PlanSetError
from orchestrator.planset import PLAN_JSON, Manifest, StackPlan, sha256_file, write_plan_set
from orchestrator.policy import PolicySet, load_policy_set
from orchestrator.terraform.planjson import PlanJSON, load_plan_json
from tests.conftest import LEFT_IN_CHECKOUT, REPO_ROOT

PLANS = Path(__file__).parent / "plans"
EXAMPLE_DATA: dict[str, Any] = yaml.safe_load((REPO_ROOT / "orchestrate.yaml").read_text())["policies"][
    "data"
]


def plan(rel: str) -> PlanJSON:
    """A test plan (``terraform show -json`` output) by path under tests/policy/plans, read
    through the plan JSON boundary (so every fixture is a well-formed plan)."""
    path = PLANS / rel
    return load_plan_json(path.read_bytes(), what=rel, where=str(path), error=PlanSetError)


def context(**overrides: Any) -> dict[str, Any]:
    """input.orchestrate for an AWS prod stack in eu-west-1, with overrides."""
    base: dict[str, Any] = {
        "stack": "aws/prod/storage",
        "path": "stacks/aws/prod/storage",
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
    base.update(overrides)
    return base


@pytest.fixture(scope="session")
def default_pack() -> PolicySet:
    """The repository's policies/ with the example estate's policies.data."""
    return load_policy_set(REPO_ROOT, PolicySettings(data=EXAMPLE_DATA))


@pytest.fixture
def estate_repo(tmp_path: Path) -> Path:
    """A copy of the example estate (orchestrate.yaml, stacks, modules, policies)."""
    root = tmp_path / "estate"
    root.mkdir()
    shutil.copy(REPO_ROOT / "orchestrate.yaml", root / "orchestrate.yaml")
    for name in ("stacks", "modules", "policies"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=LEFT_IN_CHECKOUT)
    return root


MakePlanSet = Callable[[Path, dict[str, dict[str, Any]]], Path]


@pytest.fixture
def make_plan_set() -> MakePlanSet:
    """make_plan_set(repo_root, {stack_id: plan_json}) -> a plan set under .orchestrate/plans."""

    def _make(root: Path, plans: dict[str, dict[str, Any]]) -> Path:
        entries: list[StackPlan] = []

        def populate(tmp: Path) -> None:
            for stack_id, doc in plans.items():
                slug = stack_id.replace("/", "-")
                (tmp / slug).mkdir()
                path = tmp / slug / PLAN_JSON
                path.write_text(json.dumps(doc))
                entries.append(
                    StackPlan(
                        stack=stack_id,
                        slug=slug,
                        path=f"stacks/{stack_id}",
                        status="changes",
                        plan_sha256="0" * 64,
                        plan_json_sha256=sha256_file(path),
                    )
                )

        manifest = Manifest(created_at="2025-06-02T09:14:27Z", orchestrate_version=__version__, stacks=[])
        parent = root / ".orchestrate" / "plans"

        def fill(tmp: Path) -> None:
            populate(tmp)
            manifest.stacks.extend(entries)

        _, dest = write_plan_set(parent, manifest, fill)
        return dest

    return _make
