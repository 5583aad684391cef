"""Checks a plan set must pass before anything of it is applied (SPEC §6).

Every check runs before the first terraform apply, so a refusal applies nothing:
the approval (bound to the manifest read at the command's boundary: its id and sha256), the
manifest on disk still being that one, the commit and each stack's source files, each
plan file's (and plan JSON's) sha256, the terraform version, the state each plan was made
against, and the policies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.approval import Approval
from orchestrator.engine.context import Engine
from orchestrator.engine.plantruth import check_plan_file
from orchestrator.engine.policies import evaluate_policies
from orchestrator.engine.source import commit_info, source_digest, source_paths, uncommitted_changes
from orchestrator.errors import (
    ApprovalRefused,
    EffectiveConfigChanged,
    PlanSetError,
    PolicyBlocked,
    StalePlanError,
)
from orchestrator.planset import PLAN_FILE, PLAN_JSON, LoadedPlanSet, Manifest, StackPlan, sha256_file
from orchestrator.planset_crypto import check_form
from orchestrator.terraform.planjson import PlanJSON

if TYPE_CHECKING:
    from orchestrator.policy.report import PolicyReport

APPLICABLE = ("changes", "provisional")


@dataclass
class VerifiedPlanSet:
    manifest: Manifest
    dir: Path
    to_apply: list[StackPlan]  # in the manifest's order
    warnings: list[str] = field(default_factory=list)
    policy: PolicyReport | None = None
    # stack -> the plan JSON derived from its plan file (plantruth); kept in memory only
    derived: dict[str, PlanJSON] = field(default_factory=dict)

    def digests(self) -> dict[str, str | None]:
        return {s.stack: s.plan_sha256 for s in self.to_apply}


def approval_needed(engine: Engine, plans: list[StackPlan]) -> list[str]:
    """Stacks that need a human approval (apply.requires_approval, default true)."""
    return [p.stack for p in plans if engine.stack(p.stack).config.apply.requires_approval]


def check_files(plan_set: Path, sp: StackPlan, *, encrypted: bool = False) -> None:
    """The plan file and plan JSON are exactly the ones planned (pure apart from hashing), in
    the form the manifest records (age files when ``encrypted``, else clear)."""
    for name, expected in ((PLAN_FILE, sp.plan_sha256), (PLAN_JSON, sp.plan_json_sha256)):
        if expected is None:
            continue
        path = plan_set / sp.slug / name
        if not path.is_file():
            raise ApprovalRefused(
                f"apply refused: {name} of '{sp.stack}' is missing from the plan set",
                where=str(path),
                hint="The plan set is incomplete; plan again. Nothing was applied.",
            )
        try:
            check_form(path, encrypted, what=f"{name} of '{sp.stack}'")
        except PlanSetError as exc:
            raise ApprovalRefused(f"apply refused: {exc.message}", where=exc.where, hint=exc.hint) from None
        actual = sha256_file(path)
        if actual != expected:
            raise ApprovalRefused(
                f"apply refused: {name} of '{sp.stack}' does not match the sha256 in the manifest "
                f"(planned {expected[:12]}, found {actual[:12]}); it was changed after planning",
                where=str(path),
                hint="Never edit a plan set; plan again and get the new plan approved. Nothing was applied.",
            )


def check_approval(loaded: LoadedPlanSet, approval: Approval | None, needing: list[str]) -> None:
    """An approval covers exactly the manifest read at the command's boundary (pure apart from
    hashing manifest.json once more to see it was not swapped since)."""
    if needing and approval is None:
        raise ApprovalRefused(
            f"apply refused: no approval for {', '.join(needing)}",
            hint="Confirm in a terminal, pass --approved-by NAME --reason TEXT, or approve the pull "
            "request and use --pr N. Nothing was applied.",
        )
    if approval is not None and not approval.covers(loaded):
        approved = approval.manifest_id or "no plan set"
        raise ApprovalRefused(
            f"apply refused: the approval is for {approved}, not for plan set {loaded.manifest.id} "
            f"(manifest sha256 {loaded.sha256[:12]})",
            where=str(loaded.dir),
            hint="Approve this plan set. Nothing was applied.",
        )
    if not loaded.manifest_unchanged():
        raise ApprovalRefused(
            f"apply refused: manifest.json of {loaded.manifest.id} changed after it was read and approved",
            where=str(loaded.dir),
            hint="Never edit a plan set; plan again and get the new plan approved. Nothing was applied.",
        )


def check_source(
    engine: Engine, manifest: Manifest, to_apply: list[StackPlan], merged_commit: str | None = None
) -> None:
    """The commit, then each stack's files, are the ones planned."""
    paths = [p for s in to_apply for p in source_paths(engine.stack(s.stack))]
    info = commit_info(engine.root, paths)
    # apply --merged: the work tree is at the merge of the approved commit, which the caller
    # checked holds the same files for every stack applied; the digests below check it again.
    if manifest.commit is not None and info.sha != manifest.commit and info.sha != merged_commit:
        now = info.sha[:12] if info.sha else "no commit"
        raise ApprovalRefused(
            f"apply refused: the work tree is at {now} but the plan set was made at commit "
            f"{manifest.commit[:12]}",
            hint=f"Check out {manifest.commit[:12]} to apply this plan set, or plan again on this commit. "
            "Nothing was applied.",
        )
    for sp in to_apply:
        if sp.source_sha256 is None:
            continue
        if source_digest(engine.root, engine.stack(sp.stack)) != sp.source_sha256:
            raise ApprovalRefused(
                f"apply refused: the files of '{sp.stack}' (or its modules) changed since it was planned",
                where=engine.stack(sp.stack).path,
                hint="Commit or revert the changes and plan again. Nothing was applied.",
            )


