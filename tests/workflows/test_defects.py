"""The harness catches every defect issue 15 found in the workflows as they were (kept in
tests/workflows/legacy/), and the shipped workflows have none of them.

Fast: no clouds. Each defect is shown twice where it can be: by the static rules, and by running
the old workflow anyway (``checks=False``) and watching it fail the way it fails on GitHub.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT, TERRAFORM_BINARIES, git
from tests.fakes.github import FakeGitHub
from tests.workflows.harness import RunResult, World, drops_waiting, lint

LEGACY = Path(__file__).parent / "legacy"
SHIPPED = sorted((REPO_ROOT / ".github" / "workflows").glob("orchestrate-*.yml"))
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2"
SETUP_TF = "hashicorp/setup-terraform@b9cd54a3c349d3f38e8881555d616ced269862dd # v3.1.2"


class Repo:
    def __init__(self, root: Path, world: World, github: FakeGitHub, bare: Path) -> None:
        self.root, self.world, self.github, self.bare = root, world, github, bare

    def workflow(self, name: str, text: str) -> Path:
        path = self.root / "wf" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return path

    def run(self, path: Path, event: str, payload: dict[str, Any] | None = None, **kw: Any) -> RunResult:
        sha = git(self.bare, "rev-parse", "refs/heads/main")
        return self.world.run(path, event, payload or {}, sha=sha, **kw)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    seed = tmp_path / "seed"
    seed.mkdir()
    for name in ("action.yml", "pyproject.toml", "orchestrate.yaml"):
        shutil.copy2(REPO_ROOT / name, seed / name)
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    git(seed, "add", "-A")
    git(seed, "-c", "user.name=d", "-c", "user.email=d@e", "commit", "-q", "-m", "seed")
    bare = tmp_path / "gh.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    fake = FakeGitHub(repository="acme/infra", git_dir=bare).start()
    world = World(
        tmp_path / "world",
        bare,
        fake,
        terraform={b.version: b.path for b in TERRAFORM_BINARIES},
        secrets={},
        environments={"production": {"branches": ["main"], "secrets": {}}},
        trust={},
        cloud_state=None,
    )
    try:
        yield Repo(tmp_path, world, fake, bare)
    finally:
        world.stop()
        fake.stop()


def test_the_shipped_workflows_and_action_break_no_rule() -> None:
    for path in [*SHIPPED, REPO_ROOT / "action.yml", REPO_ROOT / ".github/workflows/ci.yml"]:
        assert lint(path) == [], path


def test_the_old_workflows_break_the_rules_issue_15_lists() -> None:
    found = {p.name: "\n".join(lint(p)) for p in sorted(LEGACY.glob("*.yml"))}
    for name, problems in found.items():
        assert "is not pinned by a full commit SHA" in problems, name  # every action pinned by tag
        assert "has no permissions of its own" in problems, name
        assert "write permissions for the whole workflow" in problems, name
    assert "${{ }} in run:" in found["orchestrate-plan.yml"]  # ${{ github.base_ref }} in a script
    assert "${{ }} in run:" in found["orchestrate-apply.yml"]
    # apply credentials in a workflow the pull request's own copy of runs
    assert (
        "holds environment credentials in a workflow triggered by pull_request_review"
        in found["orchestrate-apply.yml"]
    )


def test_environment_credentials_on_push_only_for_named_branches(tmp_path: Path) -> None:
    """A push runs the pushed branch's own copy of the workflow: any branch, unless limited."""
    job = (
        "jobs:\n  apply:\n    runs-on: ubuntu-latest\n    environment: production\n"
        "    permissions: {contents: read}\n    steps: [{run: echo}]\n"
    )
    for on, flagged in (
        ("on: push\n", True),
        ("on:\n  push:\n    branches: ['**']\n", True),
        ("on:\n  push:\n    branches: [main]\n", False),
    ):
        path = tmp_path / "w.yml"
        path.write_text(on + job)
        assert any("triggered by push" in p for p in lint(path)) == flagged, on


def test_the_old_install_step_installs_an_unrelated_project(repo: Repo) -> None:
    repo.github.add_pull(12, head_sha=git(repo.bare, "rev-parse", "main"))
    payload = {"pull_request": repo.github._pull_json(12), "number": 12}
    run = repo.run(LEGACY / "orchestrate-plan.yml", "pull_request", payload, checks=False)
    log = "\n".join(run.job("plan").log)
    assert run.job("plan").result == "failure"
    assert "unrelated project" in log
    # ...and its checkout left the job token in .git/config for every later step to read.
    assert any("kept the token in .git/config" in v for v in run.violations), run.violations


def test_a_runner_has_no_terraform_until_a_step_installs_the_pinned_one(repo: Repo) -> None:
    if "1.11.4" not in repo.world.terraform:
        pytest.skip("terraform 1.11.4 is not on this machine")
    bare = repo.workflow(
        "tf.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      contents: read\n    steps:\n      - run: terraform version\n",
    )
    assert repo.run(bare, "push").job("t").result == "failure"
    fixed = repo.workflow(
        "tf2.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        f"    permissions:\n      contents: read\n    steps:\n      - uses: {SETUP_TF}\n"
        "        with:\n          terraform_version: 1.11.4\n          terraform_wrapper: false\n"
        "      - run: terraform version\n",
    )
    run = repo.run(fixed, "push")
    assert run.ok, run.explain()
    assert any("1.11.4" in line for line in run.job("t").log)


