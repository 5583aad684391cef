"""A plan set on disk -> the plain data the comment and summary renderers take.

Reads the manifest, each stack's plan JSON (rendered as a diff), policy.json and the end of
a failed stack's log. Builds the Redactor for everything published: the ``redact:`` patterns
plus every value any plan in the set marks sensitive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import PlanSetError
from orchestrator.planset import LOG_FILE, PLAN_JSON, PLAN_TEXT, POLICY_FILE, Manifest, read_plan_json
from orchestrator.planset_crypto import IDENTITY_ENV, identity_available
from orchestrator.redact import Redactor, sensitive_values
from orchestrator.render.comment import (
    MERMAID_MAX_NODES,
    CommentData,
    StackSection,
    policy_from_report,
    stack_classes,
)
from orchestrator.render.plandiff import placeholder_upstreams, render_plan_diff
from orchestrator.terraform.planjson import PlanJSON
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from orchestrator.policy.report import PolicyReport

LOG_TAIL_LINES = 40


def read_policy_report(plan_set: Path) -> PolicyReport | None:
    """policy.json as an orchestrator.policy PolicyReport, or None when policies did not run."""
    path = plan_set / POLICY_FILE
    if not path.is_file():
        return None
    from orchestrator.policy import PolicyReport

    try:
        return PolicyReport.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlanSetError(f"{POLICY_FILE} is unreadable or corrupt ({exc})", where=str(path)) from exc


def _text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").rstrip() + "\n"
    except OSError:
        return None


def _tail(path: Path, lines: int) -> str | None:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(kept) + "\n" if kept else None


def build_redactor(ws: Workspace, plans: Mapping[str, PlanJSON], extra: Sequence[str] = ()) -> Redactor:
    secrets: set[str] = set(extra)
    for plan in plans.values():
        secrets |= sensitive_values(plan)
    return Redactor(ws.config.redact, secrets)


def _promotion(ws: Workspace, manifest: Manifest) -> tuple[list[tuple[str, bool | None, str]], list[str]]:
    """approval.promotion: per stack with changes, whether its content passed the previous environment."""
    if not ws.config.approval.promotion or manifest.kind == "destroy":
        return [], []
    from orchestrator.envs.promotion import status

    stacks = [s.stack for s in manifest.stacks if s.status in ("changes", "provisional")]
    if not stacks:
        return [], []
    results, warnings = status(ws, stacks)
    return [(p.stack, p.ok if p.required else None, p.text()) for p in results], warnings


def plan_jsons(
    plan_set: Path, manifest: Manifest, known: Mapping[str, PlanJSON]
) -> tuple[dict[str, PlanJSON], list[str]]:
    """Each stack's plan JSON (``known`` first, then the plan set's), and the stacks whose
    encrypted plan JSON could not be read here."""
    plans = dict(known)
    hidden: list[str] = []
    for sp in manifest.stacks:
        if sp.stack in plans or not (plan_set / sp.slug / PLAN_JSON).is_file():
            continue
        if manifest.encrypted and not identity_available():
            hidden.append(sp.stack)
            continue
        try:
            plans[sp.stack] = read_plan_json(plan_set, sp.slug, encrypted=manifest.encrypted)
        except PlanSetError:
            if not manifest.encrypted:
                raise
            hidden.append(sp.stack)  # a wrong identity: say so, never fail the rendering
    return plans, hidden


def encrypted_note(hidden: Sequence[str]) -> str:
    return (
        f"The plans of {', '.join(hidden)} are encrypted (age) and cannot be read here "
        f"({IDENTITY_ENV} is not set or is not their identity): the counts are the manifest's and "
        "each plan is shown as terraform printed it (plan.txt, redacted), without orchestrate's diff."
    )


def comment_data(
    ws: Workspace,
    plan_set: Path,
    manifest: Manifest,
    *,
    reasons: Mapping[str, Sequence[str]] | None = None,
    deleted: Sequence[str] = (),
    policy: PolicyReport | None = None,
    plans: Mapping[str, PlanJSON] | None = None,
    run_url: str | None = None,
    pr: int | None = None,
    warnings: Sequence[str] = (),
    where_full: str | None = None,
) -> tuple[CommentData, Redactor]:
    """Everything the PR comment shows about ``plan_set``, and the Redactor to publish it with.

    ``plans``: plan JSONs already in memory (the plan job's own), read from the plan set
    otherwise. An encrypted plan set's details need ORCHESTRATE_AGE_IDENTITY; without it (or
    with the wrong one) the comment shows the manifest's counts and says why not more."""
    reasons = reasons or {}
    plans, hidden = plan_jsons(plan_set, manifest, plans or {})
    if hidden:
        warnings = [*warnings, encrypted_note(hidden)]
    if policy is None:
        policy = read_policy_report(plan_set)
    redactor = build_redactor(ws, plans)
    sections = _stack_sections(ws, plan_set, manifest, plans, hidden, policy, reasons)
    mermaid_text, graph_note = _graph(ws, manifest, sections, reasons)
    promotion, promotion_warnings = _promotion(ws, manifest)
    summary = manifest.policy or {}
    if where_full is None:
        where_full = f"the plan set `{manifest.id}`" + (
            " (the plan job's artifact in the workflow run)" if run_url else f" (`{plan_set}`)"
        )
    data = CommentData(
        manifest=manifest,
        sections=sections,
        mermaid=mermaid_text,
        graph_note=graph_note,
        deleted=list(deleted),
        enforcement=summary.get("enforcement") if summary else getattr(policy, "enforcement", None),
        policy_blocking=bool(summary.get("blocking"))
        if summary
        else bool(getattr(policy, "blocking", False)),
        run_url=run_url,
        where_full=where_full,
        pr=pr if pr is not None else manifest.pr,
        warnings=[*warnings, *promotion_warnings],
        promotion=promotion,
    )
    return data, redactor