def check_policies(
    engine: Engine, plan_set: Path, to_apply: list[StackPlan], derived: dict[str, PlanJSON]
) -> PolicyReport | None:
    """Policies, re-evaluated on the plan JSON derived from each plan file."""
    with_plans = [s for s in to_apply if s.stack in derived]
    if not with_plans:
        return None
    plans = [(engine.stack(s.stack), derived[s.stack]) for s in with_plans]
    policy = evaluate_policies(engine.ws, plans)
    if policy is not None and policy.blocking:
        denied = [r.stack for r in policy.stacks if r.counts().get("denied") or r.counts().get("errors")]
        raise PolicyBlocked(
            f"apply refused: policies deny this plan set ({', '.join(denied) or 'see policy.json'})",
            where=str(plan_set),
            hint="Fix the code or the policy and plan again; `orchestrate policy --plan-set DIR` "
            "lists the findings. Nothing was applied.",
        )
    return policy


def check_recovery(engine: Engine, manifest: Manifest, plan_set: Path) -> None:
    """A disaster-recovery plan set applies only to the recovery it was planned for, and an
    ordinary plan set never in a recovery (orchestrator/recovery.py)."""
    planned, here = manifest.recovery, engine.ws.recovery
    if planned == here:
        return
    if planned is None:
        assert here is not None
        raise ApprovalRefused(
            f"apply refused: plan set {manifest.id} is not a recovery plan set; it cannot be applied "
            f"onto {here.target}",
            where=str(plan_set),
            hint="Plan the recovery with `orchestrate plan --env ENV --target-cloud NAME`. Nothing was applied.",
        )
    if here is None:
        raise ApprovalRefused(
            f"apply refused: plan set {manifest.id} rebuilds environment '{planned.environment}' on "
            f"{planned.target}; it applies only there",
            where=str(plan_set),
            hint=f"Apply it with --target-cloud {' --target-cloud '.join(planned.target.split('+'))}. "
            "Nothing was applied.",
        )
    raise ApprovalRefused(
        f"apply refused: plan set {manifest.id} rebuilds '{planned.environment}' with "
        f"{_mapping(planned.clouds)}, not '{here.environment}' with {_mapping(here.clouds)}",
        where=str(plan_set),
        hint="Apply it with the --target-cloud it was planned with, or plan again. Nothing was applied.",
    )


def _mapping(clouds: Mapping[str, str]) -> str:
    return ", ".join(f"{k} -> {v}" for k, v in sorted(clouds.items()))


def verify_plan_set(
    engine: Engine,
    loaded: LoadedPlanSet,
    approval: Approval | None,
    *,
    state_identity: Callable[[str], tuple[str | None, int | None]] | None = None,
    check_policy: bool = True,
    confirm_destroy: bool = False,
    merged_commit: str | None = None,
    only: Collection[str] | None = None,
) -> VerifiedPlanSet:
    """Raise ApprovalRefused, PlanSetError, PolicyBlocked or StalePlanError, or return what to apply.

    ``only`` (apply --wave) verifies and returns just those of the plan set's stacks."""
    manifest, plan_set = loaded.manifest, loaded.dir
    check_recovery(engine, manifest, plan_set)
    _check_destroy_confirmed(manifest, plan_set, confirm_destroy)
    _check_stacks_known(engine, manifest, plan_set)
    to_apply = [s for s in manifest.stacks if s.status in APPLICABLE and (only is None or s.stack in only)]
    warnings = [
        f"'{s.stack}' is {s.status} in this plan set and will not be applied"
        + (f" ({s.error or s.reason})" if (s.error or s.reason) else "")
        for s in manifest.stacks
        if s.status in ("failed", "skipped")
    ]
    check_approval(loaded, approval, approval_needed(engine, to_apply))
    check_source(engine, manifest, to_apply, merged_commit)
    _check_effective_config(engine, to_apply)
    _check_work_tree(engine, manifest, plan_set)
    for sp in to_apply:
        check_files(plan_set, sp, encrypted=manifest.encrypted)
    _check_terraform_version(engine, manifest)
    # The plan file is the truth: its configuration snapshot and resource changes are the
    # approved ones, and the policies are evaluated on the plan JSON derived from it.
    derived = {
        s.stack: check_plan_file(engine, plan_set, s, encrypted=manifest.encrypted)
        for s in to_apply
        if s.plan_sha256 is not None
    }
    policy = check_policies(engine, plan_set, to_apply, derived) if check_policy else None
    if state_identity is not None:
        _check_states_unmoved(engine, to_apply, state_identity)
    return VerifiedPlanSet(manifest, plan_set, to_apply, warnings, policy, derived)


