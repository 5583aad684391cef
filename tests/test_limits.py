"""Bad input cannot hang or exhaust the runner (issue 12 item 8): YAML alias bombs, huge
files, a catastrophic redaction pattern. Each is one clear error (or just works), fast.
These run the CLI as a separate process with a timeout: before the fixes they ran to the
memory limit or for minutes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.yamlfile import expanded_size
from tests.conftest import run_orchestrate

MakeRepo = Callable[..., Path]
TF = 'output "id" { value = "x" }\n'

BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def clean_error(proc: object, *needles: str) -> None:
    out = proc.stdout + proc.stderr  # type: ignore[attr-defined]
    assert proc.returncode == 1, out  # type: ignore[attr-defined]
    assert "Traceback" not in out and "internal error" not in out, out
    for needle in needles:
        assert needle in out, out


def indented(text: str, spaces: int) -> str:
    return "".join(" " * spaces + ln + "\n" for ln in text.splitlines())


def test_a_yaml_alias_bomb_in_a_stack_is_refused_quickly(make_repo: MakeRepo) -> None:
    stack = "environment: prod\npolicy:\n  params:\n" + indented(BOMB, 4)
    root = make_repo({"stacks/a/stack.yaml": stack, "stacks/a/main.tf": TF})
    started = time.monotonic()
    proc = run_orchestrate("--repo", str(root), "list", timeout=60)
    clean_error(proc, "stacks/a/stack.yaml", "alias bomb")
    assert time.monotonic() - started < 30


def test_a_yaml_alias_bomb_in_orchestrate_yaml_is_refused(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "orchestrate.yaml": "policies:\n  data:\n"
            + "".join("    " + ln + "\n" for ln in BOMB.splitlines()),
            "stacks/a/stack.yaml": "",
            "stacks/a/main.tf": TF,
        }
    )
    proc = run_orchestrate("--repo", str(root), "list", timeout=60)
    clean_error(proc, "orchestrate.yaml", "alias bomb")


def test_a_huge_tf_file_is_one_clear_error(make_repo: MakeRepo) -> None:
    line = 'locals { x = "' + "x" * 1000 + '" }\n'
    root = make_repo({"stacks/a/stack.yaml": "", "stacks/a/main.tf": TF, "stacks/a/big.tf": line * 6000})
    proc = run_orchestrate("--repo", str(root), "list", timeout=60)
    clean_error(proc, "stacks/a/big.tf", "MiB")


def test_a_huge_stack_yaml_is_one_clear_error(make_repo: MakeRepo) -> None:
    root = make_repo({"stacks/a/stack.yaml": "# " + "x" * (2 << 20) + "\n", "stacks/a/main.tf": TF})
    proc = run_orchestrate("--repo", str(root), "list", timeout=60)
    clean_error(proc, "stacks/a/stack.yaml", "MiB")


def test_small_aliases_still_work(make_repo: MakeRepo) -> None:
    root = make_repo(
        {"stacks/a/stack.yaml": "environment: &e prod\ndrift: {ignore: [*e]}\n", "stacks/a/main.tf": TF}
    )
    proc = run_orchestrate("--repo", str(root), "list", timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_expanded_size_counts_shared_parts_each_time_and_stops_past_the_limit() -> None:
    assert expanded_size("x", 10) == 1
    assert expanded_size({"a": [1, 2]}, 10) == 5  # the dict, key, list and its two items
    shared = [1, 2, 3]
    assert expanded_size([shared, shared, shared], 100) == 13  # 1 + 3 * (1 + 3)
    bomb: list[object] = ["x"] * 10
    for _ in range(8):
        bomb = [bomb] * 10  # 10**9 values when expanded, a few hundred objects
    assert expanded_size(bomb, 1000) == 1001
    loop: list[object] = []
    loop.append(loop)
    assert expanded_size(loop, 50) == 51  # a recursive alias expands forever
