"""`orchestrate emulate up | down | env | status`: processes, the state file, reuse and restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from orchestrate_emulate.manager import Emulation, _is_ours
from orchestrator.clouds import read_emulate_state
from tests.conftest import TerraformBinary

pytestmark = pytest.mark.integration

CONFIG = """
version: 1
clouds:
  aws-prod: {provider: aws, region: eu-west-1}
  gcp-prod: {provider: gcp, project: acme-prod}
  azure-prod: {provider: azure, subscription_id: 22222222-2222-2222-2222-222222222222}
"""


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Iterator[Path]:
    root = make_repo({"orchestrate.yaml": CONFIG})
    yield root
    Emulation(root).down()  # whatever a test left running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and ") Z" in stat.read_text())


def _wait_dead(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return int(resp.status)


def test_up_starts_the_clouds_env_exports_them_and_down_stops_exactly_them(
    repo: Path, cli: Callable[..., Result]
) -> None:
    result = cli("--repo", str(repo), "emulate", "up")
    assert result.exit_code == 0, result.output
    state = json.loads((repo / ".orchestrate/emulate/state.json").read_text())
    assert set(state["endpoints"]) == {"aws", "gcp", "azure"}
    assert set(state["pids"]) == {"aws", "gcp", "azure", "providers"}
    assert state["env"]["TF_CLI_CONFIG_FILE"] == str(repo / ".orchestrate/emulate/terraformrc")
    assert state["env"]["AWS_ACCESS_KEY_ID"] == "testing"
    assert _get(state["endpoints"]["gcp"] + "/_emulator/health") == 200
    assert _get(state["endpoints"]["azure"] + "/_emulator/health") == 200
    assert _get(state["endpoints"]["aws"] + "/moto-api/") == 200
    emulate = read_emulate_state(repo)  # what the engine reads
    assert emulate is not None and emulate.endpoints == state["endpoints"] and emulate.pids == state["pids"]

    exports = cli("--repo", str(repo), "emulate", "env").output
    assert f"export AWS_ENDPOINT_URL={state['endpoints']['aws']}" in exports
    assert f"export GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT={state['endpoints']['gcp']}" in exports
    assert f"export ARM_RESOURCE_MANAGER_ENDPOINT={state['endpoints']['azure']}" in exports
    as_json = json.loads(cli("--repo", str(repo), "emulate", "env", "--json").output)
    assert as_json["TF_CLI_CONFIG_FILE"] == state["env"]["TF_CLI_CONFIG_FILE"]
    target = json.loads(cli("--repo", str(repo), "emulate", "env", "--json", "--target", "aws-prod").output)
    assert (target["AWS_REGION"], target["AWS_ENDPOINT_URL"]) == ("eu-west-1", state["endpoints"]["aws"])

    again = cli("--repo", str(repo), "emulate", "up")
    assert again.exit_code == 0 and again.output.count(" running") == 4
    assert json.loads((repo / ".orchestrate/emulate/state.json").read_text())["pids"] == state["pids"]
    assert cli("--repo", str(repo), "emulate", "status").exit_code == 0

    down = cli("--repo", str(repo), "emulate", "down")
    assert down.exit_code == 0 and down.output.count("stopped") == 4
    assert all(_wait_dead(pid) for pid in state["pids"].values())
    assert not (repo / ".orchestrate/emulate/state.json").exists()
    assert cli("--repo", str(repo), "emulate", "status").exit_code == 1


def test_a_crashed_emulator_is_reported_and_restarted_with_its_resources(
    repo: Path, cli: Callable[..., Result]
) -> None:
    assert cli("--repo", str(repo), "emulate", "up").exit_code == 0
    state = json.loads((repo / ".orchestrate/emulate/state.json").read_text())
    body = json.dumps({"projectId": "acme-kept"}).encode()
    urllib.request.urlopen(
        urllib.request.Request(state["endpoints"]["gcp"] + "/v3/projects", data=body, method="POST")
    )
    os.kill(state["pids"]["gcp"], signal.SIGKILL)
    assert _wait_dead(state["pids"]["gcp"])
    status = cli("--repo", str(repo), "emulate", "status")
    assert status.exit_code == 1 and "not running" in status.output

    result = cli("--repo", str(repo), "emulate", "up")
    assert result.exit_code == 0
    assert f"was not running (pid {state['pids']['gcp']})" in result.output
    after = json.loads((repo / ".orchestrate/emulate/state.json").read_text())
    assert after["pids"]["gcp"] != state["pids"]["gcp"]
    assert after["pids"]["aws"] == state["pids"]["aws"]  # the others were reused
    assert after["endpoints"]["gcp"] == state["endpoints"]["gcp"]  # same port again when free
    project = json.loads(urllib.request.urlopen(after["endpoints"]["gcp"] + "/v3/projects/acme-kept").read())
    assert project["projectId"] == "acme-kept"

    assert cli("--repo", str(repo), "emulate", "down", "--wipe").exit_code == 0
    assert not (repo / ".orchestrate/emulate/gcp.json").exists()


def test_down_never_signals_a_process_that_is_not_an_emulator(repo: Path, cli: Callable[..., Result]) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        state_file = repo / ".orchestrate/emulate/state.json"
        state_file.parent.mkdir(parents=True)
        state_file.write_text(
            json.dumps(
                {"endpoints": {"aws": "http://127.0.0.1:9"}, "env": {}, "pids": {"aws": bystander.pid}}
            )
        )
        assert not _is_ours(bystander.pid, "aws")
        result = cli("--repo", str(repo), "emulate", "down")
        assert result.exit_code == 0 and "not running" in result.output
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_env_says_how_to_start_when_nothing_is_up(repo: Path, cli: Callable[..., Result]) -> None:
    result = cli("--repo", str(repo), "emulate", "env")
    assert result.exit_code == 1
    assert "the emulated clouds are not up" in result.output
    assert "orchestrate emulate up" in result.output
    assert "Traceback" not in result.output
    assert cli("--repo", str(repo), "emulate", "down").exit_code == 0  # nothing to stop is fine


def test_a_server_that_cannot_start_is_reported_with_its_log_and_nothing_is_left(
    repo: Path, tmp_path: Path
) -> None:
    from orchestrate_emulate.errors import EmulateError

    broken = tmp_path / "python"
    broken.write_text(
        '#!/bin/sh\ncase "$*" in *" gcp "*) echo "boom: no module named moto" >&2; exit 3;; esac\n'
        f'exec {sys.executable} "$@"\n'
    )
    broken.chmod(0o755)
    with pytest.raises(EmulateError) as err:
        Emulation(repo, python=str(broken)).up()
    assert "the gcp emulator did not start" in err.value.message
    assert "boom: no module named moto" in err.value.message
    assert err.value.where == ".orchestrate/emulate/logs/gcp.log"
    assert not (repo / ".orchestrate/emulate/state.json").exists()
    leftovers = subprocess.run(
        ["pgrep", "-f", f"{repo}/.orchestrate/emulate/run/"], capture_output=True, text=True
    )
    assert leftovers.stdout.strip() == ""


def _cpu_of_children(pid: int) -> int:
    """Clock ticks the (reaped) children of ``pid`` used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[13]) + int(fields[14])


