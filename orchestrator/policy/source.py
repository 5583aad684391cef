"""A lexical reading of Rego modules: package, rule names, function calls, and the Rego v1 check.

regopy (rego-cpp) accepts Rego v0 rules silently and misreads them: ``deny[msg] { ... }``
becomes an object ``{msg: true}``, so a conftest-style ``deny`` would never fail a plan.
OPA 1.0 rejects those forms; so does this module, before regopy sees the text, with the
file and line of the rule. It also collects what the loader needs without a second parser:
the package, the top-level rule names (to query ``deny``, ``deny_*``, ``warn_*``, ...), and
the names of called functions (to refuse builtins regopy does not have at load time
rather than at the first plan that reaches the call).

This is a tokenizer plus a few structural rules, not a Rego parser: regopy remains the
judge of syntax. Pure: text in, ModuleInfo or PolicyError out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestrator.errors import PolicyError

_V1_HINT = (
    "Rego v1 is required (OPA 1.0 syntax): write `deny contains msg if { ... }` for multi-value rules "
    "and put `if` before every rule body."
)


@dataclass(frozen=True)
class Token:
    kind: str  # ident | string | number | op | open | close
    text: str
    line: int
    depth: int  # bracket depth before this token
    first_on_line: bool


@dataclass
class ModuleInfo:
    """What one .rego file declares."""

    file: str
    package: str
    rules: dict[str, int] = field(default_factory=dict)  # top-level rule name -> first line
    functions: set[str] = field(default_factory=set)  # rules declared with parameters
    calls: list[tuple[str, int]] = field(default_factory=list)  # (dotted name, line)
    imports: dict[str, str] = field(default_factory=dict)  # alias -> dotted path
    header: str = ""  # the comment block that opens the file, '#' stripped


def header_comment(text: str) -> str:
    """The comment lines at the top of a module, before any code."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if lines:
                lines.append("")
            continue
        if not line.startswith("#"):
            break
        body = line[1:]
        lines.append(body[1:] if body.startswith(" ") else body)
    return "\n".join(lines).strip()


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>:=|==|!=|<=|>=|[=<>+\-*/%&|,;.:])
  | (?P<open>[\[({])
  | (?P<close>[\])}])
  | (?P<bad>["`])
  """,
    re.VERBOSE,
)

_KEYWORDS = {
    "package",
    "import",
    "default",
    "if",
    "contains",
    "else",
    "some",
    "every",
    "in",
    "not",
    "with",
    "as",
    "true",
    "false",
    "null",
}
# A '{' right after one of these opens a value (object or set literal), not a rule body.
_VALUE_BEFORE = {":=", "=", "==", "!=", ",", "(", "[", "{", "contains", "|", ":", "&", "+", "-", "in", "not"}
# A line starting after one of these continues the previous statement.
_CONTINUES = {":=", "=", "==", "!=", ",", "if", "contains", "else", "in", ".", "|", "&", "+", "-", "*", "/"}


def tokenize(text: str, file: str) -> list[Token]:
    tokens: list[Token] = []
    line = 1
    depth = 0
    first = True
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            # Unknown characters are regopy's to report; skip them here.
            pos += 1
            continue
        kind = m.lastgroup or ""
        value = m.group(0)
        pos = m.end()
        if kind == "nl":
            line += 1
            first = True
            continue
        if kind in ("ws", "comment"):
            continue
        if kind == "bad":
            raise PolicyError(
                "unterminated string", where=f"{file}:{line}", hint="Close the string on the same line."
            )
        if kind == "raw":
            kind = "string"
        if kind == "close":
            depth = max(0, depth - 1)
        tokens.append(Token(kind, value, line, depth, first))
        first = False
        if kind == "open":
            depth += 1
        if kind == "string":
            line += value.count("\n")
    return tokens


def _statements(tokens: list[Token]) -> list[list[Token]]:
    """Split tokens into top-level statements (package, import, rules)."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for tok in tokens:
        starts = (
            tok.depth == 0
            and tok.first_on_line
            and tok.kind != "close"
            and tok.text not in _CONTINUES
            and (not current or current[-1].text not in _CONTINUES)
        )
        if starts and current:
            out.append(current)
            current = []
        current.append(tok)
    if current:
        out.append(current)
    return out


def _dotted(tokens: list[Token], start: int) -> tuple[str, int]:
    """A dotted name (a.b.c) starting at index ``start``; returns (name, next index)."""
    parts: list[str] = []
    i = start
    while i < len(tokens) and tokens[i].kind == "ident":
        parts.append(tokens[i].text)
        if i + 1 < len(tokens) and tokens[i + 1].text == "." and i + 2 < len(tokens):
            i += 2
            continue
        i += 1
        break
    return ".".join(parts), i


def _v0_error(file: str, line: int, what: str) -> PolicyError:
    return PolicyError(f"{what} (Rego v0 syntax)", where=f"{file}:{line}", hint=_V1_HINT)


def _check_rule(stmt: list[Token], file: str, info: ModuleInfo) -> None:
    i = 0
    if stmt[0].text == "default":
        i = 1
    if i >= len(stmt) or stmt[i].kind != "ident":
        return  # not a rule regopy will accept either; it reports the syntax error
    name = stmt[i].text
    info.rules.setdefault(name, stmt[i].line)
    j = i + 1
    while j + 1 < len(stmt) and stmt[j].text == "." and stmt[j + 1].kind == "ident":
        j += 2  # ref head: deny.foo contains ...
    if j < len(stmt) and stmt[j].text == "(" and stmt[0].text != "default":
        info.functions.add(name)
    # v0 multi-value rule: name[key] followed by a body, `if`, or nothing, with no value.
    if j < len(stmt) and stmt[j].text == "[" and stmt[0].text != "default":
        k = j
        while k < len(stmt) and not (stmt[k].kind == "close" and stmt[k].depth == 0):
            k += 1
        after = stmt[k + 1] if k + 1 < len(stmt) else None
        if after is None or after.text in ("if", "{"):
            raise _v0_error(
                file,
                stmt[j].line,
                f"rule '{name}' adds to a set with `{name}[...]`; write `{name} contains ...`",
            )
    # Every '{' that opens at the top level must open a value or follow `if`.
    for k, tok in enumerate(stmt):
        if tok.text != "{" or tok.depth != 0 or k == 0:
            continue
        prev = stmt[k - 1]
        if prev.text == "if" or prev.text in _VALUE_BEFORE:
            continue
        if prev.text == "else":
            raise _v0_error(file, tok.line, f"rule '{name}' has `else {{` without `if`")
        raise _v0_error(file, tok.line, f"rule '{name}' has a body without `if`")


def _matching(stmt: list[Token], start: int) -> int:
    """Index of the token closing the bracket opened at ``start`` (or the last index)."""
    depth = stmt[start].depth
    for k in range(start + 1, len(stmt)):
        if stmt[k].kind == "close" and stmt[k].depth == depth:
            return k
    return len(stmt) - 1


def _check_param_indexes(stmt: list[Token], file: str) -> None:
    """Refuse a function parameter used as a reference index inside a comprehension.

    rego-cpp 1.5 treats such a parameter as a fresh variable: ``f(k) := [x | some x in
    data.d[k]]`` iterates every key of ``data.d`` instead of looking ``k`` up, so the
    policy silently gives wrong answers. Binding it first (``key := k``) or
    ``object.get(data.d, k, [])`` evaluates correctly.
    """
    i = 1 if stmt and stmt[0].text == "default" else 0
    if i + 1 >= len(stmt) or stmt[i].kind != "ident" or stmt[i + 1].text != "(":
        return
    head_end = _matching(stmt, i + 1)
    params = {
        t.text
        for t in stmt[i + 2 : head_end]
        if t.kind == "ident" and t.text not in _KEYWORDS and t.text != "_"
    }
    if not params:
        return
    for k in range(head_end + 1, len(stmt)):
        tok = stmt[k]
        if tok.kind != "open" or tok.text not in "[{":
            continue
        end = _matching(stmt, k)
        if not any(t.text == "|" and t.depth == tok.depth + 1 for t in stmt[k + 1 : end]):
            continue  # not a comprehension
        for j in range(k + 1, end):
            t = stmt[j]
            before = stmt[j - 1]
            if t.text != "[" or not (
                before.kind == "close" or (before.kind == "ident" and before.text not in _KEYWORDS)
            ):
                continue  # an array literal, not an index
            index_end = _matching(stmt, j)
            for m in range(j + 1, index_end):
                u = stmt[m]
                if u.kind != "ident" or u.text not in params or stmt[m - 1].text == ".":
                    continue
                raise PolicyError(
                    f"the function parameter '{u.text}' indexes a reference inside a comprehension, "
                    "which regopy (rego-cpp) evaluates wrongly: it iterates every key instead",
                    where=f"{file}:{u.line}",
                    hint=f"Bind it first (`{u.text}_ := {u.text}` before the comprehension, then index "
                    f"with `{u.text}_`), or use object.get(..., {u.text}, default).",
                )


def _collect_calls(tokens: list[Token], info: ModuleInfo) -> None:
    for k, tok in enumerate(tokens):
        if tok.text != "(" or k == 0 or tokens[k - 1].kind != "ident":
            continue
        # Walk back over a dotted name: a.b.c(
        end = k - 1
        start = end
        while start >= 2 and tokens[start - 1].text == "." and tokens[start - 2].kind == "ident":
            start -= 2
        if start >= 1 and tokens[start - 1].text == ".":
            continue  # x.y[0].f( or similar: not a plain function name
        name = ".".join(t.text for t in tokens[start : end + 1] if t.kind == "ident")
        head = tokens[start]
        if head.text in _KEYWORDS:
            continue
        # The rule head of a function definition is a declaration, not a call.
        if head.depth == 0 and head.first_on_line:
            continue
        info.calls.append((name, tok.line))


def scan_module(text: str, file: str) -> ModuleInfo:
    """Read one module; raise PolicyError (file:line) for Rego v0 rules and a missing package."""
    tokens = tokenize(text, file)
    statements = _statements(tokens)
    if not statements or statements[0][0].text != "package":
        line = statements[0][0].line if statements else 1
        raise PolicyError(
            "the module does not start with a package declaration",
            where=f"{file}:{line}",
            hint="Start it with `package main` (or another namespace listed in policies.namespaces).",
        )
    package, _ = _dotted(statements[0], 1)
    if not package:
        raise PolicyError(
            "the package declaration has no name",
            where=f"{file}:{statements[0][0].line}",
            hint="Write `package main`.",
        )
    info = ModuleInfo(file=file, package=package, header=header_comment(text))
    for stmt in statements[1:]:
        head = stmt[0].text
        if head == "package":
            raise PolicyError(
                "a second package declaration",
                where=f"{file}:{stmt[0].line}",
                hint="One package per file.",
            )
        if head == "import":
            path, nxt = _dotted(stmt, 1)
            alias = path.rsplit(".", 1)[-1]
            if nxt + 1 < len(stmt) and stmt[nxt].text == "as":
                alias = stmt[nxt + 1].text
            info.imports[alias] = path
            continue
        _check_rule(stmt, file, info)
        _check_param_indexes(stmt, file)
    _collect_calls(tokens, info)
    return info
