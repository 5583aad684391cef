"""`--target-cloud` on plan and apply: the disaster-recovery view of the repository
(orchestrator/recovery.py, docs/disaster-recovery.md)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from orchestrator.commands._select import Selection
from orchestrator.engine.source import uncommitted_changes
from orchestrator.errors import ConfigError
from orchestrator.git import Repo
from orchestrator.layout import recovery_dir
from orchestrator.planset import latest_plan_set
from orchestrator.recovery import (
    TargetArg,
    check_accounts,
    parse_target_args,
    plan_recovery,
    recovery_workspace,
)
from orchestrator.ui import info, warn
from orchestrator.workspace import Workspace

target_cloud_option = click.option(
    "--target-cloud",
    "target_clouds",
    multiple=True,
    metavar="NAME|FROM=NAME",
    help="Disaster recovery: rebuild --env's stacks on this cloud target of orchestrate.yaml, with their "
    "own state (repeatable; FROM=NAME replaces one target; docs/disaster-recovery.md).",
)


def recovery_selection(stacks: Sequence[str], selection: Selection) -> str:
    """The one environment a recovery plan rebuilds; anything else selecting stacks is refused."""
    if stacks or selection.changed or selection.clouds or selection.no_dependents or selection.base:
        raise click.UsageError(
            "--target-cloud rebuilds a whole environment: use --env ENV, without STACKS, --changed, --cloud"
        )
    if len(selection.environments) != 1:
        raise click.UsageError("--target-cloud needs exactly one --env ENV")
    return selection.environments[0]


def require_committed(ws: Workspace) -> None:
    """A recovery is planned from a commit of the default branch: uncommitted changes, or a commit
    the remote's default branch does not contain, are not what was reviewed."""
    repo = Repo.find(ws.root)
    if repo is None:
        raise ConfigError(
            "recovery refused: not a git clone", hint="Plan a recovery in a clone of the default branch."
        )
    default = repo.rev("refs/remotes/origin/HEAD")
    head = repo.head()
    if default is not None and head is not None and repo.merge_base(head, default) != head:
        raise ConfigError(
            f"recovery refused: commit {head[:12]} is not on the remote's default branch",
            hint="Check out the default branch (or a commit of it): a recovery rebuilds what was reviewed "
            "and merged, with the recovery targets declared there. Nothing was planned.",
        )
    dirty = uncommitted_changes(ws.root)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise ConfigError(
            f"recovery refused: the work tree has uncommitted changes ({shown})",
            hint="Plan a recovery from a clean clone of the default branch. Nothing was planned.",
        )


def recovering(ws: Workspace, environment: str, values: Sequence[str], *, no_color: bool) -> Workspace:
    """The recovery workspace for ``environment`` onto ``values`` (checked), said on stderr."""
    plan = plan_recovery(ws, environment, parse_target_args(values))
    for notice in check_accounts(ws, plan, os.environ):
        warn(notice, no_color=no_color)
    mapping = ", ".join(f"{k} -> {v}" for k, v in plan.info.clouds.items())
    info(f"recovery of environment '{environment}': {mapping}", no_color=no_color)
    if plan.upstreams:
        info(
            f"also rebuilt, as the environment's stacks read their outputs: {', '.join(plan.upstreams)}",
            no_color=no_color,
        )
    return recovery_workspace(ws, plan)


def recovery_label(values: Sequence[str]) -> str:
    args: list[TargetArg] = parse_target_args(values)
    return "+".join(sorted({a.target for a in args}))


def latest_recovery_plan_set(root: Path, values: Sequence[str]) -> Path:
    return latest_plan_set(root, base=recovery_dir(recovery_label(values)) / "plans")
