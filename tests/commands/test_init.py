"""orchestrate init (issue 14 Build 2): atlantis.yaml and Terramate imports, root modules, idempotence."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.fakes.estates import estate

Cli = Callable[..., Result]
MakeRepo = Callable[..., Path]
BACKEND = 'terraform {\n  backend "local" {}\n}\n'

ATLANTIS = """\
version: 3
projects:
  - name: network
    dir: infra/network
    execution_order_group: 1
  - name: database
    dir: infra/database
    execution_order_group: 2
    depends_on: [network]
  - dir: app
    workspace: staging
    execution_order_group: 3
    autoplan:
      when_modified: ["*.tf", "../modules/web/**/*.tf"]
  - name: app-prod
    dir: app
    workspace: prod
    execution_order_group: 3
  - name: dns
    dir: infra/dns
"""


def test_init_imports_atlantis_projects_and_their_order(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "atlantis.yaml": ATLANTIS,
            "infra/network/main.tf": BACKEND,
            "infra/database/main.tf": BACKEND,
            "infra/dns/main.tf": BACKEND,
            "app/main.tf": 'output "w" { value = terraform.workspace }\n',
            "modules/web/main.tf": "",
            "examples/x/main.tf": BACKEND,  # not an Atlantis project: not a stack
        }
    )
    res = cli("--repo", str(repo), "init")
    assert res.exit_code == 0, res.output
    assert "inferred: atlantis.yaml: project 'network' -> stack 'network'" in res.output
    assert "execution_order_group 2) runs after group 1: network" in res.output
    res = cli("--repo", str(repo), "list", "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["stacks"]
    order = [r["id"] for r in rows]
    assert sorted(order) == ["app-prod", "app/staging", "database", "dns", "network"]
    # execution_order_group 1 < 2 < 3 and depends_on hold; dns (group 0) comes first
    assert order.index("dns") < order.index("network") < order.index("database")
    assert order.index("database") < order.index("app/staging")
    assert order.index("database") < order.index("app-prod")
    text = (repo / "orchestrate.yaml").read_text()
    assert "../modules/web/**/*.tf" in text and "workspace: staging" in text
    # idempotent
    again = cli("--repo", str(repo), "init")
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output
    assert (repo / "orchestrate.yaml").read_text() == text


def test_init_refuses_to_replace_a_different_config_without_force(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {"atlantis.yaml": ATLANTIS.split("  - name: database")[0], "infra/network/main.tf": BACKEND}
    )
    (repo / "orchestrate.yaml").write_text("version: 1\n")
    res = cli("--repo", str(repo), "init")
    assert res.exit_code == 1 and "differs" in res.output
    assert (repo / "orchestrate.yaml").read_text() == "version: 1\n"
    assert cli("--repo", str(repo), "init", "--force").exit_code == 0
    assert "network" in (repo / "orchestrate.yaml").read_text()


def test_init_imports_terramate_after_and_before(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "stacks/vpc/stack.tm.hcl": 'stack {\n  name = "vpc"\n}\n',
            "stacks/vpc/main.tf": BACKEND,
            "stacks/db/stack.tm.hcl": 'stack {\n  after = ["/stacks/vpc"]\n}\n',
            "stacks/db/main.tf": BACKEND,
            "stacks/app/stack.tm.hcl": 'stack {\n  before = ["../web"]\n  after = ["tag:x"]\n}\n',
            "stacks/app/main.tf": BACKEND,
            "stacks/web/stack.tm.hcl": "stack {}\n",
            "stacks/web/main.tf": BACKEND,
        }
    )
    res = cli("--repo", str(repo), "init")
    assert res.exit_code == 0, res.output
    assert "fill in: stacks/app/stack.tm.hcl:1: after = 'tag:x'" in res.output
    res = cli("--repo", str(repo), "graph", "--format", "json")
    assert res.exit_code == 0, res.output
    edges = {(e["from"], e["to"]) for e in json.loads(res.stdout)["edges"]}
    assert edges == {("stacks/vpc", "stacks/db"), ("stacks/app", "stacks/web")}


def test_init_finds_root_modules_and_targets_from_paths(make_repo: MakeRepo, cli: Cli) -> None:
    files = estate(per_group=2)
    del files["orchestrate.yaml"]
    repo = make_repo(files)
    res = cli("--repo", str(repo), "init")
    assert res.exit_code == 0, res.output
    assert "paths like live/{environment}/aws/**" in res.output
    assert "fill in: clouds.aws-prod.region" in res.output
    res = cli("--repo", str(repo), "list", "--format", "json")
    assert res.exit_code == 0, res.output
    rows = {r["id"]: r for r in json.loads(res.stdout)["stacks"]}
    assert len(rows) == 3 * 3 * 2 + 2
    assert rows["live/staging/gcp/svc01"]["cloud"] == "gcp-staging"
    assert not any(i.startswith("modules/") for i in rows)
