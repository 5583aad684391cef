"""A stack's inputs from its upstreams (orchestrator/engine/inputs.py), directly: planned
outputs, state outputs, placeholders, provisional upstreams and terraform_remote_state readers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from orchestrator.engine.inputs import ResolvedInputs, UpstreamPlan, remote_state_waits, resolve_inputs
from orchestrator.errors import TerraformError
from orchestrator.graph import StackGraph
from orchestrator.terraform.plan import PlannedOutput, is_placeholder, placeholder
from orchestrator.workspace import Workspace

READER_TF = """data "terraform_remote_state" "net" {
  backend = "local"
  config = {
    path = "../../.orchestrate/state/net/terraform.tfstate"
  }
}
"""


@pytest.fixture
def graph(make_repo: Callable[..., Path]) -> StackGraph:
    root = make_repo(
        {
            "stacks/net/stack.yaml": "environment: dev\n",
            "stacks/net/main.tf": "",
            "stacks/db/stack.yaml": "environment: dev\n",
            "stacks/db/main.tf": "",
            "stacks/app/stack.yaml": "inputs:\n  vpc_id: net.vpc_id\n  password: db.password\n",
            "stacks/app/main.tf": "",
            "stacks/reader/stack.yaml": "environment: dev\n",
            "stacks/reader/main.tf": READER_TF,
        },
        commit=False,
    )
    return Workspace.load(root).graph


def out(
    name: str, value: object, *, known: bool = True, sensitive: bool = False, changed: bool = False
) -> PlannedOutput:
    return PlannedOutput(name, known, value, sensitive, changed)


def planned(status: str, *outputs: PlannedOutput, state_exists: bool = True) -> UpstreamPlan:
    return UpstreamPlan(status, True, state_exists, {o.name: o for o in outputs})


def no_state(up: str) -> Mapping[str, PlannedOutput] | None:
    return None


def state_of(**stacks: Mapping[str, PlannedOutput]) -> Callable[[str], Mapping[str, PlannedOutput] | None]:
    return lambda up: stacks.get(up)


def resolve(
    graph: StackGraph,
    in_run: Mapping[str, UpstreamPlan],
    read: Callable[[str], Mapping[str, PlannedOutput] | None] = no_state,
    *,
    lenient: bool = False,
) -> ResolvedInputs:
    return resolve_inputs(graph, "app", in_run, read, lenient=lenient)


def test_unchanged_planned_outputs_are_used_and_not_provisional(graph: StackGraph) -> None:
    got = resolve(
        graph,
        {
            "net": planned("no-changes", out("vpc_id", "vpc-1")),
            "db": planned("changes", out("password", "s3cret", sensitive=True)),
        },
    )
    assert got.values == {"password": "s3cret", "vpc_id": "vpc-1"}
    assert got.sensitive == {"password"}
    assert got.shown() == {"password": "(sensitive)", "vpc_id": "vpc-1"}
    assert (got.unknown, got.provisional_on, got.blocked) == ([], [], None)


def test_a_changed_or_unknown_output_makes_the_stack_provisional(graph: StackGraph) -> None:
    got = resolve(
        graph,
        {
            "net": planned("changes", out("vpc_id", "vpc-2", changed=True)),
            "db": planned("changes", out("password", None, known=False)),
        },
    )
    assert got.values["vpc_id"] == "vpc-2"
    assert got.values["password"] == placeholder("password")
    assert got.unknown == ["password"]
    assert got.provisional_on == ["db", "net"]


def test_an_output_already_a_placeholder_counts_as_unknown(graph: StackGraph) -> None:
    got = resolve(
        graph,
        {
            "net": planned("provisional", out("vpc_id", placeholder("upstream_vpc"))),
            "db": planned("no-changes", out("password", "p")),
        },
    )
    assert got.unknown == ["vpc_id"]
    assert is_placeholder(got.values["vpc_id"])
    assert got.provisional_on == ["net"]


def test_an_upstream_in_the_run_without_a_plan_gives_a_placeholder(graph: StackGraph) -> None:
    no_plan = UpstreamPlan("provisional", False, False, {})
    got = resolve(graph, {"net": no_plan}, state_of(db={"password": out("password", "p")}))
    assert got.values == {"password": "p", "vpc_id": placeholder("vpc_id")}
    assert (got.unknown, got.provisional_on) == (["vpc_id"], ["net"])


def test_a_planned_upstream_without_the_output_is_an_error(graph: StackGraph) -> None:
    with pytest.raises(TerraformError) as changed:
        resolve(graph, {"db": planned("changes"), "net": planned("changes", out("vpc_id", "v"))})
    assert (
        changed.value.message
        == "input 'password' reads output 'password' of 'db', whose plan has no such output"
    )
    assert changed.value.where == "app"
    with pytest.raises(TerraformError) as unchanged:
        resolve(graph, {"db": planned("no-changes"), "net": planned("changes", out("vpc_id", "v"))})
    assert unchanged.value.message == (
        "input 'password' reads output 'password' of 'db', but its state has no such output"
    )


def test_upstreams_outside_the_run_are_read_from_their_state(graph: StackGraph) -> None:
    read = state_of(
        net={"vpc_id": out("vpc_id", "vpc-9", changed=True)}, db={"password": out("password", "p")}
    )
    got = resolve(graph, {}, read)
    assert got.values == {"password": "p", "vpc_id": "vpc-9"}
    assert got.provisional_on == []  # a state output is what is there, whatever it says


def test_a_missing_state_or_state_output_is_an_error_unless_lenient(graph: StackGraph) -> None:
    with pytest.raises(TerraformError) as missing:
        resolve(graph, {}, state_of(net={"vpc_id": out("vpc_id", "v")}))
    assert missing.value.message == "input 'password' reads output 'password' of 'db', which has no state yet"
    with pytest.raises(TerraformError) as no_output:
        resolve(graph, {}, state_of(net={"vpc_id": out("vpc_id", "v")}, db={}))
    assert no_output.value.message.endswith("but its state has no such output")
    got = resolve(graph, {}, state_of(net={"vpc_id": out("vpc_id", "v")}), lenient=True)
    assert got.values == {"password": placeholder("password"), "vpc_id": "v"}
    assert got.unknown == ["password"]


def test_a_remote_state_reader_waits_for_an_upstream_without_state(graph: StackGraph) -> None:
    waits, blocked = remote_state_waits(graph, "reader", {"net": planned("changes", state_exists=False)})
    assert waits == {"net"}
    assert blocked == (
        "reads the state of 'net' (data.terraform_remote_state.net in stacks/reader/main.tf:1), "
        "which does not exist until it is applied"
    )
    got = resolve_inputs(graph, "reader", {"net": planned("changes", state_exists=False)}, no_state)
    assert (got.provisional_on, got.blocked) == (["net"], blocked)


def test_a_remote_state_reader_is_provisional_only_when_outputs_change(graph: StackGraph) -> None:
    def waits(upstream: UpstreamPlan) -> tuple[set[str], str | None]:
        return remote_state_waits(graph, "reader", {"net": upstream})

    assert waits(planned("changes", out("id", "x"))) == (set(), None)
    assert waits(planned("changes", out("id", "x", changed=True))) == ({"net"}, None)
    assert waits(UpstreamPlan("provisional", False, True, {})) == ({"net"}, None)
    assert waits(planned("no-changes", out("id", "x", changed=True))) == (set(), None)
    assert remote_state_waits(graph, "reader", {}) == (set(), None)  # not in the run
    # an input edge is not a remote_state read
    assert remote_state_waits(graph, "app", {"net": planned("changes", state_exists=False)}) == (set(), None)
