"""Options and logic that choose which stacks a command works on."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import click

from orchestrator.discovery import NoTerraformError
from orchestrator.errors import OrchestratorError
from orchestrator.workspace import Workspace

R = TypeVar("R")


@dataclass(frozen=True)
class Selection:
    """What the user asked for: stacks named (none: all), --changed against --base (with or
    without dependents), and the --environment/--cloud filters."""

    stacks: tuple[str, ...] = ()
    changed: bool = False
    base: str | None = None
    no_dependents: bool = False
    environments: tuple[str, ...] = ()
    clouds: tuple[str, ...] = ()
    with_dependents: bool = False  # stacks named: add what depends on them
    runs_terraform: bool = False  # a stack without Terraform code is an error, not skipped

    def naming(self, stacks: Sequence[str]) -> Selection:
        return replace(self, stacks=tuple(stacks))

    def for_terraform(self) -> Selection:
        return replace(self, runs_terraform=True)


@dataclass
class Selected:
    ids: list[str]  # in run order
    reasons: dict[str, list[str]] = field(default_factory=dict)  # only with --changed
    deleted: list[str] = field(default_factory=list)  # stacks removed in the diff


def selection_options(func: Callable[..., R]) -> Callable[..., R]:
    """--changed, --base, --no-dependents, --env/--environment, --cloud, passed to the command as
    one ``selection: Selection`` argument."""

    @functools.wraps(func)
    def with_selection(
        *args: object,
        changed: bool,
        base: str | None,
        no_dependents: bool,
        environments: Iterable[str],
        clouds: Iterable[str],
        **kwargs: object,
    ) -> R:
        selection = Selection(
            changed=changed,
            base=base,
            no_dependents=no_dependents,
            environments=tuple(environments),
            clouds=tuple(clouds),
        )
        return func(*args, selection=selection, **kwargs)

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
    wrapped: Callable[..., R] = with_selection
    for opt in reversed(options):
        wrapped = opt(wrapped)
    return wrapped


def _check_known(ws: Workspace, ids: Iterable[str]) -> None:
    import difflib

    for sid in ids:
        if sid not in ws.stacks:
            close = difflib.get_close_matches(sid, list(ws.stacks), n=1)
            raise OrchestratorError(
                f"unknown stack '{sid}'",
                hint=f"Did you mean '{close[0]}'?" if close else "`orchestrate list` shows every stack id.",
            )


def select_stacks(ws: Workspace, selection: Selection) -> Selected:
    """Stacks named (or all), narrowed by --changed and filters, in run order."""
    graph = ws.graph
    stacks, changed, base = selection.stacks, selection.changed, selection.base
    environments, clouds = selection.environments, selection.clouds
    _check_known(ws, stacks)
    reasons: dict[str, list[str]] = {}
    deleted: list[str] = []
    if changed:
        from orchestrator.changes import changed_stacks

        result = changed_stacks(ws, base=base, include_dependents=not selection.no_dependents)
        ids = set(result.reasons)
        reasons = result.reasons
        deleted = result.deleted
    else:
        ids = set(stacks) if stacks else set(graph.order)
        if stacks and selection.with_dependents:
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
        if error is not None and (selection.runs_terraform or not isinstance(error, NoTerraformError)):
            raise error
    return Selected(ordered, reasons, deleted)


def reconcile_option(func: Callable[..., R]) -> Callable[..., R]:
    """--reconcile auto|pr: only stacks with that reconcile setting (passed as ``reconcile``)."""
    return click.option(
        "--reconcile",
        "reconcile",
        type=click.Choice(["auto", "pr"]),
        default=None,
        help="Only stacks whose reconcile setting is this, in the checked-out orchestrate.yaml and "
        "stack.yaml (CI: scan auto stacks with the apply identity, the rest with the plan identity).",
    )(func)


def by_reconcile(ws: Workspace, ids: Sequence[str], mode: str | None) -> list[str]:
    """``ids`` whose reconcile setting (from the checked-out files) is ``mode``; all for None."""
    if mode is None:
        return list(ids)
    from orchestrator.drift_pr.reconcile import checkout_setting

    return [sid for sid in ids if checkout_setting(ws.config, ws.stacks[sid]).mode == mode]
