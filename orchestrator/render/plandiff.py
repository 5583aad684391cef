"""A plan as a diff (pure): Terraform plan JSON -> text for a ```diff block.

It reads ``terraform show -json`` output, not terraform's own text, so that values are masked
by their sensitivity markers (``before_sensitive``/``after_sensitive``) structurally, and
unknown values (``after_unknown``) say "(known after apply)". The layout follows terraform's
own, with the action symbol moved to the first column so GitHub colours it: ``+`` create,
``-`` destroy, ``!`` update in place, ``-/+`` or ``+/-`` replace, ``<=`` read.

Values orchestrate itself planned with a placeholder (an input whose upstream output is
unknown until the upstream applies) read "(known after UPSTREAM applies)".
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.terraform.planjson import Change, PlanJSON, ResourceChange

SENSITIVE = "(sensitive value)"
UNKNOWN = "(known after apply)"
PLACEHOLDER_MARK = "orchestrate-unknown-"  # orchestrator.terraform.plan.PLACEHOLDER_MARK
_INDENT = "    "

_HEADERS = {
    "create": ("+", "will be created"),
    "delete": ("-", "will be destroyed"),
    "update": ("!", "will be updated in-place"),
    "delete-create": ("-/+", "must be replaced"),
    "create-delete": ("+/-", "must be replaced"),
    "read": ("<=", "will be read during apply"),
    "forget": (".", "will no longer be managed by Terraform (it is not destroyed)"),
}
_REASONS = {
    "delete_because_no_resource_config": "because {addr} is not in configuration",
    "delete_because_no_module": "because its module is not in configuration",
    "delete_because_wrong_repetition": "because the repetition (count or for_each) changed",
    "delete_because_count_index": "because the count index is out of range",
    "delete_because_each_key": "because the for_each key is not in for_each",
    "replace_because_tainted": "because it is tainted",
    "replace_because_cannot_update": "because it cannot be updated in-place",
    "replace_by_request": "as requested (-replace)",
    "replace_by_triggers": "because of replace_triggered_by",
    "read_because_config_unknown": "because its configuration depends on values known after apply",
    "read_because_dependency_pending": "because a dependency has changes pending",
}


@dataclass
class DiffStats:
    """What the rendering found, for the summary line."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0
    read: int = 0
    forget: int = 0
    moved: int = 0
    imported: int = 0
    outputs: int = 0
    drifted: list[str] = field(default_factory=list)


@dataclass
class _Ctx:
    placeholders: Mapping[str, str]  # placeholder value -> upstream stack


def _sub(mask: Any, key: str | int) -> Any:
    """The part of a parallel *_sensitive / *_unknown mask under ``key``."""
    if mask is True:
        return True
    if isinstance(mask, dict) and isinstance(key, str):
        return mask.get(key, False)
    if isinstance(mask, list) and isinstance(key, int) and 0 <= key < len(mask):
        return mask[key]
    return False


def _any_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_any_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_any_true(v) for v in mask)
    return False


def _scalar(value: Any, ctx: _Ctx) -> str:
    if isinstance(value, str):
        if PLACEHOLDER_MARK in value:
            upstream = ctx.placeholders.get(value)
            return (
                f"(known after {upstream} applies)" if upstream else "(known after an upstream stack applies)"
            )
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    return json.dumps(value)


def _is_composite(value: Any) -> bool:
    return isinstance(value, dict | list)


def _key(k: str) -> str:
    return k if k.replace("_", "a").replace("-", "a").isalnum() and not k[:1].isdigit() else json.dumps(k)


