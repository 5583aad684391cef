"""orchestrate's own files, damaged: each is recovered from or named, never an internal error
(issue 12 item 9)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

TF = 'module "m" {\n  source = "../../modules/m"\n}\noutput "id" { value = "x" }\n'
FILES = {
    "stacks/a/stack.yaml": "environment: prod\n",
    "stacks/a/main.tf": TF,
    "modules/m/main.tf": 'output "o" { value = 1 }\n',
}


def cache_file(root: Path) -> Path:
    (found,) = (root / ".orchestrate/cache").glob("discovery-v*.json")
    return found


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: {"hcl": [1, 2], "yaml": "x"},
        lambda doc: [doc],
        lambda doc: {
            "hcl": {key: {"modules": "x"} for key in doc["hcl"]},
            "yaml": {key: [1] for key in doc["yaml"]},
        },
        lambda doc: {"hcl": dict.fromkeys(doc["hcl"], 42), "yaml": dict.fromkeys(doc["yaml"], "x")},
    ],
    ids=["wrong-sections", "not-an-object", "wrong-entries", "scalar-entries"],
)
def test_a_discovery_cache_of_the_wrong_shape_is_rebuilt(
    make_repo: Callable[..., Path], cli: Callable[..., Result], damage: Callable[[dict], object]
) -> None:
    root = make_repo(FILES)
    first = cli("--repo", str(root), "list", "--format", "json")
    assert first.exit_code == 0, first.output
    path = cache_file(root)
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    again = cli("--repo", str(root), "list", "--format", "json")
    assert again.exit_code == 0, again.output
    assert "internal error" not in again.output
    assert json.loads(again.stdout) == json.loads(first.stdout)
