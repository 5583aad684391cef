"""`drift --open-pr`: keep one pull request per drifted stack, stack by stack.

For each scanned stack the open drift pull requests of its branch are looked up and
``decide`` says what to do: open one (branch, commit, remediation plan set, push, PR,
labels), update it (a new commit on the current base, a new plan set, a force-push with a
lease, the new title and body), leave it (unchanged drift, a scan error, someone else's
commits), or close it with a comment (the drift is gone). A failure of one stack (push
rejected, GitHub failing, plan failed) is recorded for it and the next stack goes on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

from orchestrator.discovery import Stack
from orchestrator.drift.model import DriftReport, StackDrift
from orchestrator.drift_pr.autoapply import Attempt, Reconciler
from orchestrator.drift_pr.decide import Decision, decide, drift_pulls, stale_reason
from orchestrator.drift_pr.gitops import DriftGit
from orchestrator.drift_pr.meta import DriftMeta, parse_meta_block
from orchestrator.drift_pr.record import (
    BRANCH_PREFIX,
    branch_name,
    build_record,
    parse_record,
    record_path,
    record_text,
)
from orchestrator.drift_pr.remediate import Remediation, plan_remediation, rebind_remediation
from orchestrator.errors import EXIT_ERROR, GitError, GitHubError, Interrupted, OrchestratorError
from orchestrator.github import GitHub, GitHubSettings, PullRequest
from orchestrator.jsontypes import JSONValue
from orchestrator.redact import Redactor, sensitive_values
from orchestrator.render.drift_pr import (
    BodyData,
    close_comment,
    duplicate_comment,
    gone_comment,
    render_body,
    title,
)
from orchestrator.render.escape import output_entry
from orchestrator.rules import read_base_rules
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from orchestrator.engine.context import Engine

Outcome = Literal["opened", "updated", "unchanged", "closed", "left", "failed", "reconciled"]


class _PullRef(TypedDict, total=False):
    """The fields of a PrOutcome that name its branch and open pull request."""

    branch: str
    number: int
    url: str
    head: str


class _Applied(TypedDict):
    """The fields of a PrOutcome of an automatic reconcile: its plan set and record."""

    branch: None
    record: str | None
    plan_set: str | None
    plan_set_dir: str | None
    head: str | None


@dataclass
class PrOutcome:
    stack: str
    action: Outcome
    number: int | None = None
    url: str | None = None
    branch: str | None = None
    head: str | None = None
    plan_set: str | None = None
    plan_set_dir: str | None = None
    reason: str | None = None
    error: str | None = None
    record: str | None = None  # reconciled: the apply record (git note, audit log)
    reconcile: str | None = None  # drifted and not reconciled automatically: why

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "stack": self.stack,
            "action": self.action,
            "number": self.number,
            "url": self.url,
            "branch": self.branch,
            "head": self.head,
            "plan_set": self.plan_set,
            "plan_set_dir": self.plan_set_dir,
            "reason": self.reason,
            "error": self.error,
            "record": self.record,
            "reconcile": self.reconcile,
        }

    def line(self) -> str:
        pr = f" #{self.number}" if self.number is not None else ""
        if self.action == "failed":
            return f"{self.stack}: drift pull request failed: {self.error}"
        verb = {
            "opened": "opened pull request",
            "updated": "updated pull request",
            "unchanged": "left pull request",
            "closed": "closed pull request",
            "left": "left pull request",
            "reconciled": "reconciled automatically",
        }[self.action]
        text = f"{self.stack}: {verb}{pr}"
        if self.reason:
            text += f" ({self.reason})"
        if self.plan_set and self.action in ("opened", "updated"):
            text += f"; plan set {self.plan_set}"
        if self.record:
            text += f"; record {self.record}"
        if self.url:
            text += f": {self.url}"
        return text


@dataclass
class DriftPrRun:
    outcomes: list[PrOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[PrOutcome]:
        return [o for o in self.outcomes if o.action == "failed"]

    @property
    def reconciled(self) -> list[str]:
        """Stacks whose drift was put back automatically in this run."""
        return [o.stack for o in self.outcomes if o.action == "reconciled"]

    def exit_code(self, scan_exit_code: int) -> int:
        """The scan's code (0 clean, 2 drift, 1 unreadable), or 1 when a pull request failed."""
        return EXIT_ERROR if self.failed else scan_exit_code

    def to_json(self) -> list[dict[str, JSONValue]]:
        return [o.to_json() for o in self.outcomes]

    def github_output(self) -> list[dict[str, JSONValue]]:
        """What a workflow needs to keep each new plan set as an artifact named for its PR and head."""
        return [
            {
                "stack": o.stack,
                "number": o.number,
                "head": o.head,
                "plan_set": o.plan_set,
                "dir": o.plan_set_dir,
            }
            for o in self.outcomes
            if o.action in ("opened", "updated") and o.number is not None
        ]


