"""Options and logic that choose which stacks a command works on."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from orchestrator.discovery import NoTerraformError
from orchestrator.errors import OrchestratorError
from orchestrator.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Selection:
    ids: list[str]  # in run order
    reasons: dict[str, list[str]] = field(default_factory=dict)  # only with --changed
    deleted: list[str] = field(default_factory=list)  # stacks removed in the diff


def selection_options(func: F) -> F:
    """--changed, --base, --no-dependents, --env/--environment, --cloud."""
    options = [
        click.option(
            "--changed", is_flag=True, help="Only stacks changed against --base, and their dependents."
        ),
        click.option(
            "--base", default=None, help="Git ref to compare with [merge-base with origin/main, else HEAD~1]."
        ),
        click.option(
            "--no-dependents", is_flag=True, help="With --changed: leave out dependents of changed stacks."
        ),
        click.option(
            "--env",
            "--environment",
            "environments",
            multiple=True,
            help="Only stacks of this environment (repeatable).",
        ),
        click.option("--cloud", "clouds", multiple=True, help="Only stacks on this cloud target."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


def _check_known(ws: Workspace, ids: Iterable[str]) -> None:
    import difflib

    for sid in ids:
        if sid not in ws.stacks:
            close = difflib.get_close_matches(sid, list(ws.stacks), n=1)
            raise OrchestratorError(
                f"unknown stack '{sid}'",
                hint=f"Did you mean '{close[0]}'?" if close else "`orchestrate list` shows every stack id.",
            )


def select_stacks(
    ws: Workspace,
    *,
    changed: bool = False,
    base: str | None = None,
    no_dependents: bool = False,
    environments: Sequence[str] = (),
    clouds: Sequence[str] = (),
    stacks: Sequence[str] = (),
    with_dependents: bool = False,
    runs_terraform: bool = False,
) -> Selection:
    """Stacks named (or all), narrowed by --changed and filters, in run order."""
    graph = ws.graph
    _check_known(ws, stacks)
    reasons: dict[str, list[str]] = {}
    deleted: list[str] = []
    if changed:
        from orchestrator.changes import changed_stacks

        result = changed_stacks(ws, base=base, include_dependents=not no_dependents)
        ids = set(result.reasons)
        reasons = result.reasons
        deleted = result.deleted
    else:
        ids = set(stacks) if stacks else set(graph.order)
        if stacks and with_dependents:
            ids |= graph.downstream_of(stacks)
    if stacks and changed:
        ids &= set(stacks)
    if environments:
        from orchestrator.envs.model import environment_of

        known = ws.config.environments
        for env in environments:
            if known and env not in known:
                raise OrchestratorError(
                    f"unknown environment '{env}'",
                    where="orchestrate.yaml",
                    hint=f"The environments are: {', '.join(known)}.",
                )
        ids = {s for s in ids if environment_of(ws.stacks[s], known) in environments}
    if clouds:
        ids = {s for s in ids if ws.stacks[s].cloud in clouds}
    ordered = graph.ordered(ids)
    for sid in ordered:
        # a problem that concerns one stack fails only the commands that work on it
        error = ws.stacks[sid].error
        if error is not None and (runs_terraform or not isinstance(error, NoTerraformError)):
            raise error
    return Selection(ordered, reasons, deleted)
