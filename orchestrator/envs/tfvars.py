"""Edit one variable of a ``.tfvars`` file in place (pure): the assignment's value expression is
replaced and everything else — alignment, comments, other assignments, blank lines — is kept.

The scanner knows HCL's strings (with escapes and ``${...}`` templates), heredocs, comments
(``#``, ``//``, ``/* */``) and brackets, so a value spanning lines is replaced whole and a
``#`` inside a string is not taken for a comment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import ConfigError

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)([ \t]*)=(?!=)([ \t]*)")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")
_NUMBER = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class Assignment:
    name: str
    start: int  # of the value expression
    end: int  # one past it (before a trailing comment or the newline)
    text: str  # the expression as written


def _skip_string(text: str, i: int) -> int:
    """``text[i]`` is an opening quote; the index after the closing one."""
    i += 1
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if text.startswith("${", i) or text.startswith("%{", i):
            depth += 1
            i += 2
            continue
        if c == "}" and depth:
            depth -= 1
        elif c == '"' and not depth:
            return i + 1
        elif c == "\n" and not depth:
            break
        i += 1
    raise ConfigError("an unterminated string")


def _expression_end(text: str, i: int) -> int:
    """The end of the expression starting at ``i``: the newline (or comment) at bracket depth 0."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_string(text, i)
            continue
        m = _HEREDOC.match(text, i)
        if m:
            close = re.compile(rf"^[ \t]*{re.escape(m.group(1))}[ \t]*$", re.M)
            found = close.search(text, m.end())
            if not found:
                raise ConfigError(f"an unterminated heredoc <<{m.group(1)}")
            i = found.end()
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ConfigError("an unterminated /* comment")
            i = j + 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and (c == "\n" or c == "#" or text.startswith("//", i)):
            break
        i += 1
    end = i
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    return end


def _skip_line_rest(text: str, i: int) -> int:
    j = text.find("\n", i)
    return len(text) if j < 0 else j + 1


def assignments(text: str) -> list[Assignment]:
    """Every top-level ``name = value`` of a tfvars file."""
    out: list[Assignment] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            i = _skip_line_rest(text, i)
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = len(text) if j < 0 else j + 2
            continue
        m = _ASSIGN.match(text, i)
        if not m:
            raise ConfigError(f"cannot read line {text.count(chr(10), 0, i) + 1}: not 'name = value'")
        start = m.end()
        end = _expression_end(text, start)
        out.append(Assignment(m.group(1), start, end, text[start:end]))
        i = end
    return out


def parse_value(expression: str) -> Any:
    """The value of a literal expression, via python-hcl2; a non-literal stays its text."""
    import hcl2

    try:
        data = hcl2.loads(f"v = {expression}\n")
    except Exception as exc:
        raise ConfigError(f"cannot parse the value {expression!r}") from exc
    value = data.get("v")
    return _strip(value)


def _strip(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value[1:-1]
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, dict):
        return {_strip(k): _strip(v) for k, v in value.items() if k != "__is_block__"}
    return value


def hcl_string(value: str) -> str:
    """``value`` as an HCL quoted string: escapes and no template interpolation."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t").replace("${", "$${").replace("%{", "%%{")
    return f'"{out}"'


def literal(value: str, kind: str) -> str:
    """The expression to write for ``value`` given the variable's kind (string|number|bool)."""
    if kind == "number":
        if not _NUMBER.match(value):
            raise ConfigError(f"'{value}' is not a number, and the variable is a number")
        return value
    if kind == "bool":
        if value not in ("true", "false"):
            raise ConfigError(f"'{value}' is not true or false, and the variable is a bool")
        return value
    return hcl_string(value)


def kind_of(expression: str | None, declared: str | None) -> str:
    """string | number | bool: from the value written now, else the declared type."""
    if expression is not None:
        value = parse_value(expression)
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        if isinstance(value, str):
            return "string"
        raise ConfigError(f"the current value {expression.strip()!r} is not a string, number or bool")
    if declared in ("number", "bool"):
        return declared
    return "string"


def set_var(text: str, name: str, value: str, declared: str | None = None) -> tuple[str, bool, str | None]:
    """(new text, changed, the old expression) with ``name`` set to ``value``."""
    if not NAME.match(name):
        raise ConfigError(f"'{name}' is not a Terraform variable name")
    found = [a for a in assignments(text) if a.name == name]
    if len(found) > 1:
        raise ConfigError(f"'{name}' is set {len(found)} times", hint="Keep one assignment and try again.")
    current = found[0] if found else None
    kind = kind_of(current.text if current else None, declared)
    new_expr = literal(value, kind)
    if current is not None:
        if parse_value(current.text) == parse_value(new_expr):
            return text, False, current.text
        return text[: current.start] + new_expr + text[current.end :], True, current.text
    sep = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{sep}{name} = {new_expr}\n", True, None
