"""The remediation plan of a drifted stack, as a plan set bound to its drift branch's head commit.

The plan is a normal plan of the stack (``plan_stacks``, kind ``drift-remediation``): planned
from the stack's code against its state, it restores what Git declares. It is made in the
current work tree, whose code of the stack the caller has proven identical to the drift
commit's (the drift commit adds only the drift record, outside every stack, to a base whose
files of the stack equal the work tree's, and none of them is uncommitted). The plan set is
then written again with that commit in its manifest, so ``apply --pr N`` checks it against
the pull request's head exactly as it checks any plan set.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from orchestrator.engine.context import Engine
from orchestrator.engine.plan import PlanOptions, plan_stacks
from orchestrator.errors import Interrupted, PlanSetError, TerraformError
from orchestrator.layout import PLANS_DIR
from orchestrator.planset import MANIFEST, Manifest, StackPlan, write_plan_set
from orchestrator.terraform.planjson import PlanJSON


@dataclass(frozen=True)
class Remediation:
    manifest: Manifest
    dir: Path
    plan: StackPlan
    plan_json: PlanJSON | None


def _bind(source: Path, manifest: Manifest, commit: str, parent: Path) -> tuple[Manifest, Path]:
    """The plan set at ``source`` written again (atomically) with ``commit`` in its manifest."""

    def populate(tmp: Path) -> Manifest:
        for item in source.iterdir():
            if item.name == MANIFEST:
                continue
            if item.is_dir():
                shutil.copytree(item, tmp / item.name)
            else:
                shutil.copy2(item, tmp / item.name)
        return manifest.model_copy(update={"id": "", "commit": commit, "dirty": False})

    return write_plan_set(parent, None, populate)


def plan_remediation(engine: Engine, stack_id: str, commit: str) -> Remediation:
    """Plan ``stack_id`` and bind the plan set to ``commit``. Raises when the plan failed."""
    parent = engine.root / PLANS_DIR
    parent.mkdir(parents=True, exist_ok=True)
    scratch = parent / f".drift-{engine.stack(stack_id).slug}"
    shutil.rmtree(scratch, ignore_errors=True)
    keep = False
    try:
        run = plan_stacks(engine, PlanOptions(stacks=[stack_id], kind="drift-remediation", out=scratch))
        if run.interrupted:
            raise Interrupted("interrupted while planning the remediation", where=stack_id)
        (sp,) = run.manifest.stacks
        if sp.status == "failed":
            keep = True  # its log stays for the user; the next attempt replaces it
            # The engine names the log inside the plan set's temporary directory: name where it is now.
            error = re.sub(r"/\.planset-[^/\s]+/", f"/{scratch.name}/", sp.error or "see the log")
            raise TerraformError(f"the remediation plan failed: {error}", where=stack_id)
        if sp.status not in ("changes", "no-changes"):
            raise TerraformError(
                f"the remediation plan is {sp.status}" + (f": {sp.reason}" if sp.reason else ""),
                where=stack_id,
                hint="Apply the stacks it depends on first, then scan again.",
            )
        if run.manifest.dirty:
            # The caller checked before planning; a file changed meanwhile.
            raise PlanSetError(
                "the stack's files changed while it was planned",
                where=stack_id,
                hint="Run the scan in a clean checkout of the base branch.",
            )
        manifest, directory = _bind(run.dir, run.manifest, commit, parent)
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    (bound,) = manifest.stacks
    # The plan JSON planning kept in memory: the plan set's copy may be encrypted
    # (plan_sets.encrypt_to) and the drift job holds no identity.
    outcome = run.results.get(stack_id)
    plan_json = outcome.plan_json if outcome is not None and bound.plan_json_sha256 is not None else None
    return Remediation(manifest, directory, bound, plan_json)


def rebind_remediation(root: Path, rem: Remediation, commit: str) -> Remediation:
    """The same plan set bound to another commit whose files of the stack are the same (an
    automatic reconciliation that was refused becomes a drift pull request without planning
    again); the old directory goes."""
    if rem.manifest.commit == commit:
        return rem
    manifest, directory = _bind(rem.dir, rem.manifest, commit, root / PLANS_DIR)
    shutil.rmtree(rem.dir, ignore_errors=True)
    (bound,) = manifest.stacks
    return Remediation(manifest, directory, bound, rem.plan_json)
