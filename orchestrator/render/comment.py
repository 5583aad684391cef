"""The pull-request comment (SPEC §7), rendered from plain data (pure).

A comment is a list of parts, each under GitHub's 65,536-character limit: part 1 holds the
hidden plan-set block, the summary table, the graph of affected stacks and as many per-stack
sections as fit; the rest continue in numbered parts. A stack whose plan alone is too large
is cut at a line with a note saying where the full plan is. Past ``max_parts`` the largest
sections are replaced by a short stub that still names the stack, its counts and where its
plan is. Nothing is dropped silently: every stack is always in the table.

Every piece of text passes through the Redactor before it is measured or cut, so a secret is
never split in a way that escapes the mask.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestrator.planset import Manifest, StackPlan
from orchestrator.redact import Redactor
from orchestrator.render.escape import md_code, md_text

if TYPE_CHECKING:
    from orchestrator.policy.report import PolicyReport

COMMENT_LIMIT = 65536
# Room for the sticky marker github.py puts first, and a margin: the limit is never approached.
PART_BUDGET = COMMENT_LIMIT - 1500
DEFAULT_MAX_PARTS = 10
MERMAID_MAX_NODES = 150
MERMAID_MAX_CHARS = 20000
TABLE_ROWS_PER_CHUNK = 200
_LIMITS = {
    "comment": "a comment to 65,536 characters",
    "job summary": "a job summary to 1 MiB",
    "pull request body": "a pull request body to 65,536 characters",
}
_BLOCK = re.compile(r"<!-- orchestrate:plan-set (?P<json>\{.*?\}) -->", re.DOTALL)

STATUS_LABEL = {
    "changes": "🟡 changes",
    "no-changes": "✅ no changes",
    "failed": "❌ failed",
    "skipped": "⏭️ skipped",
    "provisional": "⏳ provisional",
}


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class PolicyFinding:
    level: str  # error | deny | warn
    rule: str
    msg: str
    resource: str | None = None
    location: str | None = None  # file:line


@dataclass(frozen=True)
class StackPolicy:
    status: str  # pass | warn | deny | error
    findings: tuple[PolicyFinding, ...] = ()


@dataclass(frozen=True)
class StackSection:
    """What the comment shows for one stack."""

    plan: StackPlan
    diff: str | None = None  # the plan as diff text (None: no plan to show)
    policy: StackPolicy | None = None
    reasons: tuple[str, ...] = ()  # why it is in this plan (changed file, module, dependent of X)
    log_tail: str | None = None  # the end of terraform's output, for a failed stack


@dataclass(frozen=True)
class CommentData:
    manifest: Manifest
    sections: Sequence[StackSection]
    mermaid: str | None = None  # the graph of affected stacks, already drawn
    graph_note: str | None = None  # why the graph is not drawn
    deleted: Sequence[str] = ()
    enforcement: str | None = None  # blocking | advisory (None: no policies ran)
    policy_blocking: bool = False
    run_url: str | None = None
    where_full: str = "the plan set"  # where the full plans are ("the `plan-set` artifact of ...")
    title: str = "orchestrate plan"
    pr: int | None = None
    warnings: Sequence[str] = ()
    # approval.promotion: (stack, passed the previous environment, what the records say)
    promotion: Sequence[tuple[str, bool | None, str]] = ()


@dataclass(frozen=True)
class PlanSetRef:
    """The hidden block: what was shown on the PR, for apply to check against."""

    id: str
    commit: str | None
    manifest_sha256: str
    stacks: dict[str, str] = field(default_factory=dict)  # stack id -> sha256 of plan.tfplan

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "commit": self.commit,
            "manifest_sha256": self.manifest_sha256,
            "stacks": dict(self.stacks),
        }


def manifest_digest(manifest: Manifest) -> str:
    """sha256 of the manifest's canonical JSON (the id is a short form of the same thing)."""
    body = manifest.canonical()
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def plan_set_ref(manifest: Manifest) -> PlanSetRef:
    return PlanSetRef(
        id=manifest.id,
        commit=manifest.commit,
        manifest_sha256=manifest_digest(manifest),
        stacks={s.stack: s.plan_sha256 for s in manifest.stacks if s.plan_sha256},
    )


