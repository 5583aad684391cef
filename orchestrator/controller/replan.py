"""When `apply --merged` stops with "needs approval": plan the affected stacks again at the merged
commit, so the merged PR shows what applying the default branch would now do.

The affected stacks are those the merge changed and those of the refused plan set (still
present). The plan is a normal plan set under .orchestrate/plans/, judged by the rules
(approval, policies, redact) of the default branch before the merge — the merge's first
parent — never by what the merge brought. Nothing here applies anything: the plan set is
approved and applied like any other (docs/controller.md, "When apply --merged needs approval").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.changes import stacks_for_files
from orchestrator.config import RootConfig
from orchestrator.engine.context import Engine
from orchestrator.engine.plan import PlanOptions, PlanRun, plan_stacks
from orchestrator.errors import OrchestratorError
from orchestrator.git import Repo
from orchestrator.planset import Manifest
from orchestrator.progress import Progress, QuietProgress
from orchestrator.render.summary import render_replan
from orchestrator.rules import read_base_rules
from orchestrator.workspace import Workspace


@dataclass(frozen=True)
class MergedCommit:
    """What a re-plan needs to know about the merge, independent of the refused plan set."""

    root: Path
    config_file: str | None
    head_config: RootConfig  # orchestrate.yaml as checked out (before any rules were adopted)
    commit: str  # the merged commit (HEAD)
    parent: str  # the default branch before the merge (the merge's first parent)


@dataclass(frozen=True)
class Replan:
    markdown: str  # for the merged PR's comment
    run: PlanRun | None = None
    error: str | None = None


def affected_stacks(ws: Workspace, repo: Repo, merge: MergedCommit, refused: Manifest | None) -> list[str]:
    """Stacks the merge changed, plus those of the refused plan set that still exist."""
    prefix = repo.root_prefix()
    changed = [
        p[len(prefix) + 1 :] if prefix and p.startswith(prefix + "/") else p
        for p in repo.changed_paths(merge.parent, merge.commit)
    ]
    ids = set(stacks_for_files(ws.stacks, changed))
    if refused is not None:
        ids.update(s.stack for s in refused.stacks if s.stack in ws.stacks)
    return sorted(ids)


def replan_merged(merge: MergedCommit, refused: Manifest | None, progress: Progress | None = None) -> Replan:
    """Plan the affected stacks at the merged commit; a failure is reported, never raised."""
    try:
        repo = Repo.open(merge.root, hint="apply --merged plans again in a clone.")
        ws = Workspace(root=merge.root, config=merge.head_config, config_file=merge.config_file)
        ws.judge_by(read_base_rules(repo, merge.config_file, merge.head_config, merge.parent, merge.commit))
        ids = affected_stacks(ws, repo, merge, refused)
        if not ids:
            return Replan(render_replan(merge.commit, None, error="no stack of the merge is left to plan"))
        engine = Engine.create(ws, progress=progress or QuietProgress())
        # a re-plan of an encrypted plan set is encrypted to its recipients too
        sealed_to = refused.encryption.recipients if refused is not None and refused.encryption else []
        run = plan_stacks(engine, PlanOptions(stacks=ids, encrypt_to=sealed_to))
    except OrchestratorError as exc:
        return Replan(render_replan(merge.commit, None, error=exc.message), error=exc.message)
    data = run.manifest.canonical()
    return Replan(render_replan(merge.commit, data, allow_manual=ws.config.approval.allow_manual), run=run)
