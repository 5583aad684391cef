"""The emulator lives beside the product, not inside it: the import graph, checked statically.

- No ``orchestrator.*`` module imports ``orchestrate_emulate``, except ``orchestrator.commands.emulate``,
  and that one only inside its functions (so the CLI loads without the ``emulate`` extra).
- ``orchestrate_emulate`` imports nothing from ``orchestrator``.
The product sees the emulated clouds only through ``.orchestrate/emulate/state.json`` (endpoints and
environment) and ``orchestrate emulate env``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = "orchestrator"
EMULATOR = "orchestrate_emulate"
GATE = "orchestrator.commands.emulate"  # the one product module allowed to import the emulator


@dataclass(frozen=True)
class Edge:
    module: str  # the importing module
    target: str  # the imported module (absolute)
    line: int
    top_level: bool  # executed at import time (not inside a function, not under TYPE_CHECKING)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level == 0:
            base = node.module or ""
        else:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([node.module] if node.module else [])])
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call):  # importlib.import_module("...") and __import__("...")
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return [first.value]
    return []


def edges(path: Path) -> Iterator[Edge]:
    yield from edges_of(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def edges_of(source: str, module: str, is_package: bool) -> Iterator[Edge]:
    tree = ast.parse(source, filename=module)

    def walk(node: ast.AST, top_level: bool) -> Iterator[Edge]:
        for child in ast.iter_child_nodes(node):
            lazy = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or (
                isinstance(child, ast.If) and _is_type_checking(child)
            )
            for target in _targets(child, module, is_package):
                yield Edge(module, target, getattr(child, "lineno", 0), top_level)
            yield from walk(child, top_level and not lazy)

    yield from walk(tree, True)


def all_edges(package: str) -> list[Edge]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found under {package}/"
    return [edge for path in files for edge in edges(path)]


def _in(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def test_the_walk_sees_every_kind_of_import() -> None:
    # The checker itself must catch each spelling, or the two tests below could pass vacuously.
    source = (
        "import orchestrate_emulate\n"
        "from orchestrate_emulate.manager import Emulation\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import orchestrate_emulate.mirror\n"
        "def f():\n    import importlib\n    importlib.import_module('orchestrate_emulate.serve')\n"
        "    from . import sibling\n"
    )
    found = {(e.target, e.top_level) for e in edges_of(source, "orchestrator.commands.probe", False)}
    assert ("orchestrate_emulate", True) in found
    assert ("orchestrate_emulate.manager.Emulation", True) in found
    assert ("orchestrate_emulate.mirror", False) in found
    assert ("orchestrate_emulate.serve", False) in found
    assert ("orchestrator.commands.sibling", False) in found


def test_no_product_module_imports_the_emulator_except_the_emulate_command() -> None:
    product = all_edges(PRODUCT)
    offenders = [e for e in product if _in(e.target, EMULATOR) and e.module != GATE]
    assert offenders == [], "only orchestrator/commands/emulate.py may import orchestrate_emulate"
    eager = [e for e in product if _in(e.target, EMULATOR) and e.module == GATE and e.top_level]
    assert eager == [], "the emulate command must import orchestrate_emulate lazily (inside functions)"
    assert any(e.module == GATE and _in(e.target, EMULATOR) for e in product)  # the gate is real


def test_the_emulator_imports_nothing_from_the_product() -> None:
    emulator = all_edges(EMULATOR)
    assert [e for e in emulator if _in(e.target, PRODUCT)] == []
    assert any(_in(e.target, EMULATOR) for e in emulator)  # the walk saw the package's own imports


def test_each_side_loads_without_the_other() -> None:
    # The same, at run time: loading every emulator module pulls in no product module, and the whole
    # product (the emulate command included) pulls in no emulator module.
    def modules(package: str) -> list[str]:
        return sorted(module_name(p) for p in (ROOT / package).rglob("*.py") if p.name != "__main__.py")

    probe = (
        "import importlib, sys\n"
        "for name in sys.argv[2:]:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == sys.argv[1] or m.startswith(sys.argv[1] + '.'))\n"
        "print(' '.join(bad))\n"
    )
    for forbidden, names in ((PRODUCT, modules(EMULATOR)), (EMULATOR, modules(PRODUCT))):
        out = subprocess.run(
            [sys.executable, "-c", probe, forbidden, *names],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        assert out.stdout.strip() == "", f"{forbidden} was loaded: {out.stdout}"


def test_the_state_file_is_where_the_product_reads_it() -> None:
    # state.json is the whole contract between the two packages.
    from orchestrate_emulate import manager
    from orchestrator import clouds

    assert manager.EMULATE_STATE == clouds.EMULATE_STATE
    assert manager.EMULATE_DIR == clouds.EMULATE_DIR
