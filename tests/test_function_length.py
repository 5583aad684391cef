"""No function in the product or its emulator is over 60 lines (issue 13; docs: GUIDE "functions under ~60 lines").

Counted from the ``def`` line to the function's last line, docstring and comments included,
decorators not; nested functions count on their own and inside the function holding them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import orchestrate_emulate
import orchestrator

LIMIT = 60
PACKAGE = Path(orchestrator.__file__).parent
EMULATOR = Path(orchestrate_emulate.__file__).parent


def long_functions(root: Path, limit: int = LIMIT) -> list[str]:
    """``path:line name (N lines)`` for every function under ``root`` longer than ``limit``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(
                        f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({length} lines)"
                    )
    return found


def test_no_function_in_orchestrator_is_over_60_lines() -> None:
    assert long_functions(PACKAGE) == [], "split these into well-named smaller functions"


def test_no_function_in_the_emulator_is_over_60_lines() -> None:
    assert long_functions(EMULATOR) == [], "split these into well-named smaller functions"


def test_the_walk_finds_long_functions_methods_and_nested_ones(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    body = "".join(f"    x{n} = {n}\n" for n in range(60))  # def line + 60 = 61 lines
    (pkg / "a.py").write_text(f"def long():\n{body}\n\ndef short():\n    return 1\n")
    method = "".join(f"        x{n} = {n}\n" for n in range(59))  # def line + 59 = 60 lines: allowed
    (pkg / "sub" / "b.py").write_text(
        f"class C:\n    @property\n    def ok(self):\n{method}\n    async def run(self):\n{method}        return 1\n"
    )
    nested = "".join(f"        y{n} = {n}\n" for n in range(61))
    (pkg / "sub" / "c.py").write_text(f"def outer():\n    def inner():\n{nested}    return inner\n")
    assert long_functions(pkg) == [
        "pkg/a.py:1 long (61 lines)",
        "pkg/sub/b.py:64 run (61 lines)",
        "pkg/sub/c.py:1 outer (64 lines)",
        "pkg/sub/c.py:2 inner (62 lines)",
    ]
