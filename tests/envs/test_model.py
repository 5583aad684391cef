"""The environment model: environments from stack.yaml or the path, families, --env selection,
and the content hash that is equal across a family when only variable values differ."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from orchestrator.envs.model import content_hash, env_model
from orchestrator.workspace import Workspace

FILES = {
    "orchestrate.yaml": "environments: [dev, staging, prod]\n",
    "modules/m/main.tf": 'output "x" { value = 1 }\n',
    "stacks/dev/app/stack.yaml": "",
    "stacks/dev/app/main.tf": 'module "m" { source = "../../../modules/m" }\n',
    "stacks/dev/app/terraform.tfvars": 'image = "app:1"\n',
    "stacks/prod/app/stack.yaml": "cloud: null\n",
    "stacks/prod/app/main.tf": 'module "m" { source = "../../../modules/m" }\n',
    "stacks/prod/app/terraform.tfvars": 'image = "app:0"\n',
    "stacks/shared/dns/stack.yaml": "",
    "stacks/shared/dns/main.tf": "",
    "stacks/eu/edge/stack.yaml": "environment: staging\nfamily: edge\n",
    "stacks/eu/edge/main.tf": "",
}


def test_families_environments_and_upstreams(make_repo: Callable[..., Path]) -> None:
    ws = Workspace.load(make_repo(FILES))
    model = env_model(ws.config, ws.stacks)
    assert model.env_of == {"dev/app": "dev", "prod/app": "prod", "shared/dns": None, "eu/edge": "staging"}
    assert model.family["prod/app"] == "app" and model.family["eu/edge"] == "edge"
    assert model.members["app"] == {"dev": "dev/app", "prod": "prod/app"}
    assert model.upstream_stack("prod/app") == ("dev", "dev/app")  # staging has none: the one before
    assert model.upstream_stack("dev/app") is None


def test_content_hash_ignores_values_not_code(make_repo: Callable[..., Path]) -> None:
    root = make_repo(FILES)
    ws = Workspace.load(root)
    dev, prod = ws.stacks["dev/app"], ws.stacks["prod/app"]
    assert content_hash(root, dev) == content_hash(root, prod)  # tfvars and stack.yaml differ only
    (root / "modules/m/main.tf").write_text('output "x" { value = 2 }\n')
    before = content_hash(root, dev)
    (root / "stacks/dev/app/main.tf").write_text('module "m" { source = "../../../modules/m" }\n# x\n')
    assert content_hash(root, dev) != before
    assert content_hash(root, dev) != content_hash(root, prod)


def test_env_option_on_list_and_graph(make_repo: Callable[..., Path], cli: Callable[..., Result]) -> None:
    root = make_repo(FILES)
    res = cli("--repo", str(root), "list", "--env", "dev", "--format", "json")
    assert res.exit_code == 0, res.output
    assert [(s["id"], s["environment"]) for s in json.loads(res.stdout)["stacks"]] == [("dev/app", "dev")]
    res = cli("--repo", str(root), "graph", "--env", "staging", "--format", "json")
    assert res.exit_code == 0 and "eu/edge" in res.stdout and "dev/app" not in res.stdout
    res = cli("--repo", str(root), "list", "--env", "qa")
    assert res.exit_code == 1 and "unknown environment 'qa'" in res.output
    res = cli("--repo", str(root), "list", "--environment", "prod", "--format", "json")
    assert [s["id"] for s in json.loads(res.stdout)["stacks"]] == ["prod/app"]


def test_bad_environments_config(make_repo: Callable[..., Path], cli: Callable[..., Result]) -> None:
    root = make_repo({**FILES, "orchestrate.yaml": "environments: [dev, dev]\n"})
    res = cli("--repo", str(root), "list")
    assert res.exit_code == 1 and "dev listed more than once" in res.output
    root = make_repo({**FILES, "orchestrate.yaml": "environments: ['a b']\n"})
    res = cli("--repo", str(root), "list")
    assert res.exit_code == 1 and "not a valid environment name" in res.output
