"""GitHub Actions expressions (``${{ ... }}``), as GitHub documents them, for the workflow harness.

Literals (strings in single quotes, numbers, true/false/null), property access (``a.b``,
``a['b']``, ``a.*.b`` is not needed here), ``!``, ``<  <= > >= == !=``, ``&& ||`` (returning an
operand, not a boolean), parentheses, and the functions contains, startsWith, endsWith, format,
join, toJSON, fromJSON, success, always, failure, cancelled. String comparison ignores case and
mixed types are coerced to numbers, as GitHub does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot parse expression at {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _num(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip()) if v.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def truthy(v: Any) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, str):
        return v != ""
    return True


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) and not isinstance(a, int | float | bool):
        return bool(a == b)
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return a is b
    return _num(a) == _num(b)


def to_string(v: Any) -> str:
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict | list):
        return json.dumps(v, indent=2)
    return str(v)


class _Parser:
    def __init__(self, text: str, ctx: Mapping[str, Any], status: Callable[[str], bool]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.ctx = ctx
        self.status = status

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ExpressionError(f"expected {value!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        v = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()!r}")
        return v

    def or_(self) -> Any:
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            w = self.and_()
            v = v if truthy(v) else w
        return v

    def and_(self) -> Any:
        v = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            w = self.cmp()
            v = w if truthy(v) else v
        return v

    def cmp(self) -> Any:
        v = self.unary()
        while self.peek() is not None and self.peek()[1] in ("==", "!=", "<", ">", "<=", ">="):  # type: ignore[index]
            op = self.take()[1]
            w = self.unary()
            if op == "==":
                v = _eq(v, w)
            elif op == "!=":
                v = not _eq(v, w)
            else:
                a, b = (
                    (v.lower(), w.lower())
                    if isinstance(v, str) and isinstance(w, str)
                    else (_num(v), _num(w))
                )
                v = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]  # type: ignore[operator]
        return v

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        v = self.primary()
        while True:
            tok = self.peek()
            if tok == ("op", "."):
                self.take()
                name = self.take()[1]
                v = v.get(name) if isinstance(v, dict) else None
            elif tok == ("op", "["):
                self.take()
                key = self.or_()
                self.take("]")
                if isinstance(v, dict):
                    v = v.get(to_string(key))
                elif isinstance(v, list):
                    idx = int(_num(key))
                    v = v[idx] if 0 <= idx < len(v) else None
                else:
                    v = None
            else:
                return v

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if value == "(":
            v = self.or_()
            self.take(")")
            return v
        if kind == "name":
            if value == "true":
                return True
            if value == "false":
                return False
            if value == "null":
                return None
            if self.peek() == ("op", "("):
                return self.call(value)
            return self.ctx.get(value)
        raise ExpressionError(f"unexpected {value!r}")

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        fn = name.lower()
        if fn in ("success", "always", "failure", "cancelled"):
            return self.status(fn)
        if fn == "contains":
            hay, needle = args
            if isinstance(hay, list):
                return any(_eq(x, needle) for x in hay)
            return to_string(needle).lower() in to_string(hay).lower()
        if fn == "startswith":
            return to_string(args[0]).lower().startswith(to_string(args[1]).lower())
        if fn == "endswith":
            return to_string(args[0]).lower().endswith(to_string(args[1]).lower())
        if fn == "format":
            text = to_string(args[0])
            return re.sub(r"\{(\d+)\}", lambda m: to_string(args[1 + int(m.group(1))]), text)
        if fn == "join":
            sep = to_string(args[1]) if len(args) > 1 else ","
            return (
                sep.join(to_string(x) for x in args[0]) if isinstance(args[0], list) else to_string(args[0])
            )
        if fn == "tojson":
            return json.dumps(args[0], indent=2)
        if fn == "fromjson":
            try:
                return json.loads(to_string(args[0]))
            except ValueError as exc:
                raise ExpressionError(f"fromJSON: invalid JSON {args[0]!r}") from exc
        if fn == "hashfiles":
            raise ExpressionError("hashFiles is not supported by the harness")
        raise ExpressionError(f"unknown function {name}")


def evaluate(text: str, ctx: Mapping[str, Any], status: Callable[[str], bool] | None = None) -> Any:
    """The value of one expression (without ``${{ }}``)."""
    return _Parser(text, ctx, status or (lambda fn: fn in ("success", "always"))).parse()


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(value: Any, ctx: Mapping[str, Any], status: Callable[[str], bool] | None = None) -> Any:
    """Replace ``${{ }}`` in a string (a lone expression keeps its type), recursively in dicts/lists."""
    if isinstance(value, dict):
        return {k: interpolate(v, ctx, status) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, ctx, status) for v in value]
    if not isinstance(value, str):
        return value
    whole = _TEMPLATE.fullmatch(value.strip())
    if whole:
        return evaluate(whole.group(1), ctx, status)
    return _TEMPLATE.sub(lambda m: to_string(evaluate(m.group(1), ctx, status)), value)


def condition(text: Any, ctx: Mapping[str, Any], status: Callable[[str], bool]) -> bool:
    """An ``if:`` value; without a status function in it, ``success() &&`` is implied."""
    if text is None:
        return status("success")
    if isinstance(text, bool):
        return text and status("success")
    body = str(text).strip()
    m = _TEMPLATE.fullmatch(body)
    if m:
        body = m.group(1)
    explicit = re.search(r"\b(success|always|failure|cancelled)\s*\(", body)
    value = truthy(evaluate(body, ctx, status))
    return value if explicit else value and status("success")
