"""Evaluate the small part of Terraform's expression language that addresses state (pure).

``terraform_remote_state`` configs are often written through variables, locals and
templates: ``key = "${var.env}/network/terraform.tfstate"``. This resolves references to
``var.*`` (tfvars, var files, then defaults), ``local.*``, ``path.module``/``path.root``/
``path.cwd``, ``terraform.workspace`` and ``each.key``/``each.value`` inside string
templates. Anything else (function calls, conditionals, resources) stays ``Unresolved``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.hcl import Unresolved

_TRAVERSAL = re.compile(r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\s*(?:\"[^\"]*\"|\d+)\s*\])*$")
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[\s*(?:\"([^\"]*)\"|(\d+))\s*\]")
_INTERP = re.compile(r"\$\{\s*([^{}]*?)\s*\}")
_MAX_DEPTH = 8


@dataclass
class Scope:
    variables: dict[str, Any] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    path_module: str = "."
    cwd: str = "."
    workspace: str = "default"
    each: tuple[Any, Any] | None = None  # (key, value)


def resolve(value: Any, scope: Scope, depth: int = 0) -> Any:
    """``value`` with every resolvable expression replaced; the rest stays Unresolved."""
    if isinstance(value, Unresolved):
        return _expr(value.text, scope, depth)
    if isinstance(value, dict):
        return {k: resolve(v, scope, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope, depth) for v in value]
    return value


def _expr(text: str, scope: Scope, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return Unresolved(text)
    t = text.strip()
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
        return _template(t[1:-1], scope, depth, text)
    if "${" in t:
        return _template(t, scope, depth, text)  # python-hcl2 / JSON form: the template body
    if _TRAVERSAL.match(t):
        return _traverse(t, scope, depth)
    return Unresolved(text)


def _template(body: str, scope: Scope, depth: int, original: str) -> Any:
    if "%{" in body:
        return Unresolved(original)
    whole = _INTERP.fullmatch(body)
    if whole:  # "${x}" alone keeps x's type
        return _expr(whole.group(1), scope, depth)
    parts: list[str] = []
    pos = 0
    for m in _INTERP.finditer(body):
        parts.append(body[pos : m.start()])
        got = _expr(m.group(1), scope, depth)
        if isinstance(got, bool) or not isinstance(got, str | int | float):
            return Unresolved(original)
        parts.append(str(got))
        pos = m.end()
    parts.append(body[pos:])
    text = "".join(parts)
    if "${" in text:
        return Unresolved(original)
    return text.replace("\\\\", "\\").replace('\\"', '"')


def _traverse(text: str, scope: Scope, depth: int) -> Any:
    head = re.split(r"[.\[]", text, maxsplit=1)[0]
    steps = [
        m.group(1) or m.group(2) or (int(m.group(3)) if m.group(3) else None)
        for m in _STEP.finditer(text[len(head) :])
    ]
    root: Any
    if head == "var" and steps:
        name = steps.pop(0)
        if name not in scope.variables:
            return Unresolved(text)
        root = scope.variables[name]
    elif head == "local" and steps:
        name = steps.pop(0)
        if name not in scope.locals:
            return Unresolved(text)
        root = scope.locals[name]
    elif head == "path" and len(steps) == 1:
        return {"module": scope.path_module, "root": ".", "cwd": scope.cwd}.get(
            str(steps[0]), Unresolved(text)
        )
    elif head == "terraform" and steps == ["workspace"]:
        return scope.workspace
    elif head == "each" and scope.each is not None and steps and steps[0] in ("key", "value"):
        root = scope.each[0] if steps.pop(0) == "key" else scope.each[1]
    else:
        return Unresolved(text)
    value = resolve(root, scope, depth + 1)
    for step in steps:
        in_map = isinstance(value, dict) and isinstance(step, str) and step in value
        in_list = isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)
        if not (in_map or in_list):
            return Unresolved(text)
        value = resolve(value[step], scope, depth + 1)
    return value


def iterations(for_each: Any, scope: Scope) -> list[tuple[Any, Any]] | None:
    """(each.key, each.value) pairs of a literal map or set; None when not knowable."""
    value = resolve(for_each, scope)
    if isinstance(value, dict) and not _has_unresolved(value.keys()):
        return list(value.items())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [(v, v) for v in value]
    return None


def _has_unresolved(values: Any) -> bool:
    return any(isinstance(v, Unresolved) for v in values)


def fully_resolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return False
    if isinstance(value, dict):
        return all(fully_resolved(v) for v in value.values())
    if isinstance(value, list):
        return all(fully_resolved(v) for v in value)
    return True
