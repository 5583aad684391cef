"""The approval gate under attack (issue 11): a table of attacks on `apply --pr N`.

Each case sets up a pull request on a bare remote behind the fake GitHub API (real git,
real terraform, PyGithub as the client), plans it with `plan --comment` and applies it with
`apply --pr`. Every attack must be refused with one sentence naming the rule, nothing
applied; the control case (a proper approval) applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result

from orchestrator.github import parse_marker
from tests.conftest import TerraformBinary, git, write_files
from tests.engine.conftest import NULL_STACK, root_config
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

DENY_GUARDED = """package main

import rego.v1

deny contains msg if {
  input.orchestrate.stack == "guarded"
  some rc in input.resource_changes
  "create" in rc.change.actions
  msg := sprintf("%s may not be created in the guarded stack", [rc.address])
}
"""

BASE_FILES = {
    ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform.lock.hcl\n",
    "stacks/app/stack.yaml": "",
    "stacks/app/main.tf": NULL_STACK,
    "stacks/guarded/stack.yaml": "",
    "stacks/guarded/main.tf": "# nothing yet\n",
    "policies/guard.rego": DENY_GUARDED,
}
APP_V2 = NULL_STACK.replace('v = "1"', 'v = "2"')


@dataclass
class Estate:
    """A repository on main, a bare remote, a work tree on branch feature (PR 10)."""

    root: Path
    bare: Path
    fake: FakeGitHub
    env: dict[str, str]
    cli: Callable[..., Result]

    def orchestrate(self, *args: str) -> Result:
        return self.cli("--repo", str(self.root), *args, env=self.env)

    def commit_push(self, files: dict[str, str | None], branch: str, message: str = "change") -> str:
        for rel, text in files.items():
            if text is None:
                (self.root / rel).unlink()
            else:
                write_files(self.root, {rel: text})
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)
        git(self.root, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return git(self.root, "rev-parse", "HEAD")

    def plan(self, *stacks: str, number: int = 10, code: int | None = 2) -> Result:
        res = self.orchestrate("plan", *stacks, "--comment", "--pr", str(number))
        if code is not None:
            assert res.exit_code == code, res.output
        return res

    def apply(self, number: int = 10) -> Result:
        return self.orchestrate("apply", "--pr", str(number))

    def state(self, stack: str) -> dict[str, object] | None:
        path = self.root / ".orchestrate" / "state" / stack / "terraform.tfstate"
        return json.loads(path.read_text()) if path.is_file() else None

    def nothing_applied(self) -> bool:
        return self.state("app") is None and self.state("guarded") is None

    def bot_comments(self, number: int = 10) -> list[dict[str, object]]:
        return [c for c in self.fake.issue_comments(number) if c["user"]["login"] == self.fake.token_login]


@pytest.fixture
def estate_factory(
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., Result],
    tmp_path: Path,
) -> Iterator[Callable[..., Estate]]:
    fakes: list[FakeGitHub] = []

    def make(config_extra: str = "", extra_files: dict[str, str] | None = None) -> Estate:
        files = {
            "orchestrate.yaml": root_config(newest_terraform, config_extra),
            **BASE_FILES,
            **(extra_files or {}),
        }
        root = make_repo(files)
        bare = tmp_path / f"{root.name}.git"
        git(tmp_path, "clone", "-q", "--bare", str(root), str(bare))
        git(root, "remote", "add", "origin", str(bare))
        git(root, "fetch", "-q", "origin")
        git(root, "checkout", "-q", "-b", "feature")
        fake = FakeGitHub(git_dir=bare).start()
        fakes.append(fake)
        fake.grant("bob", "write")
        fake.grant("carol", "maintain")
        fake.grant("alice", "write")
        env = {**tf_home, "USER": "tester", **fake.env(), "GITHUB_EVENT_PATH": "", "GITHUB_STEP_SUMMARY": ""}
        return Estate(root, bare, fake, env, cli)

    yield make
    for fake in fakes:
        fake.stop()


def open_pr(e: Estate, files: dict[str, str | None], number: int = 10, **kwargs: object) -> str:
    head = e.commit_push(files, "feature")
    e.fake.add_pull(number, head_ref="feature", track_branch=True, author="alice", **kwargs)  # type: ignore[arg-type]
    return head


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Attack:
    name: str
    arrange: Callable[[Estate], None]
    expect: str
    code: int = 1
    config: str = ""
    files: dict[str, str] = field(default_factory=dict)


def _approve(*users: str) -> Callable[[Estate], None]:
    def run(e: Estate) -> None:
        open_pr(e, {"stacks/app/main.tf": APP_V2})
        e.plan("app")
        for u in users:
            e.fake.add_review(10, u, "APPROVED")

    return run


def _rewrite_codeowners(e: Estate) -> None:
    open_pr(e, {"stacks/app/main.tf": APP_V2, ".github/CODEOWNERS": "* @bob\n"})
    e.plan("app")
    assert ".github/CODEOWNERS" in str(e.bot_comments()[0]["body"])
    e.fake.add_review(10, "bob", "APPROVED")


def _lower_required(e: Estate) -> None:
    text = (e.root / "orchestrate.yaml").read_text().replace("required: 2", "required: 1")
    open_pr(e, {"stacks/app/main.tf": APP_V2, "orchestrate.yaml": text})
    e.plan("app")
    assert "only after it merges" in str(e.bot_comments()[0]["body"])
    e.fake.add_review(10, "bob", "APPROVED")


def _weaken_policy(e: Estate) -> None:
    open_pr(e, {"stacks/guarded/main.tf": 'resource "null_resource" "g" {}\n', "policies/guard.rego": None})
    e.plan("guarded", code=3)  # planned and shown with the base's policies
    body = str(e.bot_comments()[0]["body"])
    assert "may not be created in the guarded stack" in body and "only after it merges" in body
    e.fake.add_review(10, "bob", "APPROVED")


def _diverged(e: Estate) -> None:
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.plan("app")
    e.fake.add_review(10, "bob", "APPROVED")
    # Another PR touching the same stack merges into main after PR 10 was planned.
    feature = git(e.root, "rev-parse", "HEAD")
    git(e.root, "checkout", "-q", "-b", "other", "origin/main")
    e.commit_push({"stacks/app/extra.tf": 'resource "null_resource" "other" {}\n'}, "other")
    e.fake.add_pull(11, head_ref="other", track_branch=True, author="carol")
    git(e.root, "push", "-q", "origin", "other:main")  # PR 11 merged
    git(e.root, "checkout", "-q", feature)


def _forged_before(e: Estate) -> None:
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.fake.add_comment(10, "<!-- orchestrate:plan:part-1 -->\n### ✅ No changes", user="mallory")
    e.plan("app")
    forged = [c for c in e.fake.issue_comments(10) if c["user"]["login"] == "mallory"]
    assert forged[0]["body"].endswith("No changes"), "the plan was written into a third party's comment"
    real = e.bot_comments()
    assert len(real) == 1 and parse_marker(str(real[0]["body"])) == ("plan", 1)
    # Mallory copies the real comment, then the real one goes: hers must not count.
    e.fake.add_comment(10, str(real[0]["body"]), user="mallory")
    del e.fake.comments[int(real[0]["id"])]  # type: ignore[call-overload]
    e.fake.add_review(10, "bob", "APPROVED")


def _pasted_body(e: Estate) -> None:
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.plan("app")
    real = e.bot_comments()[0]
    e.fake.pulls[10]["body"] = str(real["body"])  # the author pastes the block into the PR body
    del e.fake.comments[int(real["id"])]  # type: ignore[call-overload]
    e.fake.add_review(10, "bob", "APPROVED")


def _swapped_manifest(e: Estate) -> None:
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.plan("app")
    e.fake.add_review(10, "bob", "APPROVED")
    plans = e.root / ".orchestrate" / "plans"
    (shown,) = [d for d in plans.iterdir() if d.is_dir() and not d.name.startswith(".")]
    # A consistent manifest (its id recomputed) that differs from what reviewers saw.
    from orchestrator.planset import Manifest

    manifest = Manifest.model_validate_json((shown / "manifest.json").read_text())
    swapped = manifest.model_copy(update={"created_at": "2020-01-01T00:00:00+00:00"}).with_id()
    (shown / "manifest.json").write_text(swapped.model_dump_json())


def _policy_owner_missing(e: Estate) -> None:
    open_pr(e, {"stacks/app/main.tf": APP_V2, "policies/extra.rego": "package other\n"})
    e.plan("app")
    e.fake.add_review(10, "bob", "APPROVED")


ATTACKS = [
    Attack(
        "approval by a non-collaborator",
        _approve("mallory"),
        "mallory approved but has read access to acme/infra, not write",
    ),
    Attack("approval by a read-only user", _approve("reader"), "reader approved but has read access"),
    Attack("approval by a triage user", _approve("triager"), "triager approved but has triage access"),
    Attack(
        "approval by a non-owner with codeowners",
        _approve("bob"),
        "stacks/app/main.tf needs an approval from a code owner (@carol); bob is not one",
        config="approval:\n  codeowners: true\n",
        files={".github/CODEOWNERS": "* @bob\n/stacks/app/ @carol\n"},
    ),
    Attack(
        "a PR rewriting CODEOWNERS to own its files",
        _rewrite_codeowners,
        "stacks/app/main.tf needs an approval from a code owner (@carol); bob is not one",
        config="approval:\n  codeowners: true\n",
        files={".github/CODEOWNERS": "* @bob\n/stacks/app/ @carol\n"},
    ),
    Attack(
        "approval outside approval.users",
        _approve("bob"),
        "bob approved but is not listed in approval.users",
        config="approval:\n  users: [carol]\n",
    ),
    Attack(
        "approval outside approval.teams",
        _approve("bob"),
        "bob approved but is not a member of any team in approval.teams (acme/platform)",
        config="approval:\n  teams: [acme/platform]\n",
    ),
    Attack(
        "a PR lowering approval.required",
        _lower_required,
        "pull request #10 has 1 approval on its head commit, approval.required is 2",
        config="approval:\n  required: 2\n",
    ),
    Attack("a PR weakening a policy", _weaken_policy, "policies deny this plan set (guarded)", code=3),
    Attack(
        "a rules change without a policy owner",
        _policy_owner_missing,
        "pull request #10 changes the rules that judge it (policies/extra.rego) and needs an approval "
        "from one of approval.policy_owners (carol)",
        config="approval:\n  policy_owners: [carol]\n",
    ),
    Attack(
        "a diverged PR",
        _diverged,
        "main has commits since pull request #10 left it that touch stacks/app/extra.tf (app)",
    ),
    Attack("a forged sticky comment", _forged_before, "was never shown on pull request #10"),
    Attack("a plan-set block pasted into the PR body", _pasted_body, "was never shown on pull request #10"),
    Attack(
        "a manifest swapped after approval", _swapped_manifest, "is not the one shown on pull request #10"
    ),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_refused_and_nothing_is_applied(
    estate_factory: Callable[..., Estate], attack: Attack
) -> None:
    e = estate_factory(attack.config, attack.files)
    e.fake.add_team("acme/platform", "carol")
    e.fake.grant("reader", "read")
    e.fake.grant("triager", "triage")
    attack.arrange(e)
    res = e.apply()
    assert res.exit_code == attack.code, res.output
    assert attack.expect in res.output, res.output
    assert e.nothing_applied()
    assert not e.fake.merges


# ---------------------------------------------------------------- the controls (these apply)


@pytest.mark.parametrize(
    ("config", "files", "approver"),
    [
        ("", {}, "bob"),
        ("", {}, "carol"),  # maintain counts as write
        ("approval:\n  codeowners: true\n", {".github/CODEOWNERS": "/stacks/app/ @acme/platform\n"}, "carol"),
        ("approval:\n  users: [carol]\n", {}, "carol"),
        ("approval:\n  teams: [acme/platform]\n", {}, "carol"),
    ],
    ids=["write", "maintain", "codeowner-team", "users", "teams"],
)
def test_a_proper_approval_applies(
    estate_factory: Callable[..., Estate], config: str, files: dict[str, str], approver: str
) -> None:
    e = estate_factory(config, files)
    e.fake.add_team("acme/platform", "carol")
    _approve(approver)(e)
    res = e.apply()
    assert res.exit_code == 0, res.output
    assert e.state("app") is not None


def test_policy_owner_approval_lets_a_rules_change_apply(estate_factory: Callable[..., Estate]) -> None:
    e = estate_factory("approval:\n  policy_owners: [carol]\n")
    _policy_owner_missing(e)
    assert "only after" in str(e.bot_comments()[0]["body"])
    e.fake.add_review(10, "carol", "APPROVED")
    res = e.apply()
    assert res.exit_code == 0, res.output


def test_undiverged_pr_applies_when_the_base_moved_elsewhere(estate_factory: Callable[..., Estate]) -> None:
    e = estate_factory()
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.plan("app")
    e.fake.add_review(10, "bob", "APPROVED")
    feature = git(e.root, "rev-parse", "HEAD")
    git(e.root, "checkout", "-q", "-b", "other", "origin/main")
    e.commit_push({"README.md": "docs only\n"}, "main")  # main moved, but not for app
    git(e.root, "checkout", "-q", feature)
    res = e.apply()
    assert res.exit_code == 0, res.output


def test_the_real_comment_is_used_when_a_forgery_follows_it(estate_factory: Callable[..., Estate]) -> None:
    e = estate_factory()
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.plan("app")
    e.fake.add_comment(
        10, "<!-- orchestrate:plan:part-1 -->\n```orchestrate-plan-set\n{}\n```", user="mallory"
    )
    e.fake.add_review(10, "bob", "APPROVED")
    res = e.apply()
    assert res.exit_code == 0, res.output
    # and the next plan edits the bot's comment, never mallory's
    e.plan("app", code=0)
    assert next(c for c in e.fake.issue_comments(10) if c["user"]["login"] == "mallory")["body"].startswith(
        "<!-- orchestrate:plan:part-1 -->\n```orchestrate-plan-set\n{}"
    )


def test_workflow_token_comments_are_recognised_as_github_actions(
    estate_factory: Callable[..., Estate],
) -> None:
    e = estate_factory()
    e.fake.workflow_token = True
    e.fake.token_login = "github-actions[bot]"
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.plan("app")
    assert e.bot_comments()
    e.fake.add_review(10, "bob", "APPROVED")
    res = e.apply()
    assert res.exit_code == 0, res.output


def test_a_fork_setting_allow_forks_gets_no_credentials(
    estate_factory: Callable[..., Estate], tmp_path: Path
) -> None:
    e = estate_factory(
        extra_files={
            "stacks/leak/stack.yaml": "",
            "stacks/leak/main.tf": 'variable "token" {\n  default = "none"\n}\noutput "t" { value = var.token }\n',
        }
    )
    text = (e.root / "orchestrate.yaml").read_text() + "approval:\n  allow_forks: true\n"
    open_pr(e, {"orchestrate.yaml": text}, head_repo="mallory/infra")
    e.env["TF_VAR_token"] = "sekret-cloud-credential"
    res = e.orchestrate("plan", "leak", "--comment", "--pr", "10", "--out", str(tmp_path / "set"))
    assert res.exit_code == 2, res.output
    assert "planned without cloud credentials" in res.output
    plan_json = (tmp_path / "set" / "leak" / "plan.json").read_text()
    assert "sekret-cloud-credential" not in plan_json
    e.fake.add_review(10, "bob", "APPROVED")
    res = e.orchestrate("apply", "--pr", "10", "--plan-set", str(tmp_path / "set"))
    assert res.exit_code == 1 and "approval.allow_forks is false" in res.output, res.output


def test_a_drift_pr_body_counts_only_when_orchestrate_opened_it(
    estate_factory: Callable[..., Estate],
) -> None:
    e = estate_factory()
    open_pr(e, {"stacks/app/main.tf": APP_V2})
    e.plan("app")
    body = str(e.bot_comments()[0]["body"])
    del e.fake.comments[int(e.bot_comments()[0]["id"])]  # type: ignore[call-overload]
    # Alice's PR on a branch named like a drift branch still is not orchestrate's.
    git(e.root, "push", "-q", "origin", "HEAD:refs/heads/orchestrate/drift/app")
    e.fake.pulls[10]["_head_ref"] = "orchestrate/drift/app"
    e.fake.pulls[10]["body"] = body
    e.fake.add_review(10, "bob", "APPROVED")
    res = e.apply()
    assert res.exit_code == 1 and "was never shown on pull request #10" in res.output, res.output
    e.fake.pulls[10]["_author"] = e.fake.token_login  # opened by orchestrate's token
    res = e.apply()
    assert res.exit_code == 0, res.output


def test_changes_requested_by_someone_without_write_access_does_not_block(
    estate_factory: Callable[..., Estate],
) -> None:
    e = estate_factory()
    _approve("bob")(e)
    e.fake.add_review(10, "mallory", "CHANGES_REQUESTED")  # anyone may review a public repository
    res = e.apply()
    assert res.exit_code == 0, res.output


def test_a_pr_dropping_a_redact_pattern_still_has_its_secret_masked(
    estate_factory: Callable[..., Estate],
) -> None:
    e = estate_factory('redact: ["hunter[0-9]"]\n')
    text = (e.root / "orchestrate.yaml").read_text().replace('redact: ["hunter[0-9]"]\n', "")
    leaky = NULL_STACK + 'output "password" { value = "hunter2" }\n'
    open_pr(e, {"orchestrate.yaml": text, "stacks/app/main.tf": leaky})
    e.plan("app")
    body = str(e.bot_comments()[0]["body"])
    assert "orchestrate.yaml: redact" in body  # the comment says the rules change only after merge
    assert "hunter2" not in e.fake.all_text_received()


def test_a_pr_pointing_github_api_url_elsewhere_is_ignored(estate_factory: Callable[..., Estate]) -> None:
    e = estate_factory()
    text = (e.root / "orchestrate.yaml").read_text() + "github:\n  api_url: http://127.0.0.1:9\n"
    open_pr(e, {"orchestrate.yaml": text, "stacks/app/main.tf": APP_V2})
    e.plan("app")  # posted on the real API: the base's github settings (none) and the environment
    res = e.apply()  # nobody approved on the real API
    assert res.exit_code == 1 and "pull request #10 has no approving review" in res.output, res.output
