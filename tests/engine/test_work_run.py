"""The engine's pure helpers, tested directly: work lists, scheduler tasks, reconciliation,
the worker wrapper, what needs a plan JSON, the approval check, state documents, timings."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrator.approval import Approval
from orchestrator.engine.plan import json_readers, needs_plan_json
from orchestrator.engine.run import StepWorker, build_tasks, reconcile
from orchestrator.engine.state import parse_state, resource_count_of, state_identity_of
from orchestrator.engine.timings import moving_average
from orchestrator.engine.verify import check_approval
from orchestrator.engine.work import WorkItem, apply_work, plan_work, validate_work
from orchestrator.engine.workdir import clean_base_env, tf_var_value
from orchestrator.errors import ApprovalRefused, TerraformError
from orchestrator.graph import StackGraph
from orchestrator.planset import Manifest, StackPlan, load_plan_set
from orchestrator.scheduler import Outcome, TaskResult
from orchestrator.workspace import Workspace

# net <- app (inputs) <- web (depends_on); db alone; cache reads net's state
FILES = {
    "orchestrate.yaml": "clouds:\n  east: {provider: aws, region: us-east-1, max_parallel: 1}\n"
    "  west: {provider: aws, region: us-west-2}\n",
    "stacks/net/stack.yaml": "cloud: east\n",
    "stacks/net/main.tf": 'output "id" { value = "n" }\n',
    "stacks/app/stack.yaml": "cloud: west\ninputs:\n  net_id: net.id\n",
    "stacks/app/main.tf": 'variable "net_id" {}\n',
    "stacks/web/stack.yaml": "depends_on: [app]\n",
    "stacks/web/main.tf": "",
    "stacks/db/stack.yaml": "",
    "stacks/db/main.tf": "",
    "stacks/cache/stack.yaml": "",
    "stacks/cache/main.tf": 'data "terraform_remote_state" "net" {\n  backend = "local"\n'
    '  config = { path = "../../.orchestrate/state/net/terraform.tfstate" }\n}\n',
}


@pytest.fixture
def graph(make_repo: Callable[..., Path]) -> StackGraph:
    return Workspace.load(make_repo(FILES)).graph


def sp(stack: str, status: str = "changes", sha: str | None = "abc") -> StackPlan:
    return StackPlan(stack=stack, slug=stack, path=f"stacks/{stack}", status=status, plan_sha256=sha)  # type: ignore[arg-type]


# ---------------------------------------------------------------- work lists


def test_plan_work_is_in_dependency_order_and_destroy_reverses_it(graph: StackGraph) -> None:
    work = plan_work(graph, ["web", "app", "net"])
    assert work.ids == ["net", "app", "web"] and work.order == "dependencies" and work.op == "plan"
    assert {i.action for i in work.items} == {"plan"}
    destroy = plan_work(graph, ["web", "net", "app"], destroy=True)
    assert destroy.order == "reverse" and destroy.op == "destroy-plan"
    assert [i.stack for i in destroy.result_order()] == ["web", "app", "net"]


def test_apply_work_carries_each_approved_plan(graph: StackGraph) -> None:
    plans = [sp("web"), sp("net")]
    work = apply_work(graph, plans)
    assert work.ids == ["net", "web"]
    assert [i.plan for i in work.items] == [plans[1], plans[0]]
    assert {i.action for i in apply_work(graph, plans, destroy=True).items} == {"destroy"}


def test_validate_work_has_no_order() -> None:
    work = validate_work(["b", "a"])
    assert work.order == "none" and work.ids == ["b", "a"] and work.result_order() == list(work.items)


# ---------------------------------------------------------------- scheduler tasks


def test_tasks_depend_only_on_selected_stacks(graph: StackGraph) -> None:
    tasks = {t.id: t for t in build_tasks(graph, plan_work(graph, ["net", "web"]), {}, {})}
    assert tasks["web"].deps == frozenset({"net"})  # app is not selected: web waits for net through it
    assert tasks["net"].deps == frozenset()


def test_destroy_tasks_wait_for_dependents_and_validate_for_nothing(graph: StackGraph) -> None:
    ids = ["net", "app", "web"]
    reverse = {t.id: t for t in build_tasks(graph, plan_work(graph, ids, destroy=True), {}, {})}
    assert reverse["net"].deps == frozenset({"app", "web"}) and reverse["web"].deps == frozenset()
    assert all(t.deps == frozenset() for t in build_tasks(graph, validate_work(ids), {}, {}))


def test_pools_only_for_limited_clouds_and_priority_is_the_critical_path(graph: StackGraph) -> None:
    work = plan_work(graph, ["net", "app", "web", "db"])
    weights = {"net": 5.0, "app": 1.0, "web": 2.0, "db": 1.0}
    tasks = {t.id: t for t in build_tasks(graph, work, weights, {"east": 1})}
    assert tasks["net"].pool == "east" and tasks["app"].pool is None
    assert tasks["net"].priority == 8.0 and tasks["app"].priority == 3.0 and tasks["db"].priority == 1.0


# ---------------------------------------------------------------- reconciliation and the wrapper


@dataclass
class RecordingSteps:
    """Steps over strings: "ok:<id>", "failed:<id>: <error>", "skipped:<id>: <reason>"."""

    raise_for: set[str] = field(default_factory=set)
    finished: list[tuple[str, str]] = field(default_factory=list)

    def run(self, item: WorkItem) -> str:
        if item.stack in self.raise_for:
            raise TerraformError("boom", hint="look at the log")
        return f"ok:{item.stack}"

    def failed(self, item: WorkItem, exc: BaseException) -> str:
        from orchestrator.errors import one_line

        return f"failed:{item.stack}: {one_line(exc)}"

    def skipped(self, item: WorkItem, reason: str) -> str:
        return f"skipped:{item.stack}: {reason}"

    def finish(self, item: WorkItem, value: str, elapsed: float) -> Outcome[str]:
        self.finished.append((item.stack, value))
        return Outcome(value.startswith("ok"), value)


def test_reconcile_reports_ran_failed_and_skipped_in_order(graph: StackGraph) -> None:
    work = plan_work(graph, ["net", "app", "web", "db"])
    tasks: dict[str, TaskResult[str]] = {
        "app": TaskResult("app", "failed", error=RuntimeError("worker died")),
        "web": TaskResult("web", "skipped", reason="app failed"),
    }
    assert work.ids == ["db", "net", "app", "web"]
    out = reconcile(work, {"net": "ok:net"}, tasks, RecordingSteps())
    assert out == [
        "skipped:db: not started",
        "ok:net",
        "failed:app: internal error: RuntimeError: worker died",
        "skipped:web: app failed",
    ]
    destroy = plan_work(graph, ["net", "app"], destroy=True)
    assert reconcile(destroy, {"net": "n", "app": "a"}, {}, RecordingSteps()) == ["a", "n"]


def test_the_worker_turns_any_exception_into_the_items_failure(graph: StackGraph) -> None:
    steps = RecordingSteps(raise_for={"app"})
    worker = StepWorker(plan_work(graph, ["net", "app"]), steps)
    assert worker("net") == Outcome(True, "ok:net")
    failed = worker("app")
    assert not failed.ok and failed.value == "failed:app: boom (look at the log)"
    assert worker.values == {"net": "ok:net", "app": failed.value}
    assert [s for s, _ in steps.finished] == ["net", "app"]


# ---------------------------------------------------------------- which plans need show -json


def test_json_readers_are_stacks_whose_outputs_or_state_a_selected_stack_reads(graph: StackGraph) -> None:
    assert json_readers(graph, ["net", "app", "web", "cache"]) == frozenset({"net"})
    assert json_readers(graph, ["net", "web"]) == frozenset()  # app, the reader, is not selected
    assert json_readers(graph, ["app", "web"]) == frozenset()  # web only depends_on app


@pytest.mark.parametrize(
    ("changes", "policies", "read", "kind", "needed"),
    [
        (False, False, False, "plan", False),
        (True, False, False, "plan", True),
        (False, True, False, "plan", True),
        (False, False, True, "plan", True),
        (False, False, False, "drift-remediation", True),
        (False, False, False, "destroy", False),
    ],
)
def test_needs_plan_json(changes: bool, policies: bool, read: bool, kind: str, needed: bool) -> None:
    assert needs_plan_json(changes, policies=policies, read_in_run=read, kind=kind) is needed


# ---------------------------------------------------------------- the approval covers one manifest


def write_plan_set(directory: Path, stacks: list[StackPlan]) -> None:
    directory.mkdir()
    manifest = Manifest(
        created_at="2026-01-01T00:00:00+00:00", orchestrate_version="0", stacks=stacks
    ).with_id()
    (directory / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n")


def test_check_approval(tmp_path: Path) -> None:
    write_plan_set(tmp_path / "a", [sp("net")])
    write_plan_set(tmp_path / "b", [sp("net"), sp("web")])
    a, b = load_plan_set(tmp_path / "a"), load_plan_set(tmp_path / "b")
    approval = Approval("manual", "alice", "OPS-1").for_plan_set(a)
    check_approval(a, approval, ["net"])
    check_approval(a, None, [])  # nothing needs one
    with pytest.raises(ApprovalRefused, match="no approval for net"):
        check_approval(a, None, ["net"])
    with pytest.raises(ApprovalRefused, match=f"the approval is for {a.manifest.id}, not for plan set"):
        check_approval(b, approval, ["net"])
    with pytest.raises(ApprovalRefused, match="the approval is for no plan set"):
        check_approval(a, Approval("manual", "alice", "OPS-1"), ["net"])
    (tmp_path / "a" / "manifest.json").write_text((tmp_path / "b" / "manifest.json").read_text())
    with pytest.raises(ApprovalRefused, match="changed after it was read and approved"):
        check_approval(a, approval, ["net"])


# ---------------------------------------------------------------- state documents, timings, environment


def test_state_documents() -> None:
    state = {
        "lineage": "L",
        "serial": 4,
        "resources": [
            {"mode": "managed", "type": "t", "name": "a", "instances": [{}, {}]},
            {"mode": "data", "type": "t", "name": "d", "instances": [{}]},
            {"mode": "managed", "type": "t", "name": "b", "instances": [{}]},
        ],
    }
    assert parse_state("s", "  \n") is None
    assert parse_state("s", json.dumps(state)) == state
    with pytest.raises(TerraformError, match="the state of 's' is not valid JSON"):
        parse_state("s", "{not json")
    # Never "no state" for a state that could not be read.
    with pytest.raises(TerraformError, match="the state of 's' is malformed: the document is a list"):
        parse_state("s", "[1]")
    with pytest.raises(
        TerraformError, match=r"malformed: resources\[0\]\.instances is an object, expected a list"
    ):
        parse_state("s", '{"resources": [{"type": "t", "name": "n", "instances": {}}]}')
    assert state_identity_of(state) == ("L", 4)
    assert state_identity_of({"serial": 1}) == (None, None) and state_identity_of(None) == (None, None)
    assert resource_count_of(state) == 3 and resource_count_of(None) is None


def test_timings_average_and_environment_cleaning() -> None:
    assert moving_average(None, 2.0) == 2.0 and moving_average(4.0, 2.0) == 3.0
    env = clean_base_env(
        {"PATH": "/bin", "TF_CLI_ARGS_plan": "-destroy", "TF_DATA_DIR": "/x", "TF_VAR_a": "1"}
    )
    assert env == {"PATH": "/bin", "TF_VAR_a": "1"}
    assert tf_var_value("s") == "s" and tf_var_value({"a": [1]}) == '{"a": [1]}'


def test_terraform_never_gets_orchestrates_github_token(make_repo: Callable[..., Path]) -> None:
    """The workflow token that posts comments and statuses is orchestrate's: a pull request's
    code (providers, external programs) runs under terraform and must not read it."""
    from orchestrator.engine.context import Engine
    from orchestrator.terraform.binary import locate

    ws = Workspace.load(make_repo(FILES))
    base = {"PATH": os.defpath, "GITHUB_TOKEN": "ghs_x", "GH_TOKEN": "ghp_y", "AWS_PROFILE": "p"}
    engine = Engine(ws, locate(None, None), base_env=base)
    env = engine.workdir.env(ws.stacks["net"])
    assert "GITHUB_TOKEN" not in env and "GH_TOKEN" not in env
    assert env.get("PATH") == os.defpath


def test_terraform_never_gets_the_token_inside_git_config_variables(make_repo: Callable[..., Path]) -> None:
    """A step that exports an extraheader (GIT_CONFIG_COUNT/KEY/VALUE, as GitHub's docs show)
    around orchestrate must not hand the token to terraform's git or providers either; a user's
    other GIT_CONFIG_* entries (module source rewrites, say) still reach terraform."""
    import base64

    from orchestrator.engine.context import Engine
    from orchestrator.terraform.binary import locate

    token = "ghs_SECRETtoken"
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    base = {
        "PATH": os.defpath,
        "GITHUB_TOKEN": token,
        "GIT_CONFIG_COUNT": "3",
        "GIT_CONFIG_KEY_0": "url.https://git.example.com/.insteadOf",
        "GIT_CONFIG_VALUE_0": "git@git.example.com:",
        "GIT_CONFIG_KEY_1": "http.https://github.com/.extraheader",
        "GIT_CONFIG_VALUE_1": f"AUTHORIZATION: basic {basic}",
        "GIT_CONFIG_KEY_2": "http.https://github.com/.extraheader",
        "GIT_CONFIG_VALUE_2": f"Authorization: bearer {token}",
        "GIT_CONFIG_KEY_5": "stray",  # past the count: git ignores it, terraform still must not see it
        "GIT_CONFIG_VALUE_5": token,
        "GIT_CONFIG_PARAMETERS": f"'http.extraheader'='AUTHORIZATION: basic {basic}'",
    }
    ws = Workspace.load(make_repo(FILES))
    env = Engine(ws, locate(None, None), base_env=base).workdir.env(ws.stacks["net"])
    assert not [k for k, v in env.items() if token in v or basic in v], env
    assert env["GIT_CONFIG_COUNT"] == "1"
    assert env["GIT_CONFIG_KEY_0"] == "url.https://git.example.com/.insteadOf"
    assert env["GIT_CONFIG_VALUE_0"] == "git@git.example.com:"
    assert "GIT_CONFIG_PARAMETERS" not in env and "GIT_CONFIG_KEY_1" not in env
    # Without a token in the environment nothing is taken away.
    plain = {k: v for k, v in base.items() if k != "GITHUB_TOKEN"}
    env = Engine(ws, locate(None, None), base_env=plain).workdir.env(ws.stacks["net"])
    assert env["GIT_CONFIG_COUNT"] == "3" and env["GIT_CONFIG_VALUE_1"] == base["GIT_CONFIG_VALUE_1"]
