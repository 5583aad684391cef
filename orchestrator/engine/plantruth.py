"""The plan file is the truth (SPEC §11 "Plan sets"): what apply checks is derived from
``plan.tfplan`` itself, never taken from the ``plan.json`` beside it.

A plan set comes from a job that ran untrusted code; its manifest id and digests can be
recomputed by whoever built it. So before anything is applied, for each plan file:
``terraform show -json`` derives its plan JSON (what the policies are evaluated on), its
resource changes must equal the manifest's, and the configuration snapshot terraform stored
in it (``tfconfig/``) must equal the stack's files at the approved commit (the work tree,
which apply has checked is clean and at that commit).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from orchestrator.discovery import Stack
from orchestrator.engine.context import Engine
from orchestrator.errors import ApprovalRefused
from orchestrator.planset import PLAN_FILE, StackPlan
from orchestrator.planset_crypto import plain_plan_file
from orchestrator.terraform import runner as tf
from orchestrator.terraform.backend import OVERRIDE_FILE
from orchestrator.terraform.plan import summarize
from orchestrator.terraform.planjson import PlanJSON, plan_from_terraform

_CONFIG_SUFFIXES = (".tf", ".tf.json")


def derive_plan_json(engine: Engine, stack: Stack, plan_file: Path) -> PlanJSON:
    """``terraform show -json`` of a saved plan (kept only in memory: it holds secrets)."""
    work = engine.workdir.of(stack).dir
    work.mkdir(parents=True, exist_ok=True)
    out, log = work / "verify-plan.json", work / "verify.log"
    log.write_text("")
    env = engine.workdir.env(stack)
    try:
        engine.workdir.run(
            stack, tf.show_json_args(stack.dir, plan_file), env, log, stdout_path=out, report=False
        )
        text = out.read_bytes()
    finally:
        out.unlink(missing_ok=True)
    return plan_from_terraform(text, where=stack.id)


def snapshot_differences(plan_file: Path, stack_dir: Path, repo_root: Path) -> list[str]:
    """Configuration files where the plan's snapshot (tfconfig/) and the disk differ."""
    try:
        with zipfile.ZipFile(plan_file) as zf:
            modules = json.loads(zf.read("tfconfig/modules.json"))
            stored = {n: zf.read(n) for n in zf.namelist() if n.startswith("tfconfig/m-")}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        return [f"the plan file has no readable configuration snapshot ({exc})"]
    diffs: list[str] = []
    root = repo_root.resolve()
    for module in modules if isinstance(modules, list) else []:
        key, rel = str(module.get("Key", "")), str(module.get("Dir", ""))
        directory = (stack_dir / rel).resolve()
        if not directory.is_relative_to(root) or ".terraform" in directory.parts:
            continue  # a registry or remote module: pinned by the lock file and the plan
        prefix = f"tfconfig/m-{key}/"
        snap = {
            n[len(prefix) :]: data
            for n, data in stored.items()
            if n.startswith(prefix) and "/" not in n[len(prefix) :]
        }
        snap.pop(OVERRIDE_FILE, None)  # orchestrate's backend override: the backend is checked apart
        on_disk = {
            p.name: p.read_bytes()
            for p in directory.glob("*")
            if p.is_file() and p.name.endswith(_CONFIG_SUFFIXES) and p.name != OVERRIDE_FILE
        }
        shown = directory.relative_to(root).as_posix()
        for name in sorted(set(snap) | set(on_disk)):
            if snap.get(name) != on_disk.get(name):
                diffs.append(f"{shown}/{name}")
    return diffs


def check_plan_file(engine: Engine, plan_set: Path, sp: StackPlan, *, encrypted: bool) -> PlanJSON:
    """Refuse unless the plan file matches the approved commit and the manifest; returns the
    plan JSON derived from it. An ``encrypted`` plan file is decrypted into the stack's work
    directory only while terraform reads it."""
    stack = engine.stack(sp.stack)
    plan_file = plan_set / sp.slug / PLAN_FILE
    hint = "The plan set was altered after planning; plan again and get the new plan approved. Nothing was applied."
    what = f"{sp.slug}/{PLAN_FILE}"
    with plain_plan_file(plan_file, engine.workdir.of(stack).dir, encrypted=encrypted, what=what) as plain:
        differing = snapshot_differences(plain, stack.dir, engine.root)
        if differing:
            raise ApprovalRefused(
                f"apply refused: the configuration inside the plan file of '{sp.stack}' is not the approved "
                f"commit's ({', '.join(differing[:5])})",
                where=str(plan_file),
                hint=hint,
            )
        derived = derive_plan_json(engine, stack, plain)
    summary = summarize(derived)
    planned = [(rc.address, rc.actions) for rc in sp.resource_changes]
    found = [(rc.address, rc.actions) for rc in summary.resource_changes]
    counts_differ = sp.status == "changes" and summary.counts != sp.counts
    if sorted(planned) != sorted(found) or counts_differ:
        raise ApprovalRefused(
            f"apply refused: the plan file of '{sp.stack}' does not make the changes its manifest lists "
            f"({len(found)} resource changes in the file, {len(planned)} in the manifest)",
            where=str(plan_file),
            hint=hint,
        )
    return derived
