"""Resource addresses -> the .tf file and line that declare them (for SARIF and comments).

``module.assets.aws_s3_bucket.this["a"]`` is followed through the stack's module calls
into local module directories (Stack.modules); a resource inside a remote module resolves
to the module block that calls it. Pure.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from orchestrator.discovery import Stack
from orchestrator.hcl import TerraformInfo
from orchestrator.policy.report import Location
from orchestrator.terraform.planjson import PlanJSON


@dataclass(frozen=True)
class Address:
    modules: tuple[str, ...]
    mode: str  # managed | data
    type: str
    name: str


def _segments(address: str) -> list[str]:
    """Split on dots outside brackets and quotes, dropping index keys: a.b["x.y"].c -> [a, b, c]."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    i = 0
    while i < len(address):
        ch = address[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "." and depth == 0:
            parts.append("".join(current))
            current = []
        elif depth == 0:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def parse_address(address: str) -> Address | None:
    """Parse a resource address; None when it is not one."""
    parts = _segments(address.strip())
    modules: list[str] = []
    while len(parts) >= 2 and parts[0] == "module":
        modules.append(parts[1])
        parts = parts[2:]
    mode = "managed"
    if parts and parts[0] == "data":
        mode = "data"
        parts = parts[1:]
    if len(parts) != 2 or not all(parts):
        return None
    return Address(tuple(modules), mode, parts[0], parts[1])


def _module_info(stack: Stack, directory: str) -> TerraformInfo | None:
    if directory == stack.path:
        return stack.tf
    return next((m.tf for m in stack.modules if m.path == directory), None)


def locate(stack: Stack, address: str) -> Location | None:
    """Where ``address`` is declared in the stack's files.

    Inside a remote module, or when the module's files do not declare it, the innermost
    module call that holds it; None when the stack itself does not declare it.
    """
    parsed = parse_address(address)
    if parsed is None:
        return None
    directory = stack.path
    info: TerraformInfo | None = stack.tf
    via: Location | None = None  # the innermost module call followed
    for name in parsed.modules:
        if info is None:
            return via
        call = next((c for c in info.modules if c.name == name), None)
        if call is None:
            return via
        via = Location(call.file, call.line)
        source = call.source or ""
        target_info = None
        if source.startswith(("./", "../")):
            target = posixpath.normpath(posixpath.join(directory, source))
            target_info = _module_info(stack, target)
            directory = target
        if target_info is None:
            return via  # a remote module: point at the call
        info = target_info
    if info is None:
        return via
    kind = "data" if parsed.mode == "data" else "resource"
    decl = next(
        (d for d in info.declarations if d.kind == kind and d.type == parsed.type and d.name == parsed.name),
        None,
    )
    if decl is None:
        return via  # not in the module's files: the module call is the nearest place
    return Location(decl.file, decl.line)


def addresses_in_plan(plan: PlanJSON) -> list[str]:
    """Every resource address the plan mentions, longest first (for finding one in a message)."""
    found = {rc["address"] for rc in plan.get("resource_changes") or []}
    return sorted(found, key=lambda a: (-len(a), a))


def address_in_text(text: str, addresses: list[str]) -> str | None:
    """The longest plan address that appears in ``text`` as a whole word."""
    for address in addresses:
        start = text.find(address)
        while start != -1:
            end = start + len(address)
            before = text[start - 1] if start > 0 else " "
            after = text[end] if end < len(text) else " "
            if not (before.isalnum() or before in "_.") and not (after.isalnum() or after in "_["):
                return address
            start = text.find(address, start + 1)
    return None