class _Writer:
    def __init__(self, ctx: _Ctx) -> None:
        self.ctx = ctx
        self.lines: list[str] = []

    def line(self, sym: str, depth: int, text: str) -> None:
        # symbol in column 0 (GitHub colours it), then terraform-like indentation
        self.lines.append(f"{sym:<3} {_INDENT * depth}{text}".rstrip())

    # -------- whole values (create or destroy) --------

    def value(
        self, sym: str, depth: int, name: str | None, value: Any, sens: Any, unk: Any, width: int
    ) -> None:
        lhs = "" if name is None else f"{name.ljust(width)} = "
        if sens is True:
            self.line(sym, depth, f"{lhs}{SENSITIVE}")
            return
        if unk is True:
            self.line(sym, depth, f"{lhs}{UNKNOWN}")
            return
        if isinstance(value, dict):
            if not value and not _any_true(unk):
                self.line(sym, depth, f"{lhs}{{}}")
                return
            self.line(sym, depth, f"{lhs}{{")
            self.members(sym, depth + 1, value, sens, unk)
            self.line(sym, depth, "}")
            return
        if isinstance(value, list):
            if not value:
                self.line(sym, depth, f"{lhs}[]")
                return
            self.line(sym, depth, f"{lhs}[")
            for i, item in enumerate(value):
                self.value(sym, depth + 1, None, item, _sub(sens, i), _sub(unk, i), 0)
            self.line(sym, depth, "]")
            return
        self.line(sym, depth, f"{lhs}{_scalar(value, self.ctx)}" + ("," if name is None else ""))

    def members(self, sym: str, depth: int, obj: Mapping[str, Any], sens: Any, unk: Any) -> None:
        """The attributes of an object being created or destroyed, aligned like terraform's."""
        unknown = {k for k, v in unk.items() if v is True} if isinstance(unk, dict) else set()
        keys = [k for k in sorted(set(obj) | unknown) if obj.get(k) is not None or k in unknown]
        width = max((len(_key(k)) for k in keys), default=0)
        for k in keys:
            self.value(sym, depth, _key(k), obj.get(k), _sub(sens, k), _sub(unk, k), width)

    # -------- differences (update or replace) --------

    def diff_object(
        self,
        depth: int,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        bsens: Any,
        asens: Any,
        aunk: Any,
        replace_paths: Sequence[Sequence[Any]],
        path: tuple[Any, ...] = (),
    ) -> None:
        keys = sorted(set(before) | set(after) | (set(aunk) if isinstance(aunk, dict) else set()))
        changed = []
        unchanged = 0
        for k in keys:
            b, a = before.get(k), after.get(k)
            ku = _sub(aunk, k)
            same = ku is not True and not _any_true(ku) and b == a and _sub(bsens, k) == _sub(asens, k)
            if same:
                if b is not None:
                    unchanged += 1
                continue
            if b is None and a is None and ku is not True:
                continue
            changed.append(k)
        w = max((len(_key(k)) for k in changed), default=0)
        for k in changed:
            self.diff_value(
                depth,
                _key(k),
                before.get(k),
                after.get(k),
                _sub(bsens, k),
                _sub(asens, k),
                _sub(aunk, k),
                replace_paths,
                (*path, k),
                w,
            )
        if unchanged:
            noun = "attribute" if depth == 1 else "element"
            self.line("", depth, f"# ({unchanged} unchanged {noun}{'s' if unchanged != 1 else ''} hidden)")

    def diff_value(
        self,
        depth: int,
        name: str | None,
        b: Any,
        a: Any,
        bs: Any,
        as_: Any,
        au: Any,
        replace_paths: Sequence[Sequence[Any]],
        path: tuple[Any, ...],
        width: int,
    ) -> None:
        forces = "  # forces replacement" if any(list(p) == list(path) for p in replace_paths) else ""
        lhs = "" if name is None else f"{name.ljust(width)} = "
        if b is None and au is not True:
            self.value("+", depth, name, a, as_, au, width)
            return
        if a is None and au is not True and not _any_true(au):
            if bs is True:
                self.line("-", depth, f"{lhs}{SENSITIVE}{forces}")
            elif _is_composite(b):
                self.value("-", depth, name, b, bs, False, width)
            else:
                self.line("-", depth, f"{lhs}{_scalar(b, self.ctx)} -> null{forces}")
            return
        if bs is True or as_ is True:
            self.line("!", depth, f"{lhs}{SENSITIVE}{forces}")
            return
        if isinstance(b, dict) and isinstance(a, dict):
            self.line("!", depth, f"{lhs}{{{forces}")
            self.diff_object(depth + 1, b, a, bs, as_, au, replace_paths, path)
            self.line("", depth, "}")
            return
        if isinstance(b, list) and isinstance(a, list) and au is not True:
            self.line("!", depth, f"{lhs}[{forces}")
            self.diff_list(depth + 1, b, a, bs, as_, au, replace_paths, path)
            self.line("", depth, "]")
            return
        if au is True:
            old = SENSITIVE if bs is True else _inline(b, self.ctx)
            self.line("!", depth, f"{lhs}{old} -> {UNKNOWN}{forces}")
            return
        self.line("!", depth, f"{lhs}{_inline(b, self.ctx)} -> {_inline(a, self.ctx)}{forces}")

    def diff_list(
        self,
        depth: int,
        before: list[Any],
        after: list[Any],
        bs: Any,
        as_: Any,
        au: Any,
        replace_paths: Sequence[Sequence[Any]],
        path: tuple[Any, ...],
    ) -> None:
        unchanged = 0
        for op, i1, i2, j1, j2 in _list_opcodes(before, after):
            if op == "equal":
                unchanged += self._equal_elements(
                    depth, before, after, bs, as_, au, replace_paths, path, i1, j1, i2 - i1
                )
                continue
            if op == "replace" and _changed_in_place(before[i1:i2], after[j1:j2]):
                # same position, changed object: show what changed inside
                self._objects_in_place(
                    depth, before, after, bs, as_, au, replace_paths, path, i1, j1, i2 - i1
                )
                continue
            for i in range(i1, i2):
                self.value("-", depth, None, before[i], _sub(bs, i), False, 0)
            for j in range(j1, j2):
                self.value("+", depth, None, after[j], _sub(as_, j), _sub(au, j), 0)
        if unchanged:
            self.line("", depth, f"# ({unchanged} unchanged element{'s' if unchanged != 1 else ''} hidden)")

    def _equal_elements(
        self,
        depth: int,
        before: list[Any],
        after: list[Any],
        bs: Any,
        as_: Any,
        au: Any,
        replace_paths: Sequence[Sequence[Any]],
        path: tuple[Any, ...],
        i1: int,
        j1: int,
        count: int,
    ) -> int:
        """``count`` elements equal before and after, from before[i1] and after[j1]: shown only
        where part of one becomes unknown; returns how many are hidden."""
        hidden = 0
        for off in range(count):
            i, j = i1 + off, j1 + off
            if _any_true(_sub(au, j)):
                self.diff_value(
                    depth,
                    None,
                    before[i],
                    after[j],
                    _sub(bs, i),
                    _sub(as_, j),
                    _sub(au, j),
                    replace_paths,
                    (*path, j),
                    0,
                )
            else:
                hidden += 1
        return hidden

    def _objects_in_place(
        self,
        depth: int,
        before: list[Any],
        after: list[Any],
        bs: Any,
        as_: Any,
        au: Any,
        replace_paths: Sequence[Sequence[Any]],
        path: tuple[Any, ...],
        i1: int,
        j1: int,
        count: int,
    ) -> None:
        """``count`` objects changed at their places, from before[i1] and after[j1]: each one's
        changes inside it."""
        for off in range(count):
            i, j = i1 + off, j1 + off
            self.line("!", depth, "{")
            self.diff_object(
                depth + 1,
                before[i],
                after[j],
                _sub(bs, i),
                _sub(as_, j),
                _sub(au, j),
                replace_paths,
                (*path, j),
            )
            self.line("", depth, "},")


