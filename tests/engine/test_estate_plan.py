"""Done-when of issue 14: the 200-root synthetic estate (no stack.yaml) plans with the targets
its rules give. Lists and graphs all 200 in tests/test_stack_rules.py; plans a few
here with real terraform (the null provider from the offline mirror)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orchestrator.planset import read_manifest
from tests.engine.conftest import Repo
from tests.fakes.estates import estate, plannable

pytestmark = pytest.mark.integration

PICKED = {
    "live/prod/aws/svc00": "aws-prod",
    "live/prod/aws/svc01": "aws-prod",  # reads svc00's state through path.module and locals
    "live/dev/gcp/svc00": "gcp-dev",
    "live/staging/azure/svc02": "azure-staging",  # a root module by its provider block only
    "global/dns": None,
}


def test_the_synthetic_estate_plans_with_the_targets_of_its_rules(
    newest_repo: Callable[..., Repo],
) -> None:
    files = plannable(estate())
    config = files.pop("orchestrate.yaml")
    repo = newest_repo(files)
    (repo.root / "orchestrate.yaml").write_text(
        (repo.root / "orchestrate.yaml").read_text() + config.replace("version: 1\n", "")
    )
    repo.commit("rules")
    res = repo.orchestrate("plan", *PICKED)
    assert res.exit_code == 2, res.output
    manifest = read_manifest(repo.latest())
    got = {s.stack: s.cloud for s in manifest.stacks}
    assert got == PICKED
    statuses = {s.stack: s.status for s in manifest.stacks}
    # svc01 reads the state of svc00, planned in the same run but not applied yet
    assert statuses == {**dict.fromkeys(PICKED, "changes"), "live/prod/aws/svc01": "provisional"}
    order = [s.stack for s in manifest.stacks]
    assert order.index("live/prod/aws/svc00") < order.index("live/prod/aws/svc01")
