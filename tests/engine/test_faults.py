"""Faults: terraform killed mid-apply, SIGINT, timeouts, missing or wrong terraform."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator import audit
from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

# The provisioner sleeps only while the marker file exists, so a re-run is quick.
SLOW_STACK = """
resource "null_resource" "slow" {
  provisioner "local-exec" {
    command = "if [ -f ../../slow.marker ]; then sleep 60; fi"
  }
}
"""
FILES = {
    # apply refuses on any uncommitted change: the marker is not part of the repository
    ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\nslow.marker\n",
    "stacks/slow/stack.yaml": "",
    "stacks/slow/main.tf": SLOW_STACK,
    "stacks/after/stack.yaml": "depends_on: [slow]\n",
    "stacks/after/main.tf": 'resource "null_resource" "a" {}\n',
    "stacks/other/stack.yaml": "",
    "stacks/other/main.tf": NULL_STACK,
}


def children(pid: int) -> list[tuple[int, str]]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append((int(entry.name), comm))
    return out


def descendants(pid: int) -> list[tuple[int, str]]:
    found, queue = [], [pid]
    while queue:
        for child in children(queue.pop()):
            found.append(child)
            queue.append(child[0])
    return found


def start(repo: Repo, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **repo.env, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "--repo", str(repo.root), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def wait_for_sleep(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, list[int]]:
    """Wait until terraform runs the provisioner's sleep; returns (terraform pid, sleep pids)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = descendants(proc.pid)
        sleeps = [p for p, c in tree if c == "sleep"]
        tfs = [p for p, c in children(proc.pid) if c == "terraform"]
        if sleeps and tfs:
            for tf_pid in tfs:
                if any(p in sleeps for p, _ in descendants(tf_pid)):
                    return tf_pid, sleeps
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    _out, err = proc.communicate(timeout=5) if proc.poll() is not None else ("", "")
    raise AssertionError(f"terraform never reached the provisioner: {err}")