def _stack_sections(
    ws: Workspace,
    plan_set: Path,
    manifest: Manifest,
    plans: Mapping[str, PlanJSON],
    hidden: Sequence[str],
    policy: PolicyReport | None,
    reasons: Mapping[str, Sequence[str]],
) -> list[StackSection]:
    """One section a planned stack: its diff (or the stored text when encrypted), policy, reasons, log tail."""
    sections = []
    for sp in manifest.stacks:
        diff = None
        if sp.stack in hidden:
            diff = _text(plan_set / sp.slug / PLAN_TEXT)
        elif sp.stack in plans:
            sources = ws.stacks[sp.stack].config.inputs if sp.stack in ws.stacks else {}
            diff, _ = render_plan_diff(
                plans[sp.stack], placeholders=placeholder_upstreams(sp.inputs, sources)
            )
        log_tail = _tail(plan_set / sp.slug / LOG_FILE, LOG_TAIL_LINES) if sp.status == "failed" else None
        sections.append(
            StackSection(
                plan=sp,
                diff=diff,
                policy=policy_from_report(policy, sp.stack),
                reasons=tuple(reasons.get(sp.stack, ())),
                log_tail=log_tail,
            )
        )
    return sections


def _graph(
    ws: Workspace,
    manifest: Manifest,
    sections: Sequence[StackSection],
    reasons: Mapping[str, Sequence[str]],
) -> tuple[str | None, str | None]:
    """The mermaid graph of the planned stacks, or a note when there are too many to draw."""
    graph = ws.graph
    ids = [s.stack for s in manifest.stacks if s.stack in graph.stacks]
    if len(ids) > MERMAID_MAX_NODES:
        return None, (
            f"{len(ids)} stacks are affected: too many to draw here; run `orchestrate graph --changed`."
        )
    if not ids:
        return None, None
    from orchestrator.render.graphs import mermaid

    return mermaid(graph, ids, stack_classes(sections, reasons)), None