def code_paths(ws: Workspace, stack: Stack) -> list[str]:
    """Files (relative to the orchestrate root) whose content the stack's plan depends on: its
    directory, its local modules, orchestrate.yaml, and var files outside its directory."""
    from orchestrator.changes import var_file_paths

    paths = [stack.path, *stack.module_paths]
    if ws.config_file is not None:
        paths.append(ws.config_file)
    paths += [p for p, _ in var_file_paths(stack)]
    return paths


class DriftPullRequests:
    """One run of ``drift --open-pr`` over a scan report. GitHub, Git and the engine are
    injectable (tests pass a client with short retries); by default they are built from ``ws``."""

    def __init__(
        self,
        ws: Workspace,
        settings: GitHubSettings,
        *,
        gh: GitHub | None = None,
        git: DriftGit | None = None,
        engine: Engine | None = None,
        progress: Callable[[str], None] = lambda _m: None,
        no_color: bool = False,
    ) -> None:
        self.ws = ws
        self.settings = settings
        self.labels = list(ws.config.drift.labels)
        self._gh = gh
        self.git = git if git is not None else DriftGit(ws.root)
        self._engine = engine
        self.progress = progress
        self.no_color = no_color
        self.redactor = Redactor(ws.config.redact)
        self.base = ws.config.drift.base_branch or ""
        self.base_sha = ""
        self._pulls: list[PullRequest] | None = None
        self._pulls_error: GitHubError | None = None
        self._labels_ready = False
        self.branches: dict[str, str] = {}
        self._reconcile: Reconciler | None = None

    @classmethod
    def prepare(
        cls,
        ws: Workspace,
        *,
        env: Mapping[str, str] | None = None,
        progress: Callable[[str], None] = lambda _m: None,
        no_color: bool = False,
    ) -> DriftPullRequests:
        """Check what --open-pr needs before scanning: GitHub settings and a clone with a remote."""
        settings = GitHubSettings.from_env(ws.config.github, env)
        settings.require()
        return cls(ws, settings, progress=progress, no_color=no_color)

    # ------------------------------------------------------------ lazily built edges

    @property
    def gh(self) -> GitHub:
        if self._gh is None:
            self._gh = GitHub(self.settings, redactor=self.redactor)
        return self._gh

    def engine(self) -> Engine:
        if self._engine is None:
            from orchestrator.engine.context import Engine
            from orchestrator.progress import make_progress

            self._engine = Engine.create(self.ws, progress=make_progress(self.no_color))
        return self._engine

    def open_pulls(self) -> list[PullRequest]:
        """Every open PR whose branch is a drift branch (listed once per run)."""
        if self._pulls_error is not None:
            raise self._pulls_error
        if self._pulls is None:
            try:
                pulls = self.gh.find_pulls(state="open")
            except GitHubError as exc:
                self._pulls_error = exc
                raise
            self._pulls = [p for p in pulls if p.head_ref.startswith(BRANCH_PREFIX)]
        return self._pulls

    # ------------------------------------------------------------ the run

    def run(self, shown: DriftReport, redactor: Redactor, *, full_scan: bool) -> DriftPrRun:
        """Act on every stack of ``shown`` (the redacted report: DriftReport.redacted)."""
        self.redactor = redactor
        if self._gh is not None:
            self._gh.redactor = redactor
        result = DriftPrRun()
        try:
            if not self.base:
                self.base = self.gh.default_branch()
            self.base_sha = self.git.fetch(self.base, BRANCH_PREFIX)
            self.branches = self.git.remote_branches(BRANCH_PREFIX)
            self._reconcile = self._reconciler()
        except OrchestratorError as exc:
            # Nothing can be done for any stack; say so for each one that needed something.
            for e in shown.stacks:
                if e.status in ("drifted", "clean"):
                    result.outcomes.append(PrOutcome(e.stack, "failed", error=exc.one_line()))
            return result
        for e in shown.stacks:
            sid = e.stack
            try:
                outcome = self._stack(e, shown, result)
            except Interrupted:
                raise
            except OrchestratorError as exc:
                outcome = PrOutcome(sid, "failed", branch=self._branch(sid), error=exc.one_line())
            except Exception as exc:  # a bug must not lose the other stacks' pull requests
                outcome = PrOutcome(sid, "failed", branch=self._branch(sid), error=f"internal error: {exc!r}")
            if outcome is not None:
                result.outcomes.append(outcome)
                self.progress(outcome.line())
        if full_scan:
            self._close_removed(result)
        return result

    @property
    def reconciler(self) -> Reconciler:
        if self._reconcile is None:
            raise RuntimeError("run() builds the reconciler once the base is fetched")
        return self._reconcile

    def _reconciler(self) -> Reconciler:
        """The base's rules judge this run: its policies evaluate every remediation plan (before
        the engine is built) and its orchestrate.yaml and stack.yaml say which stacks may be
        reconciled automatically. The work tree never does."""
        rules = read_base_rules(self.git.repo, self.ws.config_file, self.ws.config, self.base_sha, None)
        if self._engine is None:
            self.ws.judge_by(rules)
        return Reconciler(
            self.ws, self.git, self.base_sha, rules.config, self.engine, self.redactor, self.progress
        )

    def _branch(self, sid: str) -> str | None:
        stack = self.ws.stacks.get(sid)
        return branch_name(stack.slug) if stack is not None else None

    def _stack(self, entry: StackDrift, report: DriftReport, result: DriftPrRun) -> PrOutcome | None:
        sid = entry.stack
        stack = self.ws.stacks[sid]
        branch = branch_name(stack.slug)
        status = entry.status
        pulls = drift_pulls(self.open_pulls(), branch, self.base)
        record = self.git.path(record_path(stack.slug))
        paths = self.git.paths(code_paths(self.ws, stack))
        fingerprint = entry.fingerprint

        def base_code_same(base: str) -> bool:
            try:
                return self.git.same_content(base, self.base_sha, paths)
            except GitError:
                return False  # the old base is not here (a shallow clone): plan again

        decision = decide(
            status,
            pulls,
            ours=lambda pr: self._ours(pr, record),
            stale=lambda pr: stale_reason(
                pr,
                parse_meta_block(pr.body),
                fingerprint,
                base_code_same=base_code_same,
                state_now=lambda: self.engine().states.identity(sid),
            ),
        )
        for dup in decision.duplicates:
            self.gh.close_pull(dup.number, comment=duplicate_comment(sid, pulls[0].number))
            result.warnings.append(f"{sid}: closed duplicate drift pull request #{dup.number}")
        attempt = None
        if status == "drifted" and decision.action == "open":
            attempt = self.reconciler.attempt(stack, entry, report, lambda: self._check_checkout(sid, paths))
            result.warnings += [f"{sid}: {w}" for w in attempt.warnings]
            if attempt.applied or attempt.error:
                return self._reconciled(entry, attempt)
        elif status == "drifted" and decision.pull is not None:
            attempt = self.reconciler.judge_only(stack, entry, decision.pull.number)
        outcome = self._act(entry, report, stack, decision, record, paths, attempt, result)
        if outcome is not None and attempt is not None:
            outcome.reconcile = self.redactor.text(attempt.reason)
        return outcome

    def _reconciled(self, entry: StackDrift, attempt: Attempt) -> PrOutcome:
        sid = entry.stack
        rem = attempt.remediation
        common: _Applied = {
            "branch": None,
            "record": attempt.record,
            "plan_set": rem.manifest.id if rem is not None else None,
            "plan_set_dir": str(rem.dir) if rem is not None else None,
            "head": rem.manifest.commit if rem is not None else None,
        }
        if attempt.error is not None:
            return PrOutcome(sid, "failed", error=self.redactor.text(attempt.error), **common)
        put_back = [
            f"{c.address}: {', '.join(d.path_text for d in c.sorted_diffs())}" for c in entry.sorted_changed()
        ]
        reason = f"put back {'; '.join(put_back)} ({attempt.setting.describe() if attempt.setting else ''})"
        return PrOutcome(sid, "reconciled", reason=self.redactor.text(reason), **common)

    def _act(
        self,
        entry: StackDrift,
        report: DriftReport,
        stack: Stack,
        decision: Decision,
        record: str,
        paths: Sequence[str],
        attempt: Attempt | None,
        result: DriftPrRun,
    ) -> PrOutcome | None:
        sid = stack.id
        branch = branch_name(stack.slug)
        pr = decision.pull
        common: _PullRef = {"branch": branch}
        if pr is not None:
            common = {"branch": branch, "number": pr.number, "url": pr.html_url, "head": pr.head_sha}
        if decision.action == "none":
            return None
        if decision.action == "scan-error":
            return PrOutcome(sid, "left", reason=decision.reason, **common) if pr is not None else None
        if decision.action == "close":
            assert pr is not None
            self.gh.close_pull(
                pr.number,
                comment=close_comment(sid, report.scanned_at, self.base, report.commit, branch),
            )
            return PrOutcome(sid, "closed", reason=decision.reason, **common)
        if decision.action == "foreign":
            result.warnings.append(f"{sid}: pull request #{pr.number if pr else '?'}: {decision.reason}")
            return PrOutcome(sid, "left", reason=decision.reason, **common)
        if decision.action == "unchanged":
            meta = parse_meta_block(pr.body if pr else "")
            return PrOutcome(
                sid, "unchanged", reason=decision.reason, plan_set=meta.plan_set if meta else None, **common
            )
        return self._publish(
            entry, report, stack, decision, record, paths, attempt.remediation if attempt else None
        )

    def _ours(self, pr: PullRequest, record: str) -> bool:
        """The PR's head is a commit orchestrate made: one parent, only the drift record changed."""
        try:
            parents = self.git.parents(pr.head_sha)
            return len(parents) == 1 and self.git.changed_paths(parents[0], pr.head_sha) == [record]
        except (GitError, ValueError):
            return False  # not fetched (pushed after our fetch) or unreadable: never overwrite it

    def _check_checkout(self, sid: str, paths: Sequence[str]) -> None:
        """The stack's code in the work tree is the base branch's, committed."""
        head = self.git.head()
        if head is None or (head != self.base_sha and not self.git.same_content(head, self.base_sha, paths)):
            raise GitError(
                f"the checked-out code of '{sid}' differs from {self.base} ({self.base_sha[:12]})",
                where=sid,
                hint=f"A drift pull request carries the plan of {self.base}'s code: run the scan in a "
                f"checkout of it (git checkout origin/{self.base}).",
            )
        dirty = self.git.dirty(paths)
        if dirty:
            shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
            raise GitError(
                f"uncommitted changes in the files of '{sid}': {shown}",
                where=sid,
                hint="The remediation plan must be the plan of the committed code: commit or drop them.",
            )

    def _publish(
        self,
        entry: StackDrift,
        report: DriftReport,
        stack: Stack,
        decision: Decision,
        record: str,
        paths: Sequence[str],
        planned: Remediation | None = None,
    ) -> PrOutcome:
        sid = stack.id
        branch = branch_name(stack.slug)
        pr = decision.pull
        self._check_checkout(sid, paths)

        # 1. The drift commit: the base plus the record (built from objects; nothing checked out).
        commit = self._drift_commit(entry, report, record, pr)

        # 2. The remediation plan, bound to that commit. Nothing is pushed if it fails.
        rem = self._remediation(sid, commit, planned)

        # 3. The branch, leased on what was fetched: a branch moved meanwhile is not overwritten.
        self.git.push(commit, branch, self.branches.get(branch))
        self.branches[branch] = commit

        # 4. The pull request.
        meta = DriftMeta(
            stack=sid,
            fingerprint=entry.fingerprint,
            head=commit,
            base=self.base_sha,
            plan_set=rem.manifest.id,
            lineage=rem.plan.lineage,
            serial=rem.plan.serial,
        )
        body = self._body(entry, report, stack, rem, meta, pr.number if pr is not None else None)
        common = {"branch": branch, "head": commit, "plan_set": rem.manifest.id, "plan_set_dir": str(rem.dir)}
        if pr is not None:
            self.gh.update_pull(pr.number, title=title(entry), body=body)
            return PrOutcome(
                sid, "updated", number=pr.number, url=pr.html_url, reason=decision.reason, **common
            )
        created = self.gh.create_pull(title=title(entry), body=body, head=branch, base=self.base)
        if self._pulls is not None:
            self._pulls.append(created)
        outcome = PrOutcome(sid, "opened", number=created.number, url=created.html_url, **common)
        if self.labels:
            self._label(created, outcome)
        return outcome

    def _drift_commit(
        self, entry: StackDrift, report: DriftReport, record: str, pr: PullRequest | None
    ) -> str:
        """The base plus the drift record (continuing the open PR's record for the same incident)."""
        previous_text = self.git.read_file(pr.head_sha if pr is not None else self.base_sha, record)
        doc = build_record(
            entry,
            scanned_at=report.scanned_at,
            scanned_commit=report.commit,
            previous=parse_record(previous_text),
            same_incident=pr is not None,
        )
        return self.git.make_commit(
            self.base_sha, record, self.redactor.text(record_text(doc)), self.redactor.text(_message(entry))
        )

    def _remediation(self, sid: str, commit: str, planned: Remediation | None) -> Remediation:
        """The remediation plan bound to ``commit``; its sensitive values join the redactor."""
        if planned is not None:  # planned for reconcile: auto, on the same files: bound to the PR's commit
            rem = rebind_remediation(self.ws.root, planned, commit)
        else:
            self.progress(f"{sid}: planning the remediation")
            rem = plan_remediation(self.engine(), sid, commit)
        if rem.plan_json is not None:
            self.redactor.add_secrets(sensitive_values(rem.plan_json))
        return rem

    def _label(self, created: PullRequest, outcome: PrOutcome) -> None:
        """Label the new PR; a failure marks the outcome failed (the PR stays open)."""
        try:
            if not self._labels_ready:
                self.gh.ensure_labels(self.labels)
                self._labels_ready = True
            self.gh.add_labels(created.number, self.labels)
        except GitHubError as exc:
            outcome.action = "failed"
            outcome.error = f"pull request #{created.number} was opened but not labelled: {exc.one_line()}"

    def _body(
        self,
        entry: StackDrift,
        report: DriftReport,
        stack: Stack,
        rem: Remediation,
        meta: DriftMeta,
        number: int | None,
    ) -> str:
        from orchestrator.pr.view import read_policy_report
        from orchestrator.render.comment import policy_from_report
        from orchestrator.render.plandiff import placeholder_upstreams, render_plan_diff

        diff = None
        if rem.plan_json is not None:
            diff, _ = render_plan_diff(
                rem.plan_json, placeholders=placeholder_upstreams(rem.plan.inputs, stack.config.inputs)
            )
        policy = read_policy_report(rem.dir)
        summary = rem.manifest.policy or {}
        data = BodyData(
            entry=entry,
            scanned_at=report.scanned_at,
            scanned_commit=report.commit,
            base=self.base,
            record_path=record_path(stack.slug),
            manifest=rem.manifest,
            plan=rem.plan,
            diff=diff,
            meta=meta,
            number=number,
            policy=policy_from_report(policy, stack.id),
            enforcement=summary.get("enforcement"),
            policy_blocking=bool(summary.get("blocking")),
            run_url=self.settings.run_url,
        )
        return render_body(data, self.redactor.text)

    def _close_removed(self, result: DriftPrRun) -> None:
        """Close drift PRs of stacks that no longer exist (only after a scan of every stack)."""
        try:
            pulls = self.open_pulls()
        except GitHubError:
            return  # already reported for every stack
        slugs = {s.slug for s in self.ws.stacks.values()}
        for pr in list(pulls):
            slug = pr.head_ref[len(BRANCH_PREFIX) :]
            if slug in slugs or pr.is_fork or pr.state != "open":
                continue
            try:
                self.gh.close_pull(pr.number, comment=gone_comment(slug, self.base))
                outcome = PrOutcome(
                    slug,
                    "closed",
                    number=pr.number,
                    url=pr.html_url,
                    branch=pr.head_ref,
                    reason="the stack no longer exists",
                )
            except GitHubError as exc:
                outcome = PrOutcome(
                    slug, "failed", number=pr.number, branch=pr.head_ref, error=exc.one_line()
                )
            result.outcomes.append(outcome)
            self.progress(outcome.line())


def _message(entry: StackDrift) -> str:
    changed = [c.address for c in entry.sorted_changed()]
    missing = [m.address for m in entry.sorted_missing()]
    lines = [f"drift: record out-of-band changes in {entry.stack}", ""]
    lines += [f"changed: {a}" for a in changed[:20]]
    lines += [f"missing: {a}" for a in missing[:20]]
    if len(changed) > 20 or len(missing) > 20:
        lines.append("(more in the record)")
    lines += ["", f"Drift-Fingerprint: {entry.fingerprint}"]
    return "\n".join(lines) + "\n"


def write_github_output(run: DriftPrRun, env: Mapping[str, str] | None = None) -> str | None:
    """In GitHub Actions, ``drift_prs=<json>`` and ``drift_prs_count=<n>`` for the workflow's next steps."""
    env = os.environ if env is None else env
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return None
    rows = run.github_output()
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(output_entry("drift_prs", json.dumps(rows, separators=(",", ":"))))
            fh.write(output_entry("drift_prs_count", str(len(rows))))
    except OSError as exc:
        # The pull requests exist either way; only the workflow's next steps miss the list.
        run.warnings.append(f"cannot write $GITHUB_OUTPUT ({path}): {exc.strerror or exc}")
        return None
    return path