def _list_opcodes(before: Sequence[Any], after: Sequence[Any]) -> Sequence[tuple[str, int, int, int, int]]:
    """difflib's opcodes from ``before`` to ``after``, elements compared by their canonical JSON."""
    bkeys = [json.dumps(v, sort_keys=True) for v in before]
    akeys = [json.dumps(v, sort_keys=True) for v in after]
    return difflib.SequenceMatcher(a=bkeys, b=akeys, autojunk=False).get_opcodes()


def _changed_in_place(before: Sequence[Any], after: Sequence[Any]) -> bool:
    """A replaced run shown as changes inside each object: as many elements on both sides, all objects."""
    return len(before) == len(after) and all(
        isinstance(b, dict) and isinstance(a, dict) for b, a in zip(before, after, strict=True)
    )


def _inline(value: Any, ctx: _Ctx) -> str:
    if _is_composite(value):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return _scalar(value, ctx)


def _action_key(actions: Sequence[str]) -> str:
    if list(actions) == ["delete", "create"]:
        return "delete-create"
    if list(actions) == ["create", "delete"]:
        return "create-delete"
    if len(actions) == 1:
        return actions[0]
    return "-".join(actions)


def _resource_header(rc: ResourceChange) -> tuple[str, str]:
    mode = rc.get("mode", "managed")
    kind = "data" if mode == "data" else "resource"
    return kind, f'{kind} "{rc.get("type")}" "{rc.get("name")}"'