def kill_quietly(pids: list[int]) -> None:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def processes_mentioning(path: Path) -> list[str]:
    """Command lines of live processes that name ``path`` (providers run from its work dir)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(
                (ln for ln in (proc / "status").read_text().splitlines() if ln.startswith("State:")), ""
            )
        except OSError:
            continue
        if str(path) in cmdline and "Z (zombie)" not in state:
            found.append(cmdline)
    return found


def test_terraform_killed_mid_apply_fails_its_stack_skips_dependents_and_a_rerun_recovers(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo(FILES)
    assert repo.orchestrate("plan").exit_code == 2
    (repo.root / "slow.marker").write_text("")
    proc = start(repo, "apply", "--approved-by", "alice", "--reason", "kill test")
    tf_pid, sleeps = wait_for_sleep(proc)
    try:
        os.kill(tf_pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_quietly(sleeps)
    assert proc.returncode == 1, err
    record = audit.read(repo.root)[-1]
    results = {s["stack"]: s for s in record["stacks"]}
    assert results["slow"]["status"] == "failed" and "killed by SIGKILL" in results["slow"]["error"]
    assert results["after"]["status"] == "skipped"
    assert results["other"]["status"] == "applied"
    assert not list((repo.root / ".orchestrate/locks").glob("*.lock")), "stack locks must be released"
    assert not processes_mentioning(repo.root), "the killed terraform's provider plugins must not live on"

    (repo.root / "slow.marker").unlink()
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.statuses() == {"other": "no-changes", "slow": "changes", "after": "changes"}
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "recover")
    assert res.exit_code == 0, res.output


def test_sigint_is_passed_on_so_terraform_stops_cleanly_and_exit_is_130(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo({k: v for k, v in FILES.items() if "other" not in k})
    assert repo.orchestrate("plan").exit_code == 2
    (repo.root / "slow.marker").write_text("")
    proc = start(repo, "apply", "--approved-by", "alice", "--reason", "interrupt")
    _tf_pid, sleeps = wait_for_sleep(proc)
    try:
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_quietly(sleeps)
    assert proc.returncode == 130, err
    assert not list((repo.root / ".orchestrate/locks").glob("*.lock"))
    record = audit.read(repo.root)[-1]
    assert record["result"] == "interrupted"
    assert {s["stack"]: s["status"] for s in record["stacks"]} == {"slow": "failed", "after": "skipped"}


def test_a_command_over_the_timeout_is_stopped_and_reported(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(
        {k: v for k, v in FILES.items() if "slow" in k or k == ".gitignore"}, "  timeout: 2s\n"
    )
    assert repo.orchestrate("plan").exit_code == 2
    (repo.root / "slow.marker").write_text("")
    started = time.monotonic()
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "timeout")
    assert time.monotonic() - started < 45
    assert res.exit_code == 1
    record = audit.read(repo.root)[-1]
    assert "timed out after 2s" in record["stacks"][0]["error"]


def test_missing_terraform_is_one_clear_error(newest_repo: Callable[..., Repo], tmp_path: Path) -> None:
    repo = newest_repo({"stacks/a/stack.yaml": "", "stacks/a/main.tf": 'output "x" { value = 1 }\n'})
    (repo.root / "orchestrate.yaml").write_text(f"terraform:\n  binary: {tmp_path}/no/terraform\n")
    res = repo.orchestrate("plan")
    assert res.exit_code == 1
    assert "terraform binary" in res.output and "does not exist" in res.output
    assert "Traceback" not in res.output


def test_a_wrong_terraform_version_is_one_clear_error(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo({"stacks/a/stack.yaml": "", "stacks/a/main.tf": 'output "x" { value = 1 }\n'})
    text = (repo.root / "orchestrate.yaml").read_text() + '  version: "< 1.0"\n'
    (repo.root / "orchestrate.yaml").write_text(text)
    res = repo.orchestrate("plan")
    assert res.exit_code == 1
    assert (
        f"Terraform {repo.terraform.version}" in res.output
        and "does not satisfy terraform.version '< 1.0'" in res.output
    )


def test_sigterm_is_handled_like_sigint(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo({k: v for k, v in FILES.items() if "other" not in k})
    assert repo.orchestrate("plan").exit_code == 2
    (repo.root / "slow.marker").write_text("")
    proc = start(repo, "apply", "--approved-by", "alice", "--reason", "terminate")
    tf_pid, sleeps = wait_for_sleep(proc)
    try:
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_quietly(sleeps)
    assert proc.returncode == 130, err
    assert not list((repo.root / ".orchestrate/locks").glob("*.lock"))
    assert not Path(f"/proc/{tf_pid}").exists() or "Z" in Path(f"/proc/{tf_pid}/stat").read_text().split()[2]
    assert audit.read(repo.root)[-1]["result"] == "interrupted"


LONG_LINE_STACK = 'output "x" { value = "' + "a" * 64 + '!" }\n'


def test_a_catastrophic_redact_pattern_does_not_hang_plan(newest_repo: Callable[..., Repo]) -> None:
    # Python's backtracking engine takes longer than the universe's age on (a+)+$ against
    # 64 a's and a '!'; the pattern came from the repository, terraform printed the line.
    repo = newest_repo(
        {"stacks/long/stack.yaml": "", "stacks/long/main.tf": LONG_LINE_STACK}, 'redact: ["(a+)+$"]\n'
    )
    env = {**os.environ, **repo.env, "NO_COLOR": "1"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "--repo", str(repo.root), "plan"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    assert time.monotonic() - started < 60


# The provisioner is the cloud side effect: one line per creation in created.txt.
ORPHAN_STACK = """
resource "null_resource" "slow" {
  provisioner "local-exec" {
    command = "echo created >> ../../created.txt; if [ -f ../../slow.marker ]; then sleep 4; fi; echo after the sleep"
  }
}
"""


def test_kill_9_during_apply_loses_no_state_and_the_next_run_waits_for_the_orphan(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo(
        {
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\nslow.marker\ncreated.txt\n",
            "stacks/slow/stack.yaml": "",
            "stacks/slow/main.tf": ORPHAN_STACK,
        }
    )
    assert repo.orchestrate("plan").exit_code == 2
    (repo.root / "slow.marker").write_text("")
    proc = start(repo, "apply", "--approved-by", "alice", "--reason", "kill -9")
    tf_pid, _sleeps = wait_for_sleep(proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert Path(f"/proc/{tf_pid}").exists(), "terraform must outlive a killed orchestrate"

    # While the orphan runs, the next run does not take the stack over.
    res = repo.orchestrate("plan")
    assert res.exit_code == 1, res.output
    assert f"terraform pid {tf_pid}" in res.output and "another orchestrate run holds the lock" in res.output

    deadline = time.monotonic() + 60
    while Path(f"/proc/{tf_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    state = repo.state("slow")
    assert state is not None and [r["type"] for r in state["resources"]] == ["null_resource"], (
        "the orphan wrote the state of what it created"
    )
    (repo.root / "slow.marker").unlink()
    res = repo.orchestrate("plan")
    assert res.exit_code == 0, res.output  # the state matches the cloud: nothing to create again
    assert "its terraform" in res.output and "Apply complete!" in res.output, res.output
    assert (repo.root / "created.txt").read_text().count("created") == 1