def test_terraform_gets_its_providers_from_the_zygote_and_without_it_still_runs(
    repo: Path, cli: Callable[..., Result], newest_terraform: TerraformBinary
) -> None:
    assert cli("--repo", str(repo), "emulate", "up").exit_code == 0
    state = json.loads((repo / ".orchestrate/emulate/state.json").read_text())
    zygote = state["pids"]["providers"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))},
        **json.loads(cli("--repo", str(repo), "emulate", "env", "--json", "--target", "aws-prod").output),
        "HOME": str(repo / ".home"),
    }
    work = repo / "work"
    work.mkdir()
    (work / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        'resource "aws_sqs_queue" "q" {\n  name = "via-zygote"\n}\n'
    )

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [newest_terraform.path, *args, "-no-color"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert terraform("init", "-input=false").returncode == 0
    before = _cpu_of_children(zygote)
    applied = terraform("apply", "-auto-approve", "-input=false")
    assert applied.returncode == 0, applied.stderr
    assert _cpu_of_children(zygote) > before  # the providers ran as the zygote's children
    deadline = time.monotonic() + 5
    while (
        subprocess.run(["pgrep", "-P", str(zygote)], capture_output=True).stdout
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)  # a provider sends its exit status, then exits: give it a moment
    assert subprocess.run(["pgrep", "-P", str(zygote)], capture_output=True).stdout == b""  # none left

    os.kill(zygote, signal.SIGKILL)  # a dead zygote leaves its socket file behind
    assert _wait_dead(zygote)
    planned = terraform("plan", "-input=false", "-detailed-exitcode")
    assert planned.returncode == 0, planned.stderr  # the launchers started the providers themselves


def test_a_damaged_state_file_is_named_and_down_still_stops_every_server(
    repo: Path, cli: Callable[..., Result]
) -> None:
    (repo / "stacks/a").mkdir(parents=True)
    (repo / "stacks/a/stack.yaml").write_text("")
    (repo / "stacks/a/main.tf").write_text('output "x" { value = 1 }\n')
    assert cli("--repo", str(repo), "emulate", "up").exit_code == 0
    state_file = repo / ".orchestrate/emulate/state.json"
    pids = json.loads(state_file.read_text())["pids"]
    state_file.write_text('{"endpoints": {"aws": ')
    # The product does not run on as if nothing were emulated (terraform would go to the real clouds).
    listed = cli("--repo", str(repo), "emulate", "env")
    assert listed.exit_code == 1 and "internal error" not in listed.output
    plan = cli("--repo", str(repo), "plan")
    assert plan.exit_code == 1 and "state file is damaged" in plan.output and "emulate down" in plan.output
    down = cli("--repo", str(repo), "emulate", "down")
    assert down.exit_code == 0, down.output
    assert all(_wait_dead(pid) for pid in pids.values()), down.output
    assert not state_file.exists()