def render_resource_change(rc: ResourceChange, ctx: _Ctx, stats: DiffStats) -> list[str]:
    """The lines for one entry of ``resource_changes`` (empty for a no-op)."""
    change = rc["change"]
    actions = list(change["actions"] or ["no-op"])
    addr = rc["address"]
    prev = rc.get("previous_address")
    importing = change.get("importing")
    key = _action_key(actions)
    w = _Writer(ctx)
    notes = []
    if prev and prev != addr:
        notes.append(f"# (moved from {prev})")
        stats.moved += 1
    if importing:
        stats.imported += 1
    if key == "no-op":
        if prev and prev != addr:
            w.line("", 0, f"# {prev} has moved to {addr}")
        if importing:
            w.line("", 0, f"# {addr} will be imported")
        return w.lines
    if key not in _HEADERS:
        w.line("", 0, f"# {addr}: {', '.join(actions)}")
        return w.lines
    sym, verb = _HEADERS[key]
    reason = _REASONS.get(str(rc.get("action_reason") or ""), "")
    header = f"# {addr} {verb}" + (f" ({reason.format(addr=addr)})" if reason else "")
    if importing and key != "create":
        header = f"# {addr} will be imported and {verb.removeprefix('will be ')}"
    w.line("", 0, header)
    for note in notes:
        w.line("", 0, note)
    _, decl = _resource_header(rc)
    _write_resource_body(w, key, sym, decl, change, stats)
    return w.lines


def _write_resource_body(w: _Writer, key: str, sym: str, decl: str, change: Change, stats: DiffStats) -> None:
    """The resource block: its attributes created, read, deleted, forgotten or diffed; counted in stats."""
    before = change.get("before")
    after = change.get("after")
    bs, as_, au = change.get("before_sensitive"), change.get("after_sensitive"), change.get("after_unknown")
    if key == "create" or key == "read":
        w.line(sym, 0, decl + " {")
        w.members(sym, 1, after if isinstance(after, dict) else {}, as_, au)
        w.line("", 0, "}")
        if key == "create":
            stats.add += 1
        else:
            stats.read += 1
    elif key == "delete" or key == "forget":
        w.line(sym, 0, decl + " {")
        w.members(sym if key == "delete" else "", 1, before if isinstance(before, dict) else {}, bs, False)
        w.line("", 0, "}")
        if key == "delete":
            stats.destroy += 1
        else:
            stats.forget += 1
    else:  # update or replace
        w.line(sym, 0, decl + " {")
        replace_paths = [p for p in change.get("replace_paths") or [] if isinstance(p, list)]
        w.diff_object(
            1,
            before if isinstance(before, dict) else {},
            after if isinstance(after, dict) else {},
            bs,
            as_,
            au,
            replace_paths,
        )
        w.line("", 0, "}")
        if key == "update":
            stats.change += 1
        else:
            stats.replace += 1


