"""``reconcile: auto``: a drift scan applies a stack's remediation itself, when
orchestrator.drift_pr.reconcile allows it (the I/O around that pure decision).

Everything that decides is read from the default branch: the stack's setting (orchestrate.yaml
and stack.yaml at the fetched base commit, through git, never the work tree), the policies (the
workspace is judged by the base's rules before the engine exists) and the apply records (fetched
from the remote; an unreadable remote refuses). The remediation is planned from the work tree,
whose files of the stack the caller has proven identical to the base's and committed; the plan
set is bound to HEAD and applied through the same verification as every apply (approval bound
to the manifest, source digests, policies again, the state not moved since planning). The
approval is ``source: reconcile`` and carries the drift report that caused it, so the audit log
and the git note record (refs/notes/orchestrate) both hold it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from orchestrator.approval import Approval
from orchestrator.config import STACK_CONFIG_NAME, RootConfig, parse_stack_config
from orchestrator.controller.driftlog import last_reconciles
from orchestrator.discovery import Stack
from orchestrator.drift.model import DriftReport, StackDrift
from orchestrator.drift_pr.gitops import DriftGit
from orchestrator.drift_pr.reconcile import (
    LastReconcile,
    Setting,
    effective_setting,
    plan_reasons,
    planned_changes,
    scan_reasons,
)
from orchestrator.drift_pr.remediate import Remediation, plan_remediation
from orchestrator.envs.records import Record
from orchestrator.envs.store import NOTES_REF, RecordStore
from orchestrator.errors import GitError, OrchestratorError
from orchestrator.jsontypes import JSONValue
from orchestrator.redact import Redactor, sensitive_values
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from orchestrator.engine.context import Engine

APPROVER = "orchestrate (reconcile: auto)"


@dataclass
class Attempt:
    """What happened to one drifted stack: applied (with its record), or the reasons it was not."""

    setting: Setting | None
    reasons: list[str] = field(default_factory=list)
    applied: bool = False
    remediation: Remediation | None = None  # planned and not applied: the PR reuses it
    record: str | None = None
    error: str | None = None  # the automatic apply failed
    warnings: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def drift_evidence(entry: StackDrift, report: DriftReport) -> dict[str, JSONValue]:
    """The drift report's part that caused an automatic apply, as it goes into the records."""
    changed: list[JSONValue] = list(entry.changed_json())
    missing: list[JSONValue] = list(entry.missing_json())
    return {
        "stack": entry.stack,
        "fingerprint": entry.fingerprint,
        "scanned_at": report.scanned_at,
        "scanned_commit": report.commit,
        "mode": entry.mode,
        "changed": changed,
        "missing": missing,
    }


