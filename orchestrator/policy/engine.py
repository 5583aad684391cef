"""The one place that talks to regopy (rego-cpp): compile modules once, evaluate many inputs.

regopy has sharp edges, all guarded here:

- reading an undefined result through ``Output.expressions()``/``binding()`` aborts the
  process, and ``Output()`` itself raises on some error outputs: results are read as the
  raw output string (``"undefined"``, JSON, or an ``(error ...)`` s-expression) through the
  C API, never through those accessors;
- querying a bundle that failed to build crashes the process: ``Bundle.ok()`` is checked
  and the build's error nodes are read instead;
- builtin errors (a type error, division by zero) are *undefined* by default, which would
  turn a broken policy into a pass: strict builtin errors are on.

Modules are compiled into one bundle with one entry point per queried rule
(``main/deny``, ``main/warn``, ...); every evaluation reuses it, so the per-stack cost is
setting the input and running the entry points. Not thread-safe: one Program per thread.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import PolicyError

_ERROR_RE = re.compile(r"\(error(?:\s+(\d+):)?")
_MSG_RE = re.compile(r"\(errormsg (\d+):")


@dataclass(frozen=True)
class RegoProblem:
    """One error regopy reported: message, and where when it knows (module name, byte offset)."""

    message: str
    module: str | None = None
    offset: int | None = None


def parse_errors(text: str) -> list[RegoProblem]:
    """The errors in a rego-cpp error s-expression (length-prefixed strings: ``14:divide by zero``)."""
    problems: list[RegoProblem] = []
    pos = 0
    while True:
        m = _ERROR_RE.search(text, pos)
        if m is None:
            break
        module: str | None = None
        offset: int | None = None
        pos = m.end()
        if m.group(1) is not None:
            n = int(m.group(1))
            module = text[pos : pos + n]
            pos += n
            loc = re.match(r"\|(\d+)\|(\d+)", text[pos:])
            if loc:
                offset = int(loc.group(1))
                pos += loc.end()
        mm = _MSG_RE.search(text, pos)
        if mm is None:
            break
        n = int(mm.group(1))
        message = text[mm.end() : mm.end() + n]
        pos = mm.end() + n
        problems.append(RegoProblem(message, module, offset))
    if not problems and text.strip():
        problems.append(RegoProblem(text.strip().splitlines()[0][:200]))
    return problems


@dataclass(frozen=True)
class EntryResult:
    """The value of one entry point for one input: ``defined`` False when undefined."""

    entrypoint: str
    defined: bool
    value: Any = None
    error: str | None = None


def _lib() -> Any:
    import regopy

    return regopy


def _node_errors(node_ptr: Any) -> list[RegoProblem]:
    """Errors under a rego-cpp node (a failed bundle's error sequence)."""
    from regopy import rego_shared as rs

    if not node_ptr:
        return []
    problems: list[RegoProblem] = []
    try:
        for i in range(rs.rego_node_size(node_ptr)):
            child = rs.rego_node_get(node_ptr, i)
            problems.extend(parse_errors(rs.rego_node_json(child)))
    except rs.RegoError:
        return problems
    return problems


class Program:
    """Compiled modules and data, ready to evaluate inputs against named entry points."""

    def __init__(self, bundle: Any, entrypoints: Sequence[str]) -> None:
        regopy = _lib()
        self._bundle = bundle
        self.entrypoints = tuple(entrypoints)
        self._runner = regopy.Interpreter()
        self._runner.log_level = regopy.LogLevel.NONE
        self._runner.strict_built_in_errors = True
        self._lock = threading.Lock()

    @classmethod
    def compile(
        cls,
        modules: Sequence[tuple[str, str]],
        data: dict[str, Any],
        entrypoints: Sequence[str],
        sources: dict[str, str] | None = None,
    ) -> Program:
        """Build a bundle; a syntax or compile error becomes a PolicyError naming file:line.

        ``modules`` are (name shown in errors, text); ``sources`` maps a name to its text for
        turning byte offsets into lines (defaults to ``modules``).
        """
        regopy = _lib()
        sources = sources or dict(modules)
        builder = regopy.Interpreter()
        builder.log_level = regopy.LogLevel.NONE
        for name, text in modules:
            try:
                builder.add_module(name, text)
            except regopy.RegoError as exc:
                raise _compile_error(str(exc), sources, name) from None
        try:
            builder.add_data_json(json.dumps(data))
        except (regopy.RegoError, TypeError, ValueError) as exc:
            raise PolicyError(
                f"policies.data cannot be passed to the policies: {exc}",
                where="orchestrate.yaml",
                hint="Use plain YAML values (strings, numbers, lists, mappings).",
            ) from None
        if not entrypoints:
            return cls(None, ())
        try:
            bundle = builder.build(None, list(entrypoints))
        except regopy.RegoError as exc:
            raise _compile_error(str(exc), sources, None) from None
        if not bundle.ok():
            from regopy import rego_shared as rs

            problems = _node_errors(rs.rego_bundle_node(bundle._impl))
            raise _compile_error_from(problems, sources, None)
        return cls(bundle, entrypoints)

    def evaluate(self, value: dict[str, Any]) -> list[EntryResult]:
        """Evaluate every entry point with ``value`` as ``input``."""
        if self._bundle is None:
            return []
        regopy = _lib()
        from regopy import rego_shared as rs

        with self._lock:
            try:
                # JSON text, not regopy.Input: strings passed through the C API are stored
                # unescaped, and rego-cpp then writes them unescaped into its JSON output.
                self._runner.set_input_term(json.dumps(value))
            except (regopy.RegoError, TypeError, ValueError) as exc:
                return [
                    EntryResult(ep, False, error=f"cannot pass the input: {exc}") for ep in self.entrypoints
                ]
            results = []
            for ep in self.entrypoints:
                try:
                    out = rs.rego_bundle_query_entrypoint(self._runner._impl, self._bundle._impl, ep)
                except regopy.RegoError as exc:
                    results.append(EntryResult(ep, False, error=_first_message(str(exc))))
                    continue
                try:
                    ok = rs.rego_output_ok(out)
                    text = rs.rego_output_string(out)
                    result = _entry_result(ep, ok, text)
                    if result.error == _UNREADABLE:
                        result = _entry_from_nodes(ep, out)
                    elif result.error is not None and text.strip() == "<error>":
                        # The string form hides the reason: read it from the error nodes.
                        result = EntryResult(ep, False, error=_output_error(out) or result.error)
                finally:
                    rs.rego_free_output(out)
                results.append(result)
            return results


# rego-cpp stops a query after this many VM statements (VirtualMachine::m_stmt_limit; the
# C API offers no way to raise it). A policy reaches it by joining every resource change
# with every other one on a plan with thousands of resources.
STATEMENT_LIMIT = 10_000_000
_ERRORSEQ, _ERROR, _ERROR_MSG, _ERROR_CODE = 1804, 1800, 1801, 1803


def _output_error(out: Any) -> str | None:
    """The first error of a failed query, read from its error nodes, in words a user can act on."""
    from regopy import rego_shared as rs

    try:
        node = rs.rego_output_node(out)
        errors = [node] if int(rs.rego_node_type(node)) == _ERROR else []
        if int(rs.rego_node_type(node)) == _ERRORSEQ:
            errors = [rs.rego_node_get(node, i) for i in range(int(rs.rego_node_size(node)))]
        found: list[tuple[str, str]] = []
        for err in errors:
            parts = {
                int(rs.rego_node_type(c)): c
                for c in (rs.rego_node_get(err, i) for i in range(int(rs.rego_node_size(err))))
            }
            message = rs.rego_node_value(parts[_ERROR_MSG]) if _ERROR_MSG in parts else ""
            code = rs.rego_node_value(parts[_ERROR_CODE]) if _ERROR_CODE in parts else ""
            found.append((message, code))
    except (rs.RegoError, KeyError, IndexError, ValueError):
        return None
    if not found:
        return None
    message, code = found[0]
    if code == "timeout_error" or "Maximum statement count" in message:
        return (
            f"the policy engine's limit of {STATEMENT_LIMIT:,} evaluation steps per query was reached "
            "(regopy/rego-cpp: 'Maximum statement count reached'); a rule does too much work for a plan "
            "this large, usually by joining every resource change with every other one: index one side "
            "in a set or object first, or split the stack"
        )
    return f"{message} ({code})" if code else message or None


def _first_message(text: str) -> str:
    problems = parse_errors(text)
    return "; ".join(p.message for p in problems) if problems else text.strip()[:200]


def _entry_result(ep: str, ok: bool, text: str) -> EntryResult:
    stripped = text.strip()
    if stripped == "undefined":
        return EntryResult(ep, False)
    if not ok or stripped.startswith(("(error", "(rego-errorseq", "<error>")):
        return EntryResult(ep, False, error=_first_message(stripped) or "the policy failed to evaluate")
    try:
        doc = json.loads(stripped)
    except ValueError:
        return EntryResult(ep, False, error=_UNREADABLE)
    if isinstance(doc, list):
        if len(doc) != 1:
            return EntryResult(ep, False, error=f"{len(doc)} results where one was expected")
        doc = doc[0]
    exprs = doc.get("expressions") if isinstance(doc, dict) else None
    if not isinstance(exprs, list) or len(exprs) != 1:
        return EntryResult(ep, False, error=f"unexpected result shape from regopy: {stripped[:120]}")
    return EntryResult(ep, True, exprs[0])


_UNREADABLE = "unreadable result from regopy"

# rego-cpp node kinds (regopy.rego_shared.NodeKind)
_ARRAY, _SET, _OBJECT, _INT, _FLOAT, _STRING, _TRUE, _FALSE, _BOOL, _NULL = (
    1004,
    1005,
    1006,
    1008,
    1009,
    1010,
    1011,
    1012,
    1111,
    1013,
)
_TERM, _SCALAR, _TERMS, _RESULTS, _RESULT = 1002, 1003, 1015, 1017, 1018


_JSON_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape_one(m: re.Match[str]) -> str:
    esc = m.group(1)
    return chr(int(esc[1:], 16)) if esc[0] == "u" else _SIMPLE_ESCAPES[esc]


def _decode_string(text: str) -> str:
    """A string node's text: rego-cpp keeps some JSON-quoted, some escaped, some raw."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
            if isinstance(value, str):
                return value
        except ValueError:
            pass
    try:
        value = json.loads('"' + text + '"')
        if isinstance(value, str):
            return value
    except ValueError:
        pass
    # Escaped text with raw quotes spliced in (rego-cpp's sprintf): undo the escapes only.
    return _JSON_ESCAPE.sub(_unescape_one, text)


def _node_value(ptr: Any, depth: int = 0) -> Any:
    from regopy import rego_shared as rs

    if depth > 200:
        raise ValueError("result nested too deeply")
    kind = int(rs.rego_node_type(ptr))
    size = int(rs.rego_node_size(ptr))
    children = [rs.rego_node_get(ptr, i) for i in range(size)]
    if kind in (_TERM, _SCALAR):
        return _node_value(children[0], depth + 1)
    if kind in (_ARRAY, _SET, _TERMS):
        return [_node_value(c, depth + 1) for c in children]
    if kind == _OBJECT:
        out: dict[str, Any] = {}
        for item in children:
            key = _node_value(rs.rego_node_get(item, 0), depth + 1)
            out[key if isinstance(key, str) else json.dumps(key)] = _node_value(
                rs.rego_node_get(item, 1), depth + 1
            )
        return out
    text = rs.rego_node_value(ptr) if kind != _NULL else ""
    if kind == _STRING:
        return _decode_string(text)
    if kind == _INT:
        return int(text)
    if kind == _FLOAT:
        return float(text)
    if kind in (_TRUE, _FALSE, _BOOL):
        return text == "true"
    if kind == _NULL:
        return None
    raise ValueError(f"unexpected node kind {kind}")


def _entry_from_nodes(ep: str, out: Any) -> EntryResult:
    """Read a result through the node API when rego-cpp wrote JSON it cannot escape.

    rego-cpp's sprintf inserts strings made by builtins with their JSON quotes, and its
    JSON writer does not escape them; the node tree still holds the values.
    """
    from regopy import rego_shared as rs

    try:
        root = rs.rego_output_node(out)
        results = root
        if int(rs.rego_node_type(root)) == _RESULTS:
            if int(rs.rego_node_size(root)) != 1:
                return EntryResult(ep, False, error="more than one result where one was expected")
            results = rs.rego_node_get(root, 0)
        if int(rs.rego_node_type(results)) != _RESULT:
            return EntryResult(ep, False, error=_UNREADABLE)
        terms = rs.rego_node_get(results, 0)
        values = _node_value(terms)
    except (rs.RegoError, ValueError, IndexError) as exc:
        return EntryResult(ep, False, error=f"{_UNREADABLE}: {exc}")
    if not isinstance(values, list) or len(values) != 1:
        return EntryResult(ep, False, error=_UNREADABLE)
    return EntryResult(ep, True, values[0])


def _line_of(text: str, offset: int) -> int:
    return text.encode("utf-8")[:offset].count(b"\n") + 1


def _compile_error_from(
    problems: list[RegoProblem], sources: dict[str, str], default_module: str | None
) -> PolicyError:
    if not problems:
        return PolicyError(
            "the policies failed to compile (regopy gave no reason)",
            where=default_module,
            hint="Check rules that define the same name in different ways (a set in one file, a value in another).",
        )
    first = problems[0]
    module = first.module or default_module
    where = module
    if module is not None and first.offset is not None and module in sources:
        where = f"{module}:{_line_of(sources[module], first.offset)}"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return PolicyError(
        f"invalid Rego: {first.message}{more}",
        where=where,
        hint="Fix the policy; `opa check --v1-compatible` or `regal lint` show more detail.",
    )


def _compile_error(text: str, sources: dict[str, str], default_module: str | None) -> PolicyError:
    return _compile_error_from(parse_errors(text), sources, default_module)