HIDDEN_BLOCK_MAX = 30000


def plan_set_block(manifest: Manifest) -> str:
    """The hidden block naming the plan set (also used in drift PR bodies).

    Per-stack digests are left out when there are too many to fit beside the table: the
    manifest's sha256 covers every one of them anyway."""
    doc = plan_set_ref(manifest).to_json()
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    if len(text) > HIDDEN_BLOCK_MAX:
        doc["stacks_omitted"] = len(doc["stacks"])
        doc["stacks"] = {}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    # never let the JSON close the HTML comment
    text = text.replace("-->", "--\\u003e").replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<!-- orchestrate:plan-set {text} -->"


def parse_plan_set_block(text: str) -> PlanSetRef | None:
    """The last well-formed plan-set block in ``text`` (a comment or a PR body), if any."""
    found = None
    for m in _BLOCK.finditer(text or ""):
        try:
            doc = json.loads(m.group("json"))
            found = PlanSetRef(
                id=str(doc["id"]),
                commit=doc.get("commit"),
                manifest_sha256=str(doc["manifest_sha256"]),
                stacks={str(k): str(v) for k, v in (doc.get("stacks") or {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return found


# ---------------------------------------------------------------- small pieces


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _fence(content: str, lang: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", content)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = content if content.endswith("\n") else content + "\n"
    return f"{ticks}{lang}\n{body}{ticks}\n"


def _counts(plan: StackPlan) -> tuple[str, str, str, str]:
    if not plan.has_plan and plan.status != "no-changes":
        return ("—", "—", "—", "—")
    c = plan.counts
    return (str(c.add), str(c.change), str(c.destroy), str(c.replace))


def _policy_cell(policy: StackPolicy | None, enforcement: str | None) -> str:
    if policy is None:
        return "—"
    denied = sum(1 for f in policy.findings if f.level == "deny")
    warned = sum(1 for f in policy.findings if f.level == "warn")
    if policy.status == "error":
        return "💥 error"
    if policy.status == "deny":
        return f"⚠️ {denied} denied (advisory)" if enforcement == "advisory" else f"❌ {denied} denied"
    if policy.status == "warn":
        return f"⚠️ {warned} warning{'s' if warned != 1 else ''}"
    return "✅ pass"


def _human_size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} bytes"


def verdict(data: CommentData) -> tuple[str, str]:
    """(emoji, sentence) for the whole plan set."""
    stacks = [s.plan for s in data.sections]
    if not stacks:
        return "✅", "no stacks are affected by this change"
    n_failed = sum(1 for p in stacks if p.status == "failed")
    n_skipped = sum(1 for p in stacks if p.status == "skipped")
    n_changing = sum(1 for p in stacks if p.status in ("changes", "provisional"))
    n_same = sum(1 for p in stacks if p.status == "no-changes")
    if not (n_failed or n_skipped or n_changing):
        return "✅", f"no changes ({n_same} stack{'s' if n_same != 1 else ''})"
    facts = []
    if n_failed:
        facts.append(f"{n_failed} failed")
    if n_skipped:
        facts.append(f"{n_skipped} skipped")
    if n_changing:
        facts.append(f"{n_changing} to change")
    if n_same:
        facts.append(f"{n_same} unchanged")
    sentence = ", ".join(facts)
    if data.policy_blocking:
        return "❌", sentence + " — blocked by policy"
    if n_failed or n_skipped:
        return "❌", sentence
    return "🟡", sentence


# ---------------------------------------------------------------- blocks


def _title(data: CommentData) -> str:
    emoji, sentence = verdict(data)
    m = data.manifest
    commit = f"`{m.commit[:12]}`" if m.commit else "an uncommitted work tree"
    lines = [f"### {emoji} {data.title}: {sentence}", ""]
    meta = f"Plan set `{m.id}` for commit {commit}"
    if m.dirty:
        meta += " (with uncommitted changes: apply will refuse it)"
    if m.terraform_version:
        meta += f" · Terraform {m.terraform_version}"
    if data.run_url:
        meta += f" · [workflow run]({data.run_url})"
    lines.append(meta)
    return "\n".join(lines) + "\n"


def _table_chunks(data: CommentData) -> list[str]:
    head = "| Stack | Cloud | Environment | Status | + | ~ | − | ± | Policy |\n|---|---|---|---|--:|--:|--:|--:|---|\n"
    rows = []
    for s in data.sections:
        p = s.plan
        add, change, destroy, replace = _counts(p)
        rows.append(
            f"| {md_code(p.stack)} | {md_text(p.cloud or '—')} | {md_text(p.environment or '—')} | "
            f"{STATUS_LABEL.get(p.status, p.status)} | {add} | {change} | {destroy} | {replace} | "
            f"{_policy_cell(s.policy, data.enforcement)} |\n"
        )
    if not rows:
        return []
    return [
        head + "".join(rows[i : i + TABLE_ROWS_PER_CHUNK]) for i in range(0, len(rows), TABLE_ROWS_PER_CHUNK)
    ]


def _graph_block(data: CommentData) -> str | None:
    if data.mermaid and len(data.mermaid) <= MERMAID_MAX_CHARS:
        return (
            "<details><summary>Affected stacks</summary>\n\n"
            + _fence(data.mermaid, "mermaid")
            + "\n</details>\n"
        )
    if data.graph_note:
        return f"_{_esc(data.graph_note)}_\n"
    if data.mermaid:
        return (
            "_The graph of affected stacks is too large to draw here; run `orchestrate graph --changed`._\n"
        )
    return None


def _notes_block(data: CommentData) -> str | None:
    lines = []
    for sid in data.deleted:
        lines.append(
            f"> [!WARNING]\n> Stack {md_code(sid)} was removed in this change. Its resources are **not destroyed**: "
            f"run {md_code('orchestrate destroy ' + sid)} separately (before merging) if they should go.\n"
        )
    for w in data.warnings:
        lines.append(f"> [!NOTE]\n> {_esc(w)}\n")
    return "\n".join(lines) if lines else None


def _promotion_block(data: CommentData) -> str | None:
    if not data.promotion:
        return None
    rows = [
        "**Promotion** (`approval.promotion`): has each stack's content passed the previous environment?",
        "",
        "| Stack | Passed | |",
        "|---|---|---|",
    ]
    for stack, ok, text in data.promotion:
        mark = "—" if ok is None else "✅" if ok else "❌ apply will be refused"
        rows.append(f"| `{_esc(stack)}` | {mark} | {_esc(text)} |")
    return "\n".join(rows) + "\n"


def _footer(data: CommentData) -> str | None:
    changing = any(s.plan.status in ("changes", "provisional") for s in data.sections)
    if not changing or data.policy_blocking:
        return None
    text = (
        f"To apply exactly this plan set, approve the pull request; `orchestrate apply"
        f"{f' --pr {data.pr}' if data.pr else ''}` refuses it if the head commit moves, a plan file "
        "differs from what is shown here, or a reviewer requests changes."
    )
    if any(s.plan.status == "provisional" for s in data.sections):
        text += " Provisional stacks are planned again after their upstream applies; they apply only if the new plan matches."
    return f"<sub>{text}</sub>\n"


def _findings(policy: StackPolicy | None, enforcement: str | None) -> str:
    if policy is None or not policy.findings:
        return ""
    icon = {"error": "💥", "deny": "⚠️" if enforcement == "advisory" else "❌", "warn": "⚠️"}
    lines = ["**Policy**", ""]
    for f in policy.findings:
        where = f" {md_code(f.resource)}" if f.resource else ""
        loc = f" ({_esc(f.location)})" if f.location else ""
        lines.append(f"- {icon.get(f.level, '•')} **{f.level}** {md_code(f.rule)}{where}: {_esc(f.msg)}{loc}")
    return "\n".join(lines) + "\n"


def _summary_line(s: StackSection, enforcement: str | None) -> str:
    p = s.plan
    add, change, destroy, replace = _counts(p)
    counts = f" +{add} ~{change} −{destroy} ±{replace}" if add != "—" else ""
    pol = _policy_cell(s.policy, enforcement)
    pol = f" · policy {pol}" if pol != "—" else ""
    return f"<b>{md_text(p.stack)}</b> — {STATUS_LABEL.get(p.status, p.status)}{counts}{pol}"


def _worth_a_section(s: StackSection) -> bool:
    """A stack with nothing to show beyond its table row (no changes, no findings) gets none."""
    if s.plan.status != "no-changes":
        return True
    return bool(s.policy and s.policy.findings) or bool(s.plan.output_changes)


def _open(s: StackSection) -> bool:
    return s.plan.status == "failed" or (s.policy is not None and s.policy.status in ("deny", "error"))


def _section_parts(s: StackSection, enforcement: str | None) -> tuple[str, str, str]:
    """(head, body, tail) of a stack's <details>; only ``body`` (the plan) may be cut."""
    p = s.plan
    head = [f"<details{' open' if _open(s) else ''}><summary>{_summary_line(s, enforcement)}</summary>", ""]
    if s.reasons:
        head.append("Included because: " + "; ".join(md_text(r) for r in s.reasons))
        head.append("")
    if p.status == "skipped":
        head.append(f"Not planned: {_esc(p.reason or p.error or 'an upstream stack failed')}.")
        head.append("")
    if p.status == "provisional":
        ups = ", ".join(md_code(u) for u in p.provisional_on) or "an upstream stack"
        why = f" ({_esc(p.reason)})" if p.reason else ""
        head.append(
            f"Provisional: its inputs come from {ups}, which changes in this plan set{why}. "
            "It is planned again after the upstream applies."
        )
        head.append("")
    if p.status == "failed":
        head.append(f"**Error:** {_esc(p.error or 'terraform failed')}")
        head.append("")
    body = s.diff if s.diff is not None else ""
    tail = []
    if p.status == "failed" and s.log_tail:
        tail.append("<details><summary>Last lines of terraform's output</summary>\n")
        tail.append(_fence(s.log_tail, "text"))
        tail.append("</details>\n")
    findings = _findings(s.policy, enforcement)
    if findings:
        tail.append(findings)
    tail.append("</details>\n")
    return "\n".join(head) + "\n", body, "\n".join(tail)


def render_section(
    s: StackSection,
    enforcement: str | None,
    redact: Callable[[str], str],
    *,
    limit: int,
    where_full: str,
    medium: str = "comment",
) -> str:
    """A stack's <details>, its plan cut at a line (with a note) to stay within ``limit``."""
    head, body, tail = (redact(x) for x in _section_parts(s, enforcement))
    if not body:
        return head + tail
    full = head + _fence(body, "diff") + "\n" + tail
    if len(full) <= limit:
        return full

    def note(more: int, size: int) -> str:
        return redact(
            f"{_CUT_MARK} {more:,} more lines ({_human_size(size)}) are not shown; GitHub limits "
            f"{_LIMITS.get(medium, 'its size')}. The full plan is `{s.plan.slug}/plan.txt` in {where_full}.\n"
        )

    lines = body.splitlines(keepends=True)
    room = limit - len(head) - len(tail) - len(note(10**9, 10**12)) - 200
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) > room:
            break
        kept.append(line)
        used += len(line)
    rest = lines[len(kept) :]
    shown = "".join(kept)
    cut_note = note(len(rest), len("".join(rest).encode()))
    return head + _fence(shown, "diff") + "\n" + cut_note + "\n" + tail


def render_stub(
    s: StackSection,
    enforcement: str | None,
    redact: Callable[[str], str],
    *,
    where_full: str,
    medium: str = "comment",
) -> str:
    """A stack whose plan did not fit: its summary and where the plan is."""
    return redact(
        f"<details><summary>{_summary_line(s, enforcement)}</summary>\n\n"
        f"The plan is not shown: the {medium} reached its size limit. It is `{s.plan.slug}/plan.txt` "
        f"in {where_full}.\n\n{_findings(s.policy, enforcement)}</details>\n"
    )


# ---------------------------------------------------------------- packing


_CUT_MARK = "✂️ **Plan cut here:**"
MIN_RECUT = 8000  # below this much room, a cut plan starts a new part rather than shrink further


def _pack(
    first: list[str],
    blocks: list[str],
    budget: int,
    continuation: Callable[[int, int], str],
    recut: Mapping[int, Callable[[int], str]] | None = None,
) -> list[list[str]]:
    """Greedy: blocks in order into parts of at most ``budget`` characters. A block in
    ``recut`` (a plan that is cut anyway) is cut shorter to fill the current part instead of
    starting a new one."""
    cont_len = len(continuation(99, 99))
    parts: list[list[str]] = [list(first)]
    size = sum(len(b) + 1 for b in first)
    for i, block in enumerate(blocks):
        if size + len(block) + 1 > budget and parts[-1]:
            room = budget - size - 1
            shorter = recut[i](room) if recut and i in recut and room >= MIN_RECUT else None
            if shorter is not None and len(shorter) <= room:
                block = shorter
            else:
                parts.append([])
                size = cont_len + 1
        parts[-1].append(block)
        size += len(block) + 1
    return parts


def render_comment(
    data: CommentData,
    redactor: Redactor | None = None,
    *,
    budget: int = PART_BUDGET,
    max_parts: int = DEFAULT_MAX_PARTS,
    medium: str = "comment",
    hidden_block: bool = True,
) -> list[str]:
    """The comment as parts (without the sticky marker), each at most ``budget`` characters.

    ``medium`` names where the text goes in the notes about size ("comment", "job summary").
    """
    redact = (redactor or Redactor()).text
    layout = _Layout(data, redact, medium, tuple(s for s in data.sections if _worth_a_section(s)))
    first = [(plan_set_block(data.manifest) + "\n" if hidden_block else "") + redact(_title(data))]
    room = budget - len(layout.continuation(99, 99)) - 10
    sections = [layout.section(i, room) for i in range(len(layout.shown))]
    parts = _pack_within(layout, first, _fixed_blocks(data, redact), sections, budget, max_parts)
    return _join_parts(parts, layout.continuation)


@dataclass(frozen=True)
class _Layout:
    """What the comment's parts are made of: the stacks given a section, and how a part,
    a section and a stub read."""

    data: CommentData
    redact: Callable[[str], str]
    medium: str
    shown: Sequence[StackSection]  # the stacks worth a section, in order

    def continuation(self, k: int, n: int) -> str:
        return self.redact(
            f"### {self.data.title} (continued, part {k} of {n})\n\nPlan set `{self.data.manifest.id}`"
            + (f" · [workflow run]({self.data.run_url})" if self.data.run_url else "")
            + "\n"
        )

    def section(self, i: int, limit: int) -> str:
        return render_section(
            self.shown[i],
            self.data.enforcement,
            self.redact,
            limit=limit,
            where_full=self.data.where_full,
            medium=self.medium,
        )

    def stub(self, i: int) -> str:
        return render_stub(
            self.shown[i],
            self.data.enforcement,
            self.redact,
            where_full=self.data.where_full,
            medium=self.medium,
        )


def _fixed_blocks(data: CommentData, redact: Callable[[str], str]) -> list[str]:
    """The blocks never stubbed: the summary table, then the graph, promotion, notes and footer."""
    fixed: list[str] = [redact(t) for t in _table_chunks(data)]
    for extra in (_graph_block(data), _promotion_block(data), _notes_block(data), _footer(data)):
        if extra:
            fixed.append(redact(extra))
    return fixed


def _pack_within(
    layout: _Layout, first: list[str], fixed: list[str], sections: list[str], budget: int, max_parts: int
) -> list[list[str]]:
    """The blocks packed into parts; past ``max_parts``, the largest full section is replaced by
    its stub and the blocks packed again, until they fit or only the table is left."""
    sections = list(sections)
    stubbed: set[int] = set()
    while True:
        cut = {
            len(fixed) + i: partial(layout.section, i)
            for i in range(len(sections))
            if i not in stubbed and _CUT_MARK in sections[i]
        }
        parts = _pack(first, fixed + sections, budget, layout.continuation, cut)
        if len(parts) <= max_parts:
            return parts
        candidates = [i for i in range(len(sections)) if i not in stubbed and layout.shown[i].diff]
        if not candidates:
            return parts  # only the table is left, and the table is never dropped
        big = max(candidates, key=lambda i: len(sections[i]))
        sections[big] = layout.stub(big)
        stubbed.add(big)


def _join_parts(parts: list[list[str]], continuation: Callable[[int, int], str]) -> list[str]:
    """Each part's text: a part after the first opens with its continuation heading; the first
    says how many more follow."""
    n = len(parts)
    out = []
    for k, blocks_k in enumerate(parts, 1):
        text = "\n".join(blocks_k)
        if k > 1:
            text = continuation(k, n) + "\n" + text
        elif n > 1:
            text += f"\n<sub>This comment continues in {n - 1} more part{'s' if n > 2 else ''} below.</sub>\n"
        out.append(text)
    return out


# ---------------------------------------------------------------- commit statuses


def status_for(section: StackSection, enforcement: str | None) -> tuple[str, str]:
    """(state, description) of a stack's commit status."""
    p = section.plan
    pol = section.policy
    blocked = pol is not None and (
        pol.status == "error" or (pol.status == "deny" and enforcement != "advisory")
    )
    c = p.counts
    counts = f"+{c.add} ~{c.change} -{c.destroy} ±{c.replace}"
    policy = ""
    if pol is not None:
        policy = {
            "pass": " · policy pass",
            "warn": " · policy warnings",
            "deny": " · policy denied",
            "error": " · policy error",
        }[pol.status]
    if p.status == "failed":
        return "failure", f"plan failed: {_short_error(p.error)}"
    if p.status == "skipped":
        return "error", f"not planned: {p.reason or 'an upstream stack failed'}"
    if blocked:
        return "failure", f"{counts}{policy}"
    if p.status == "no-changes":
        return "success", f"no changes{policy}"
    if p.status == "provisional":
        return "success", f"provisional {counts}: re-planned after upstream applies{policy}"
    return "success", f"{counts}{policy}"


def _short_error(error: str | None) -> str:
    """The gist of an error for a 140-character status: its first line, without the pointer to
    the log and the generic prefix."""
    text = (error or "").strip().splitlines()[0] if (error or "").strip() else "terraform failed"
    text = re.split(r"\s*\((?:see|See) the log", text)[0]
    return text.removeprefix("terraform plan failed: ") or "terraform failed"


def overall_status(data: CommentData) -> tuple[str, str]:
    """(state, description) for the whole plan set (a context branch protection can require)."""
    emoji, sentence = verdict(data)
    del emoji
    failed = any(s.plan.status in ("failed", "skipped") for s in data.sections)
    state = "failure" if (data.policy_blocking or failed) else "success"
    return state, sentence


def policy_from_report(report: PolicyReport | None, stack: str) -> StackPolicy | None:
    """StackPolicy from a policy report (imported for types only: this module stays pure)."""
    if report is None:
        return None
    result = report.for_stack(stack)
    if result is None:
        return None
    findings = []
    for f in result.findings:
        loc = f"{f.location.file}:{f.location.line}" if f.location is not None else None
        findings.append(PolicyFinding(f.level, f.rule_id, f.msg, f.resource, loc))
    return StackPolicy(result.status, tuple(findings))


def stack_classes(sections: Sequence[StackSection], reasons: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Mermaid class per stack: failed/skipped/provisional by status, else changed/dependent."""
    classes: dict[str, str] = {}
    for s in sections:
        p = s.plan
        if p.status in ("failed", "skipped", "provisional"):
            classes[p.stack] = p.status
            continue
        why = reasons.get(p.stack)
        if why:
            classes[p.stack] = "dependent" if all(w.startswith("dependent of") for w in why) else "changed"
        elif p.status == "changes":
            classes[p.stack] = "changed"
    return classes
