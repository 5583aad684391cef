"""Large plans (issue 12 item 10): the default pack evaluates a 4,000-resource plan, and a rule
that reaches the policy engine's statement limit says so instead of `<error>`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.policy import PolicySet, evaluate_stack
from orchestrator.policy.engine import Program
from tests.policy.conftest import PLANS, context, plan


def big_plan(resources: int) -> dict[str, Any]:
    """The resource changes of every test plan, repeated with unique addresses."""
    docs = [plan(str(p.relative_to(PLANS))) for p in sorted(PLANS.glob("*/*.json"))]
    changes: list[dict[str, Any]] = []
    k = 0
    while len(changes) < resources:
        for doc in docs:
            for rc in doc.get("resource_changes", []):
                changes.append(dict(rc, address=f"{rc['address']}_{k}", name=f"{rc['name']}_{k}"))
                k += 1
    resources_config = [
        r
        for doc in docs
        for r in ((doc.get("configuration") or {}).get("root_module") or {}).get("resources", [])
    ]
    return {
        "format_version": "1.2",
        "resource_changes": changes[:resources],
        "configuration": {"root_module": {"resources": resources_config}},
    }


@pytest.mark.integration
def test_the_default_pack_evaluates_a_plan_of_4000_resources(default_pack: PolicySet) -> None:
    # Before: no-public-storage joined every GCS bucket with every resource change, rego-cpp
    # stopped at its statement limit and the finding was "main.deny failed to evaluate: <error>".
    result = evaluate_stack(default_pack, big_plan(4000), context())
    errors = [f.msg for f in result.findings if f.level == "error"]
    assert errors == []
    denied = {f.policy for f in result.findings if f.level == "deny"}
    assert "no-public-storage" in denied


QUADRATIC = """package main
import rego.v1
deny contains x if {
  some a in input.items
  some b in input.items
  a == b
  x := a
}
"""


def test_the_statement_limit_is_named_with_what_to_do(tmp_path: Path) -> None:
    program = Program.compile([("quadratic.rego", QUADRATIC)], {}, ["main/deny"])
    (entry,) = program.evaluate({"items": list(range(4000))})
    assert not entry.defined
    assert entry.error is not None
    assert "<error>" not in entry.error
    assert "10,000,000 evaluation steps" in entry.error and "Maximum statement count" in entry.error
    assert "index one side" in entry.error
