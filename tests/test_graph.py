"""The dependency graph: edges of all three kinds, order, levels, dependents."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from orchestrator.workspace import Workspace
from tests.conftest import simple_stack

MakeRepo = Callable[..., Path]
Cli = Callable[..., Result]


def remote_state(name: str, backend: str, **config: str) -> str:
    body = "\n".join(f'    {k} = "{v}"' for k, v in config.items())
    return f'data "terraform_remote_state" "{name}" {{\n  backend = "{backend}"\n  config = {{\n{body}\n  }}\n}}\n'


def tiny(spec: str) -> dict[str, str]:
    """Stacks from a small language: 'a b:a c:a,b' -> c depends on a and b (Terramate's test style)."""
    files: dict[str, str] = {}
    for item in spec.split():
        name, _, deps = item.partition(":")
        files[f"stacks/{name}/stack.yaml"] = simple_stack([d for d in deps.split(",") if d] or None)
        files[f"stacks/{name}/main.tf"] = f'output "id" {{ value = "{name}" }}\n'
    return files


@pytest.mark.parametrize(
    ("spec", "order"),
    [
        ("a b c", ["a", "b", "c"]),
        ("c b a", ["a", "b", "c"]),
        ("a:b b:c c", ["c", "b", "a"]),
        ("z y:z x:z w:x,y", ["z", "x", "y", "w"]),
        ("d:a c:a b:c a", ["a", "c", "d", "b"]),
    ],
)
def test_order_is_topological_with_ties_by_id(make_repo: MakeRepo, spec: str, order: list[str]) -> None:
    ws = Workspace.load(make_repo(tiny(spec)))
    assert ws.graph.order == order
    seen: set[str] = set()
    for sid in ws.graph.order:
        assert set(ws.graph.dependencies(sid)) <= seen
        seen.add(sid)


def test_levels_and_dependents(make_repo: MakeRepo) -> None:
    g = Workspace.load(make_repo(tiny("a b:a c:b d:a e"))).graph
    assert g.levels == {"a": 0, "e": 0, "b": 1, "d": 1, "c": 2}
    assert g.dependents("a") == ["b", "d"]
    assert g.downstream_of(["a"]) == {"b", "c", "d"}
    assert g.upstream_of(["c"]) == {"a", "b"}


def test_critical_path_lengths(make_repo: MakeRepo) -> None:
    g = Workspace.load(make_repo(tiny("a b:a c:b d:a"))).graph
    assert g.critical_path_lengths() == {"a": 3.0, "b": 2.0, "c": 1.0, "d": 1.0}
    assert g.critical_path_lengths({"a": 1, "b": 1, "c": 1, "d": 10})["a"] == 11


def test_inputs_imply_a_dependency(make_repo: MakeRepo) -> None:
    files = tiny("net app")
    files["stacks/app/stack.yaml"] = "inputs:\n  vpc_id: net.vpc_id\n"
    g = Workspace.load(make_repo(files)).graph
    assert g.order == ["net", "app"]
    (reason,) = g.reasons("net", "app")
    assert reason.kind == "inputs"
    assert reason.detail == "vpc_id <- net.vpc_id"
    assert reason.where == "stacks/app/stack.yaml:2"


def test_input_from_stack_whose_id_has_dots(make_repo: MakeRepo) -> None:
    files = tiny("app")
    files["stacks/v1.2/stack.yaml"] = ""
    files["stacks/app/stack.yaml"] = "inputs:\n  x: v1.2.out\n"
    g = Workspace.load(make_repo(files)).graph
    assert g.dependencies("app") == ["v1.2"]


def test_remote_state_local_default_backend(make_repo: MakeRepo) -> None:
    files = tiny("net app")
    files["stacks/app/data.tf"] = remote_state(
        "net", "local", path="../../.orchestrate/state/net/terraform.tfstate"
    )
    g = Workspace.load(make_repo(files)).graph
    (reason,) = g.reasons("net", "app")
    assert (reason.kind, reason.detail, reason.where) == (
        "remote_state",
        "data.terraform_remote_state.net",
        "stacks/app/data.tf:1",
    )


def test_remote_state_s3_through_root_template(make_repo: MakeRepo) -> None:
    files = tiny("aws/net aws/app")
    files["orchestrate.yaml"] = (
        "backend:\n  type: s3\n  config: {bucket: acme-tf, key: 'env/{stack}.tfstate', region: eu-west-1}\n"
    )
    files["stacks/aws/app/data.tf"] = remote_state("net", "s3", bucket="acme-tf", key="env/aws/net.tfstate")
    g = Workspace.load(make_repo(files)).graph
    assert g.dependencies("aws/app") == ["aws/net"]


def test_remote_state_gcs_declared_backend(make_repo: MakeRepo) -> None:
    files = tiny("proj app")
    files["stacks/proj/backend.tf"] = (
        'terraform {\n  backend "gcs" {\n    bucket = "b"\n    prefix = "proj/"\n  }\n}\n'
    )
    files["stacks/app/data.tf"] = remote_state("p", "gcs", bucket="b", prefix="proj")
    g = Workspace.load(make_repo(files)).graph
    assert g.dependencies("app") == ["proj"]


def test_remote_state_azurerm_from_stack_yaml_backend(make_repo: MakeRepo) -> None:
    files = tiny("hub spoke")
    files["stacks/hub/stack.yaml"] = (
        "backend:\n  type: azurerm\n  config: {storage_account_name: sa, container_name: tf, key: '{stack}.tfstate'}\n"
    )
    files["stacks/spoke/data.tf"] = remote_state(
        "hub", "azurerm", storage_account_name="sa", container_name="tf", key="hub.tfstate"
    )
    g = Workspace.load(make_repo(files)).graph
    assert g.dependencies("spoke") == ["hub"]


def test_remote_state_in_a_local_module_counts(make_repo: MakeRepo) -> None:
    files = tiny("net app")
    files["stacks/app/main.tf"] = 'module "m" {\n  source = "../../modules/reader"\n}\n'
    files["modules/reader/main.tf"] = remote_state(
        "net", "local", path="../../.orchestrate/state/net/terraform.tfstate"
    )
    g = Workspace.load(make_repo(files)).graph
    assert g.dependencies("app") == ["net"]


def test_remote_state_with_computed_config_infers_nothing(make_repo: MakeRepo) -> None:
    files = tiny("net app")
    files["stacks/app/data.tf"] = (
        'data "terraform_remote_state" "n" {\n  backend = "s3"\n  config = { bucket = var.b, key = "k" }\n}\n'
    )
    g = Workspace.load(make_repo(files)).graph
    assert g.dependencies("app") == []


def test_remote_state_of_unknown_state_infers_nothing(make_repo: MakeRepo) -> None:
    files = tiny("net app")
    files["stacks/app/data.tf"] = remote_state("x", "s3", bucket="other", key="k")
    assert Workspace.load(make_repo(files)).graph.dependencies("app") == []


def test_every_edge_records_all_its_reasons(make_repo: MakeRepo) -> None:
    files = tiny("net app")
    files["stacks/app/stack.yaml"] = "depends_on: [net]\ninputs:\n  a: net.a\n"
    files["stacks/app/data.tf"] = remote_state(
        "n", "local", path="../../.orchestrate/state/net/terraform.tfstate"
    )
    g = Workspace.load(make_repo(files)).graph
    assert sorted(r.kind for r in g.reasons("net", "app")) == ["depends_on", "inputs", "remote_state"]


def test_example_estate_has_all_three_edge_kinds_across_clouds() -> None:
    root = Path(__file__).resolve().parents[1]
    g = Workspace.load(root).graph
    assert len(g.order) >= 8
    kinds_cross_cloud = set()
    for u, v, reasons in g.edges():
        if u.split("/")[0] != v.split("/")[0]:
            kinds_cross_cloud |= {r.kind for r in reasons}
    assert kinds_cross_cloud == {"depends_on", "inputs", "remote_state"}
    envs = {g.stacks[s].environment for s in g.order}
    assert {"dev", "prod"} <= envs
    assert {s.split("/")[0] for s in g.order} == {"aws", "gcp", "azure"}
    assert any(g.stacks[s].modules for s in g.order)


def test_list_json_shape_and_order(make_repo: MakeRepo, cli: Cli) -> None:
    files = tiny("b:a a c:b")
    files["stacks/a/stack.yaml"] = "cloud: aws-prod\nenvironment: prod\n"
    files["orchestrate.yaml"] = "clouds:\n  aws-prod: {provider: aws, region: eu-west-1}\n"
    result = cli("--repo", str(make_repo(files)), "list", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["id"] for s in data["stacks"]] == ["a", "b", "c"]
    assert data["stacks"][0] == {
        "id": "a",
        "path": "stacks/a",
        "cloud": "aws-prod",
        "environment": "prod",
        "depends_on": [],
        "level": 0,
    }
    assert data["stacks"][2]["depends_on"] == ["b"]


def test_global_json_flag_forces_json(make_repo: MakeRepo, cli: Cli) -> None:
    result = cli("--repo", str(make_repo(tiny("a b:a"))), "--json", "list")
    assert json.loads(result.stdout)["stacks"][1]["id"] == "b"


def test_graph_formats(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(tiny("a b:a"))
    mermaid = cli("--repo", str(repo), "graph")
    assert mermaid.stdout.startswith("flowchart LR")
    assert "-->|depends on|" in mermaid.stdout
    dot = cli("--repo", str(repo), "graph", "--format", "dot")
    assert '"a" -> "b" [label="depends_on"];' in dot.stdout
    data = json.loads(cli("--repo", str(repo), "graph", "--format", "json").stdout)
    assert data["edges"] == [
        {
            "from": "a",
            "to": "b",
            "reasons": [{"kind": "depends_on", "detail": "a", "where": "stacks/b/stack.yaml:1"}],
        }
    ]


def test_schema_command_prints_json_schemas(cli: Cli) -> None:
    stack = json.loads(cli("schema", "stack").stdout)
    root = json.loads(cli("schema", "orchestrate").stdout)
    assert "depends_on" in stack["properties"]
    assert stack["additionalProperties"] is False
    assert "clouds" in root["properties"]


def test_committed_schemas_are_current(cli: Cli) -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "schema"
    for kind in ("orchestrate", "stack"):
        committed = json.loads((docs / f"{kind}.schema.json").read_text())
        assert committed == json.loads(cli("schema", kind).stdout), (
            f"run: orchestrate schema {kind} > {docs}/{kind}.schema.json"
        )


def test_validate_warns_about_tf_dirs_without_stack_yaml(make_repo: MakeRepo, cli: Cli) -> None:
    files = tiny("a")
    files["stacks/loose/main.tf"] = 'output "x" { value = 1 }\n'
    result = cli("--repo", str(make_repo(files)), "validate")
    assert result.exit_code == 0, result.output
    assert "stacks/loose: has *.tf files but no stack.yaml" in result.output


def test_nested_stacks_and_name_override(make_repo: MakeRepo) -> None:
    files = tiny("parent")
    files["stacks/parent/child/stack.yaml"] = "name: kid\ndepends_on: [parent]\n"
    ws = Workspace.load(make_repo(files))
    assert ws.graph.order == ["parent", "kid"]
    assert ws.stacks["kid"].path == "stacks/parent/child"