@pytest.mark.parametrize(("hidden_ok", "uploaded"), [(False, False), (True, True)])
def test_upload_artifact_skips_hidden_directories_unless_told(
    repo: Repo, hidden_ok: bool, uploaded: bool
) -> None:
    extra = "          include-hidden-files: true\n" if hidden_ok else ""
    wf = repo.workflow(
        "up.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      contents: read\n    steps:\n"
        "      - run: mkdir -p .orchestrate/plans/ps-1 && echo '{}' > .orchestrate/plans/ps-1/manifest.json\n"
        f"      - uses: {UPLOAD}\n        with:\n          name: plans\n          path: .orchestrate/plans/\n{extra}",
    )
    run = repo.run(wf, "push")
    assert run.ok, run.explain()
    artifact = repo.world.artifact("plans")
    assert (artifact is not None and (artifact.files / "ps-1" / "manifest.json").is_file()) is uploaded


def test_an_artifact_name_is_immutable_within_a_run_unless_overwrite(repo: Repo) -> None:
    steps = "".join(
        f"      - uses: {UPLOAD}\n        with:\n          name: same\n          path: f\n{extra}"
        for extra in ("", "          overwrite: true\n", "")
    )
    wf = repo.workflow(
        "twice.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      contents: read\n    steps:\n      - run: echo x > f\n" + steps,
    )
    log = "\n".join(repo.run(wf, "push").job("t").log)
    assert log.count("an artifact with this name already exists") == 1  # the third upload only


def test_the_old_apply_ran_with_production_credentials_on_the_pull_requests_own_workflow(repo: Repo) -> None:
    repo.github.add_pull(12, head_sha=git(repo.bare, "rev-parse", "main"))
    payload = {"review": {"state": "approved"}, "pull_request": repo.github._pull_json(12)}
    run = repo.run(
        LEGACY / "orchestrate-apply.yml",
        "pull_request_review",
        payload,
        ref="refs/pull/12/merge",
        checks=False,
    )
    job = run.job("apply")
    assert job.result == "failure" and "not allowed to deploy to production" in "\n".join(job.log)


def test_the_old_apply_drops_an_apply_waiting_for_approval_when_another_review_comes(repo: Repo) -> None:
    for n in (12, 13):
        repo.github.add_pull(n, head_sha=git(repo.bare, "rev-parse", "main"))
    runs = [
        repo.run(
            LEGACY / "orchestrate-apply.yml",
            "pull_request_review",
            {"review": {"state": state}, "pull_request": repo.github._pull_json(n)},
            ref="refs/heads/main",
            checks=False,
        )
        for n, state in ((12, "approved"), (13, "commented"))
    ]
    assert drops_waiting(runs[0], runs[1]) == ["orchestrate-apply"]


def test_the_shipped_apply_keeps_a_waiting_apply_when_others_comment(repo: Repo) -> None:
    wf = REPO_ROOT / ".github/workflows/orchestrate-apply.yml"
    for n in (12, 13):
        repo.github.add_pull(n, head_sha=git(repo.bare, "rev-parse", "main"))
    comment = {"issue": {"number": 13, "pull_request": {"url": "x"}}, "comment": {"body": "LGTM"}}
    noise = repo.run(wf, "issue_comment", comment)
    assert noise.concurrency is None and all(r.result == "skipped" for rs in noise.jobs.values() for r in rs)
    doc = yaml.safe_load(wf.read_text())
    assert "concurrency" not in doc  # workflow-level groups would be taken by every comment
    group = doc["jobs"]["apply"]["concurrency"]
    assert "needs.prepare.outputs.pr" in group["group"] and group["cancel-in-progress"] is False


def test_every_job_that_runs_orchestrate_against_the_clouds_logs_in_with_oidc() -> None:
    for path in SHIPPED:
        doc = yaml.safe_load(path.read_text())
        for job_id, job in doc["jobs"].items():
            runs = " ".join(str(s.get("run", "")) for s in job.get("steps", []))
            if not any(f"orchestrate {c}" in runs for c in ("plan ", "apply ", "drift ")):
                continue
            uses = {str(s.get("uses", "")).split("@")[0] for s in job["steps"]}
            assert {
                "aws-actions/configure-aws-credentials",
                "google-github-actions/auth",
                "azure/login",
            } <= uses, (
                path.name,
                job_id,
            )
            assert job["permissions"].get("id-token") == "write", (path.name, job_id)
    apply = yaml.safe_load((REPO_ROOT / ".github/workflows/orchestrate-apply.yml").read_text())
    assert apply["jobs"]["apply"]["environment"] == "production"
    assert "APPLY" in str(apply["jobs"]["apply"]["env"]["AWS_ROLE_ARN"])


@pytest.mark.parametrize(
    ("contents", "persist", "pushed", "refused"),
    [
        ("write", "false", False, "could not read Username"),  # no credentials left in the clone
        ("read", "true", False, "403"),  # credentials, but the token may only read
        ("write", "true", True, None),
    ],
)
def test_a_push_from_a_job_needs_the_token_and_contents_write(
    repo: Repo, contents: str, persist: str, pushed: bool, refused: str | None
) -> None:
    """The harness's git is GitHub's: a checkout with persist-credentials: false leaves a later
    `git push` without credentials, and a read-only token is refused."""
    wf = repo.workflow(
        "push.yml",
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        f"    permissions:\n      contents: {contents}\n    steps:\n"
        f"      - uses: {CHECKOUT}\n        with:\n          persist-credentials: {persist}\n"
        "      - run: git push origin HEAD:refs/notes/orchestrate\n",
    )
    run = repo.run(wf, "push")
    job = run.job("t")
    log = "\n".join(job.log)
    assert (job.result == "success") is pushed, log
    if refused:
        assert refused in log, log
    remote = subprocess.run(
        ["git", "--git-dir", str(repo.bare), "rev-parse", "-q", "--verify", "refs/notes/orchestrate"],
        capture_output=True,
        check=False,
    )
    assert (remote.returncode == 0) is pushed
    assert any("kept the token in .git/config" in v for v in run.violations) is (persist == "true")