def render_output_changes(output_changes: Mapping[str, Change], ctx: _Ctx, stats: DiffStats) -> list[str]:
    w = _Writer(ctx)
    names = [n for n in sorted(output_changes) if output_changes[n]["actions"] != ["no-op"]]
    width = max((len(n) for n in names), default=0)
    for name in names:
        oc = output_changes[name]
        actions = oc["actions"]
        stats.outputs += 1
        b, a = oc.get("before"), oc.get("after")
        bs, as_, au = oc.get("before_sensitive"), oc.get("after_sensitive"), oc.get("after_unknown")
        if actions == ["create"]:
            w.value("+", 0, name.ljust(width), a, as_, au, width)
        elif actions == ["delete"]:
            if bs is True or _any_true(bs):
                w.line("-", 0, f"{name.ljust(width)} = {SENSITIVE} -> null")
            elif _is_composite(b):
                w.value("-", 0, name.ljust(width), b, bs, False, width)
            else:
                w.line("-", 0, f"{name.ljust(width)} = {_scalar(b, ctx)} -> null")
        else:
            w.diff_value(0, name, b, a, bs, as_, au, [], (name,), width)
    return w.lines


def render_plan_diff(
    plan: PlanJSON, *, placeholders: Mapping[str, str] | None = None
) -> tuple[str, DiffStats]:
    """The plan as diff text, and what it contains. No-op plans say so in terraform's words."""
    ctx = _Ctx(placeholders or {})
    stats = DiffStats()
    blocks: list[list[str]] = []
    for rc in plan.get("resource_changes") or []:
        lines = render_resource_change(rc, ctx, stats)
        if lines:
            blocks.append(lines)
    for rd in plan.get("resource_drift") or []:
        stats.drifted.append(rd["address"])
    out: list[str] = []
    if stats.drifted:
        out.append("# Objects changed outside of Terraform since the last apply (refreshed in this plan):")
        out.extend(f"#   {a}" for a in stats.drifted)
        out.append("")
    for block in blocks:
        out.extend(block)
        out.append("")
    outputs = render_output_changes(plan.get("output_changes") or {}, ctx, stats)
    if outputs:
        out.append("# Changes to Outputs:")
        out.extend(outputs)
        out.append("")
    if not blocks and not outputs:
        out.append("No changes. Your infrastructure matches the configuration.")
    else:
        parts = [
            f"{stats.add} to add",
            f"{stats.change} to change",
            f"{stats.destroy} to destroy",
        ]
        if stats.replace:
            parts.append(f"{stats.replace} to replace")
        extras = []
        if stats.imported:
            extras.append(f"{stats.imported} to import")
        if stats.forget:
            extras.append(f"{stats.forget} to forget")
        if stats.moved:
            extras.append(f"{stats.moved} moved")
        line = "Plan: " + ", ".join(parts) + "."
        if extras:
            line = line[:-1] + " (" + ", ".join(extras) + ")."
        if not (stats.add or stats.change or stats.destroy or stats.replace) and outputs:
            line = "Changes to outputs only: no resources change."
        out.append(line)
    return "\n".join(out).rstrip() + "\n", stats


def placeholder_upstreams(inputs: Mapping[str, Any], sources: Mapping[str, str]) -> dict[str, str]:
    """placeholder value -> upstream stack, from a stack's inputs and ``var -> 'stack.output'``."""
    out = {}
    for var, value in inputs.items():
        if isinstance(value, str) and PLACEHOLDER_MARK in value and var in sources:
            out[value] = sources[var].rpartition(".")[0]
    return out
