"""No nested function changes its enclosing function's data (issue 13: "no closures holding
mutable cells").

A closure that writes into the function around it (``nonlocal``, ``results[key] = ...``,
``seen.add(x)``, ``counter["n"] += 1``) hides state in a cell: state belongs in a small object
with methods, or in values passed in and returned. Free variables come from ``symtable`` (the
compiler's own scope analysis), so a nested function's own locals and module globals never
count; module-level functions and methods have no free variables of this kind.
"""

from __future__ import annotations

import ast
import symtable
from collections.abc import Iterator
from pathlib import Path

import orchestrate_emulate
import orchestrator

PACKAGE = Path(orchestrator.__file__).parent
EMULATOR = Path(orchestrate_emulate.__file__).parent

# Methods that change the list, dict, set or deque they are called on.
MUTATORS = frozenset(
    {
        "append",
        "appendleft",
        "extend",
        "extendleft",
        "insert",
        "add",
        "update",
        "setdefault",
        "pop",
        "popleft",
        "popitem",
        "remove",
        "discard",
        "clear",
        "sort",
        "reverse",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)

_Func = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def _frees(table: symtable.SymbolTable) -> Iterator[tuple[tuple[str, int], frozenset[str]]]:
    """((name, line), free variables) of every function scope in ``table``, at any depth."""
    for child in table.get_children():
        if isinstance(child, symtable.Function):
            free = frozenset(child.get_frees()) - {"__class__"}  # super()'s implicit cell
            yield (child.get_name(), child.get_lineno()), free
        yield from _frees(child)


def _root(node: ast.expr) -> str | None:
    """``x`` for ``x``, ``x[k]``, ``x.a``, ``x.a[k].b``: the name a store or call lands in."""
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _own_nodes(func: _Func) -> Iterator[ast.AST]:
    """The nodes of ``func``'s body, not those of functions nested in it (checked on their own)."""
    todo: list[ast.AST] = list(func.body) if isinstance(func.body, list) else [func.body]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, _Func):
            todo.extend(ast.iter_child_nodes(node))


def _stored(node: ast.AST) -> list[ast.expr]:
    """Subscript and attribute targets written by an assignment, augmented assignment or del."""
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        t = targets.pop()
        if isinstance(t, ast.Tuple | ast.List):
            targets.extend(t.elts)
        elif isinstance(t, ast.Starred):
            targets.append(t.value)
        elif isinstance(t, ast.Subscript | ast.Attribute):
            flat.append(t)
    return flat


def _mutations(func: _Func, free: frozenset[str]) -> Iterator[str]:
    for node in _own_nodes(func):
        if isinstance(node, ast.Nonlocal):
            yield f"nonlocal {', '.join(node.names)}"
        for target in _stored(node):
            if _root(target) in free:
                yield f"writes {ast.unparse(target)}"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
            and _root(node.func.value) in free
        ):
            yield f"calls {ast.unparse(node.func)}()"


def mutating_closures(root: Path) -> list[str]:
    """``path:line name: what`` for every nested function under ``root`` that changes a
    variable of a function around it."""
    found: list[tuple[str, int, str]] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        frees: dict[tuple[str, int], frozenset[str]] = {}
        for key, free in _frees(symtable.symtable(text, str(path), "exec")):
            frees[key] = frees.get(key, frozenset()) | free
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if not isinstance(node, _Func):
                continue
            name = "lambda" if isinstance(node, ast.Lambda) else node.name
            free = frees.get((name, node.lineno), frozenset())
            # nonlocal needs no free variable to be wrong: check every function.
            for what in sorted(set(_mutations(node, free))):
                found.append((str(path.relative_to(root.parent)), node.lineno, f"{name}: {what}"))
    return [f"{path}:{line} {what}" for path, line, what in sorted(found)]


def test_no_closure_in_orchestrator_or_the_emulator_changes_its_enclosing_function() -> None:
    assert mutating_closures(PACKAGE) + mutating_closures(EMULATOR) == [], (
        "hold the state in a small class with methods, or pass values in and return them"
    )


SAMPLE = """
import collections

TOTAL = []

def counter():
    n = 0
    def bump():
        nonlocal n
        n += 1
    return bump

def collect(keys, pool):
    results = {}
    seen = set()
    hits = {"n": 0}
    queue = collections.deque()
    def run(key):
        results[key] = key * 2
        seen.add(key)
        hits["n"] += 1
        queue.appendleft(key)
        del results[key].cache
    pool.map(run, keys)
    return results

def fine(keys, self):
    found = []
    def local(key):
        mine = []
        mine.append(key)          # its own list
        TOTAL.append(key)         # a module global: not a cell
        found_copy = list(found)  # reads the enclosing list
        found_copy.append(key)
        self.log(key)             # calls that change nothing it can see
        return mine
    return [local(k) for k in keys]

class Holder:
    def __init__(self):
        self.items = []

    def add(self, x):
        self.items.append(x)      # a method changing its own object
        super().__init__()

def outer(rows):
    table = {}
    def middle():
        def inner(k):
            table[k].append(1)
        return inner
    fill = lambda k: table.setdefault(k, [])
    return middle, fill
"""


def test_the_walk_flags_nonlocal_and_writes_into_enclosing_data_only(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text(SAMPLE)
    assert mutating_closures(pkg) == [
        "pkg/m.py:8 bump: nonlocal n",
        "pkg/m.py:18 run: calls queue.appendleft()",
        "pkg/m.py:18 run: calls seen.add()",
        "pkg/m.py:18 run: writes hits['n']",
        "pkg/m.py:18 run: writes results[key]",
        "pkg/m.py:18 run: writes results[key].cache",
        "pkg/m.py:50 inner: calls table[k].append()",
        "pkg/m.py:53 lambda: calls table.setdefault()",
    ]