class Reconciler:
    """One scan's automatic reconciliations. ``base`` is the base branch's fetched commit and
    ``rules`` its orchestrate.yaml."""

    def __init__(
        self,
        ws: Workspace,
        git: DriftGit,
        base_sha: str,
        rules: RootConfig,
        engine: Callable[[], Engine],
        redactor: Redactor,
        progress: Callable[[str], None],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ws = ws
        self.git = git
        self.base_sha = base_sha
        self.rules = rules
        self.engine = engine
        self.redactor = redactor
        self.progress = progress
        self.now = now
        self._records: list[Record] | None = None
        self._records_error: str | None = None

    # ------------------------------------------------------------ reading the base

    def setting(self, stack: Stack) -> Setting:
        """The stack's setting from the base commit's files (never the work tree's)."""
        rel = f"{stack.path}/{STACK_CONFIG_NAME}" if stack.path not in ("", ".") else STACK_CONFIG_NAME
        shown = f"{rel} at {self.base_sha[:12]}"
        text = self.git.read_file(self.base_sha, self.git.path(rel))
        own = parse_stack_config(text, shown) if text is not None else None
        config_name = self.ws.config_file or "orchestrate.yaml"
        return effective_setting(
            self.rules,
            own,
            path=stack.path,
            stack_id=stack.id,
            workspace=own.workspace if own is not None else stack.workspace,
            config_name=f"{config_name} at {self.base_sha[:12]}",
            stack_yaml=shown,
        )

    def _read_records(self) -> list[Record]:
        """The apply records, fetched from the remote once per run (an error refuses every auto)."""
        if self._records is None:
            store = RecordStore(self.ws.root)
            try:
                if store.repo.has_remote():
                    with store.repo.notes_lock():
                        store.repo.fetch_notes(NOTES_REF)
                self._records = store.read(fetch=False).records
            except OrchestratorError as exc:
                self._records = []
                self._records_error = exc.one_line()
        return self._records

    def last_reconcile(self, sid: str) -> tuple[LastReconcile | None, str | None]:
        """(the stack's newest automatic apply, why the records could not be read)."""
        return last_reconciles(self._read_records()).get(sid), self._records_error

    def sync(self, stack: Stack, head: str) -> str:
        """in-sync when the stack's files at ``head`` are those of its last apply on record: the
        remediation then restores what was applied, never a merged change nobody applied yet."""
        from orchestrator.controller.status import last_applies, sync_state

        last = last_applies(self._read_records()).get(stack.id)
        return sync_state(self.git.repo, head, stack, last)

    # ------------------------------------------------------------ the attempt

    def judge_only(self, stack: Stack, entry: StackDrift, open_pull: int) -> Attempt:
        """Why a drifted stack with an open drift PR is not reconciled (nothing planned)."""
        setting = self._setting_or_reason(stack)
        if isinstance(setting, str):
            return Attempt(None, [setting])
        if setting.mode != "auto":
            return Attempt(setting, [setting.describe()])
        return Attempt(setting, [f"a drift pull request is already open (#{open_pull}): a person decides"])

    def _setting_or_reason(self, stack: Stack) -> Setting | str:
        try:
            return self.setting(stack)
        except OrchestratorError as exc:
            return f"the stack's reconcile setting could not be read from the base branch: {exc.one_line()}"

    def attempt(
        self,
        stack: Stack,
        entry: StackDrift,
        report: DriftReport,
        check_checkout: Callable[[], None],
    ) -> Attempt:
        """Reconcile a drifted stack that has no open drift PR, or say why not."""
        setting = self._setting_or_reason(stack)
        if isinstance(setting, str):
            return Attempt(None, [setting])
        if setting.mode != "auto":
            return Attempt(setting, [setting.describe()])
        head = self.git.head()
        if head is None:
            raise GitError("the repository has no commit to bind the remediation to")
        last, records_error = self.last_reconcile(stack.id)
        reasons = scan_reasons(
            setting,
            entry,
            open_pull=None,
            last=last,
            records_error=records_error,
            sync=self.sync(stack, head) if records_error is None else None,
            window=self.rules.reconcile.window,
            window_seconds=self.rules.reconcile.window_seconds,
            now=self.now(),
        )
        if reasons:
            return Attempt(setting, reasons)
        check_checkout()  # the plan is the base's code, committed (raises: the stack fails)
        self.progress(f"{stack.id}: planning the remediation (reconcile: auto)")
        engine = self.engine()
        rem = plan_remediation(engine, stack.id, head)
        if rem.plan_json is not None:
            self.redactor.add_secrets(sensitive_values(rem.plan_json))
        expected = self.ws.rules is not None and bool(self.ws.rules.policy_files)
        changes = planned_changes(rem.plan_json or {})
        reasons = plan_reasons(
            entry, rem.plan.status, changes, rem.manifest.policy, policies_expected=expected
        )
        if reasons:
            return Attempt(setting, reasons, remediation=rem)
        return self._apply(stack, entry, report, setting, rem, head)

    def _redacted(self, details: dict[str, JSONValue]) -> dict[str, JSONValue]:
        shown = self.redactor.data(details)
        return shown if isinstance(shown, dict) else {}

    def _apply(
        self,
        stack: Stack,
        entry: StackDrift,
        report: DriftReport,
        setting: Setting,
        rem: Remediation,
        head: str,
    ) -> Attempt:
        from orchestrator.engine.apply import apply_plan_set
        from orchestrator.envs.recording import record_apply
        from orchestrator.planset import load_plan_set

        engine = self.engine()
        loaded = load_plan_set(rem.dir)
        details: dict[str, JSONValue] = {
            "setting": setting.source,
            "window": self.rules.reconcile.window,
            "base": self.base_sha,
            "drift": drift_evidence(entry, report),
        }
        approval = Approval(
            "reconcile",
            APPROVER,
            reason=f"drift {entry.fingerprint} put back: {setting.describe()}",
            details=self._redacted(details),
        ).for_plan_set(loaded)
        self.progress(f"{stack.id}: applying the remediation {loaded.manifest.id} (reconcile: auto)")
        try:
            run = apply_plan_set(engine, loaded, approval)
        except OrchestratorError as exc:  # refused before anything ran (audited): a person decides
            return Attempt(setting, [f"the automatic apply was refused: {exc.one_line()}"])
        attempted = {sid: r for sid, r in run.results.items() if r.status != "skipped"}
        result = {0: "applied", 1: "failed", 2: "re-approval-needed", 130: "interrupted"}.get(
            run.exit_code, "failed"
        )
        recorded = record_apply(
            self.ws,
            kind="apply",
            commit=head,
            plan_set=loaded.manifest.id,
            approval=approval,
            results=attempted,
            result=result,
            sources={s.stack: s.source_sha256 for s in loaded.manifest.stacks},
        )
        out = Attempt(
            setting,
            remediation=rem,
            record=recorded.record.id if recorded.record is not None else None,
            warnings=list(recorded.warnings),
        )
        mine = run.results.get(stack.id)
        if run.exit_code == 0 and mine is not None and mine.status in ("applied", "no-changes"):
            out.applied = True
        else:
            detail = (mine.error or mine.detail) if mine is not None else result
            out.error = f"the automatic apply {result}: {detail}"
        return out