def _check_destroy_confirmed(manifest: Manifest, plan_set: Path, confirm_destroy: bool) -> None:
    """A destroy plan set applies only when confirmed by name."""
    if manifest.kind == "destroy" and not confirm_destroy:
        doomed = [s.stack for s in manifest.stacks if s.status in APPLICABLE]
        raise ApprovalRefused(
            f"apply refused: plan set {manifest.id} is a destroy plan set (it destroys "
            f"{', '.join(doomed) or 'nothing'}); a destroy is applied only when confirmed",
            where=str(plan_set),
            hint="Apply it by name with --plan-set DIR --confirm-destroy, or run `orchestrate destroy STACK...`. "
            "Nothing was applied.",
        )


def _check_stacks_known(engine: Engine, manifest: Manifest, plan_set: Path) -> None:
    """Every stack the plan set names still exists in this repository."""
    unknown = [s.stack for s in manifest.stacks if s.stack not in engine.ws.stacks]
    if unknown:
        raise PlanSetError(
            f"the plan set names stacks this repository no longer has: {', '.join(unknown)}",
            where=str(plan_set),
            hint="Plan again on the current code.",
        )


def _check_terraform_version(engine: Engine, manifest: Manifest) -> None:
    """A saved plan applies only with the terraform version that made it."""
    if manifest.terraform_version and manifest.terraform_version != str(engine.binary.version):
        raise ApprovalRefused(
            f"apply refused: the plan set was made with terraform {manifest.terraform_version} but "
            f"{engine.binary.describe()} would apply it",
            hint="Use the same terraform version (terraform.binary), or plan again. Nothing was applied.",
        )


def _check_states_unmoved(
    engine: Engine,
    to_apply: list[StackPlan],
    state_identity: Callable[[str], tuple[str | None, int | None]],
) -> None:
    """The state each plan was made against has not moved."""
    stale = _stale_states(to_apply, state_identity, engine.parallelism)
    if stale:
        raise StalePlanError(
            "apply refused: the state moved since planning (terraform would say 'Saved plan is stale'): "
            + "; ".join(stale),
            hint="Plan again and get the new plan approved. Nothing was applied.",
        )


def _stale_states(
    plans: list[StackPlan], identity: Callable[[str], tuple[str | None, int | None]], parallelism: int
) -> list[str]:
    checked = [p for p in plans if p.plan_sha256 is not None]
    if not checked:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(checked)))) as pool:
        found = list(pool.map(lambda p: identity(p.stack), checked))
    out = []
    for sp, (lineage, serial) in zip(checked, found, strict=True):
        if (sp.lineage or None) != (lineage or None) or (sp.lineage and sp.serial != serial):
            before = f"serial {sp.serial}" if sp.lineage else "no state"
            after = f"serial {serial}" if lineage else "no state"
            if sp.lineage and lineage and sp.lineage != lineage:
                after = "another lineage"
            out.append(f"{sp.stack} ({before} -> {after})")
    return out


def _check_effective_config(engine: Engine, plans: list[StackPlan]) -> None:
    """Where and how each stack applies is what was planned (engine.effective)."""
    from orchestrator.engine.effective import differing_parts

    for sp in plans:
        if not sp.config_sha256:
            continue
        stack = engine.stack(sp.stack)
        changed = differing_parts(sp.config_sha256, engine.workdir.effective_config(stack))
        if changed:
            raise EffectiveConfigChanged(
                f"apply refused: the effective configuration of '{sp.stack}' changed since it was "
                f"planned ({', '.join(changed)}: its cloud target, backend, var files or the "
                "environment terraform gets, such as TF_VAR_ variables)",
                where=sp.stack,
                hint="Apply with the configuration and environment it was planned with, or plan again. "
                "Nothing was applied.",
            )


def _check_work_tree(engine: Engine, manifest: Manifest, plan_set: Path) -> None:
    """No uncommitted change anywhere in the repository outside .orchestrate/ (and the plan set
    being applied, when it was downloaded into the work tree): what is applied is exactly the
    approved commit (orchestrate.yaml, var files and modules included)."""
    changes = uncommitted_changes(engine.root, ignore=plan_set)
    if changes:
        shown = ", ".join(changes[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")
        raise ApprovalRefused(
            f"apply refused: the work tree has uncommitted changes ({shown})",
            hint=(
                f"Apply from a clean checkout of {manifest.commit[:12]}"
                if manifest.commit
                else "Commit or remove them"
            )
            + " (git status lists them). Nothing was applied.",
        )
