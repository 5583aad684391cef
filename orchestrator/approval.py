"""Who approved an apply, and the local ways to get that approval (pure where possible).

An ``Approval`` is what apply and destroy need before changing anything. Local sources:
``--approved-by NAME --reason TEXT`` (only when ``approval.allow_manual``) and an
interactive "yes" on a terminal. The GitHub source (reviews on the PR) builds the same
object (source="github") in the PR flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from orchestrator.config import ApprovalSettings
from orchestrator.errors import ApprovalRefused
from orchestrator.planset import LoadedPlanSet

# reconcile: the owners' standing approval, `reconcile: auto` on the default branch, for a drift
# remediation that passed every check of orchestrator.drift_pr.reconcile (docs/controller.md).
ApprovalSource = Literal["manual", "tty", "github", "reconcile"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Approval:
    source: ApprovalSource
    approver: str
    reason: str | None = None
    pr: int | None = None
    time: str = field(default_factory=_now)
    details: dict[str, Any] = field(default_factory=dict)  # e.g. reviewers, review ids
    # The plan set approved, as a value: its manifest id and the sha256 of the manifest.json
    # read at the command's boundary. Verification refuses any other manifest.
    manifest_id: str | None = None
    manifest_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def for_plan_set(self, plan_set: LoadedPlanSet) -> Approval:
        """This approval, bound to the plan set it was given for."""
        return replace(self, manifest_id=plan_set.manifest.id, manifest_sha256=plan_set.sha256)

    def covers(self, plan_set: LoadedPlanSet) -> bool:
        return self.manifest_id == plan_set.manifest.id and self.manifest_sha256 == plan_set.sha256

    def describe(self) -> str:
        how = {
            "manual": "--approved-by",
            "tty": "interactive confirmation",
            "github": f"PR #{self.pr}",
            "reconcile": "reconcile: auto on the default branch",
        }
        return f"{self.approver} ({how[self.source]})"


def manual_approval(settings: ApprovalSettings, approved_by: str | None, reason: str | None) -> Approval:
    """--approved-by/--reason -> Approval, or ApprovalRefused with the reason (pure)."""
    if approved_by is None and reason is None:
        raise ApprovalRefused("no approval given")
    if not settings.allow_manual:
        raise ApprovalRefused(
            "apply refused: manual approval (--approved-by) is disabled by approval.allow_manual: false",
            where="orchestrate.yaml",
            hint="Approve through the pull request (--pr N), or enable approval.allow_manual.",
        )
    if not approved_by or not approved_by.strip():
        raise ApprovalRefused(
            "apply refused: --reason needs --approved-by NAME", hint="Say who approves: --approved-by NAME."
        )
    if not reason or not reason.strip():
        raise ApprovalRefused(
            "apply refused: --approved-by needs --reason TEXT",
            hint="Say why, for the audit log: --reason 'ticket OPS-123'.",
        )
    return Approval("manual", approved_by.strip(), reason.strip())


def resolve_local_approval(
    settings: ApprovalSettings,
    *,
    approved_by: str | None,
    reason: str | None,
    interactive: bool,
    confirm: Callable[[], bool],
    user: str,
    what: str = "apply",
) -> Approval:
    """Flags first, else an interactive yes on a terminal, else refused (nothing applied)."""
    if approved_by is not None or reason is not None:
        return manual_approval(settings, approved_by, reason)
    if interactive:
        if confirm():
            return Approval("tty", user, "confirmed interactively")
        raise ApprovalRefused(f"{what} refused: not confirmed", hint="Nothing was changed.")
    raise ApprovalRefused(
        f"{what} refused: no approval (not a terminal, and no --approved-by NAME --reason TEXT)",
        hint="Run it in a terminal to confirm, pass --approved-by NAME --reason TEXT, "
        "or approve the pull request and use --pr N. Nothing was changed.",
    )
