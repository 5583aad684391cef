"""Changed stacks (SPEC §4) on real git repositories with a local bare remote."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from orchestrator.changes import changed_stacks, stacks_for_files
from orchestrator.errors import GitError
from orchestrator.workspace import Workspace
from tests.conftest import git, write_files

MODULE_CALL = 'module "m" {{\n  source = "{source}"\n}}\n'

ESTATE = {
    "orchestrate.yaml": (
        "version: 1\nclouds:\n"
        "  aws-a: {provider: aws, region: eu-west-1}\n"
        "  aws-b: {provider: aws, region: eu-west-1}\n"
    ),
    "README.md": "# infra\n",
    "shared/common.tfvars": 'x = "1"\n',
    "shared/other.txt": "unrelated\n",
    "modules/bucket/main.tf": 'module "inner" {\n  source = "../naming"\n}\n',
    "modules/naming/main.tf": 'output "name" {\n  value = "n"\n}\n',
    "modules/unused/main.tf": 'output "u" {\n  value = "u"\n}\n',
    # two stacks use modules/bucket (which uses modules/naming)
    "stacks/app/stack.yaml": "cloud: aws-a\n",
    "stacks/app/main.tf": MODULE_CALL.format(source="../../modules/bucket"),
    "stacks/app2/stack.yaml": "cloud: aws-b\n",
    "stacks/app2/main.tf": MODULE_CALL.format(source="../../modules/bucket"),
    # a plain stack, and its dependents (a chain)
    "stacks/net/stack.yaml": "cloud: aws-a\n",
    "stacks/net/main.tf": 'output "vpc" {\n  value = "v"\n}\n',
    "stacks/db/stack.yaml": "depends_on: [app]\n",
    "stacks/db/main.tf": 'output "db" {\n  value = "d"\n}\n',
    "stacks/api/stack.yaml": "depends_on: [db]\n",
    "stacks/api/main.tf": 'output "api" {\n  value = "a"\n}\n',
    # watches a shared tfvars file
    "stacks/watcher/stack.yaml": 'watch: ["../../shared/*.tfvars"]\n',
    "stacks/watcher/main.tf": 'output "w" {\n  value = "w"\n}\n',
    # a nested stack inside another stack's directory, and a renamed one
    "stacks/outer/stack.yaml": "{}\n",
    "stacks/outer/main.tf": 'output "o" {\n  value = "o"\n}\n',
    "stacks/outer/inner/stack.yaml": "{}\n",
    "stacks/outer/inner/main.tf": 'output "i" {\n  value = "i"\n}\n',
    "stacks/legacy/stack.yaml": "name: old-name\n",
    "stacks/legacy/main.tf": 'output "l" {\n  value = "l"\n}\n',
}


@pytest.fixture
def cloned(tmp_path: Path, make_repo: Callable[..., Path]) -> Path:
    """A clone of a bare 'origin' whose main holds ESTATE, on a feature branch."""
    seed = make_repo(ESTATE)
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    return clone


def commit(
    repo: Path, files: dict[str, str] | None = None, message: str = "change", rm: list[str] | None = None
) -> None:
    if files:
        write_files(repo, files)
    for path in rm or []:
        git(repo, "rm", "-q", "-r", path)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def changed(repo: Path, **kwargs: object) -> dict[str, list[str]]:
    ws = Workspace.load(repo, use_cache=False)
    return changed_stacks(ws, **kwargs).reasons  # type: ignore[arg-type]


def test_module_used_by_two_stacks_marks_exactly_those_and_their_dependents(cloned: Path) -> None:
    commit(cloned, {"modules/bucket/main.tf": 'module "inner" {\n  source = "../naming"\n}\n# v2\n'})
    reasons = changed(cloned)
    assert list(reasons) == ["app", "app2", "db", "api"]
    assert reasons["app"] == ["module modules/bucket (modules/bucket/main.tf)"]
    assert reasons["db"] == ["dependent of app"]
    assert reasons["api"] == ["dependent of db"]


def test_a_module_used_through_another_module_counts(cloned: Path) -> None:
    commit(cloned, {"modules/naming/main.tf": 'output "name" {\n  value = "n2"\n}\n'})
    assert set(changed(cloned, include_dependents=False)) == {"app", "app2"}


def test_an_unused_module_or_a_file_outside_stacks_marks_nothing(cloned: Path) -> None:
    commit(cloned, {"modules/unused/main.tf": "# x\n", "README.md": "# new\n", "shared/other.txt": "y\n"})
    assert changed(cloned) == {}


def test_no_dependents_leaves_them_out(cloned: Path) -> None:
    commit(cloned, {"stacks/app/extra.tf": "# x\n"})
    assert list(changed(cloned, include_dependents=False)) == ["app"]
    assert list(changed(cloned)) == ["app", "db", "api"]


def test_watch_globs_relative_to_the_stack(cloned: Path) -> None:
    commit(cloned, {"shared/common.tfvars": 'x = "2"\n'})
    assert changed(cloned) == {"watcher": ["watch ../../shared/*.tfvars (shared/common.tfvars)"]}
    commit(cloned, {"shared/new.tfvars": 'y = "2"\n'})
    assert list(changed(cloned)) == ["watcher"]


def test_double_star_watch_globs(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(
        {
            "stacks/a/stack.yaml": 'watch: ["../../config/**/*.json", "/global.yaml"]\n',
            "stacks/a/main.tf": "",
            "config/x/y/z.json": "{}",
            "global.yaml": "a: 1\n",
        }
    )
    commit(repo, {"config/x/y/z.json": '{"a": 1}'})
    assert list(changed(repo)) == ["a"]
    commit(repo, {"config/top.json": "{}"})
    assert list(changed(repo)) == ["a"]
    commit(repo, {"global.yaml": "a: 2\n"})
    assert changed(repo)["a"] == ["watch /global.yaml (global.yaml)"]
    commit(repo, {"config/readme.md": "x"})
    assert changed(repo) == {}


def test_stack_yaml_change_counts(cloned: Path) -> None:
    commit(cloned, {"stacks/net/stack.yaml": "cloud: aws-a\nenvironment: prod\n"})
    assert changed(cloned) == {"net": ["changed file stacks/net/stack.yaml"]}


def test_a_file_in_a_nested_stack_belongs_to_the_inner_stack_only(cloned: Path) -> None:
    commit(cloned, {"stacks/outer/inner/main.tf": 'output "i" {\n  value = "i2"\n}\n'})
    assert list(changed(cloned)) == ["outer/inner"]


def test_a_stack_whose_name_is_a_prefix_of_another_is_not_marked(cloned: Path) -> None:
    commit(cloned, {"stacks/app2/variables.tf": "# x\n"})
    assert list(changed(cloned)) == ["app2"]


def test_deleted_stack_is_reported_as_deleted_and_not_planned(cloned: Path) -> None:
    commit(cloned, rm=["stacks/net"])
    ws = Workspace.load(cloned, use_cache=False)
    result = changed_stacks(ws)
    assert result.deleted == ["net"]
    assert "net" not in result.reasons and result.reasons == {}


def test_deleted_stack_with_a_name_is_reported_by_that_name(cloned: Path) -> None:
    commit(cloned, rm=["stacks/legacy"])
    ws = Workspace.load(cloned, use_cache=False)
    assert changed_stacks(ws).deleted == ["old-name"]


def test_stack_turned_into_a_plain_directory_is_deleted(cloned: Path) -> None:
    commit(cloned, rm=["stacks/net/stack.yaml"])
    ws = Workspace.load(cloned, use_cache=False)
    assert changed_stacks(ws).deleted == ["net"]


def test_renamed_stack_directory_is_one_new_stack_and_one_deleted(cloned: Path) -> None:
    git(cloned, "mv", "stacks/net", "stacks/network")
    commit(cloned)
    ws = Workspace.load(cloned, use_cache=False)
    result = changed_stacks(ws)
    assert list(result.reasons) == ["network"]
    assert result.deleted == ["net"]


def test_file_moved_between_stacks_marks_both(cloned: Path) -> None:
    git(cloned, "mv", "stacks/net/main.tf", "stacks/watcher/net.tf")
    commit(cloned)
    assert set(changed(cloned)) == {"net", "watcher"}


def test_uncommitted_staged_unstaged_and_untracked_changes_count(cloned: Path) -> None:
    write_files(cloned, {"stacks/net/main.tf": 'output "vpc" {\n  value = "v2"\n}\n'})  # unstaged
    write_files(cloned, {"stacks/outer/main.tf": "# staged\n"})
    git(cloned, "add", "stacks/outer/main.tf")
    write_files(cloned, {"stacks/watcher/new.tf": "# untracked\n"})
    assert set(changed(cloned)) == {"net", "outer", "watcher"}


def test_default_base_is_the_merge_base_with_origin_main(cloned: Path, tmp_path: Path) -> None:
    # main moves on after the branch was cut: its changes are not the branch's
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(other))
    commit(other, {"stacks/net/main.tf": "# changed on main\n"})
    git(other, "push", "-q", "origin", "main")
    git(cloned, "fetch", "-q", "origin")
    commit(cloned, {"stacks/app/main.tf": MODULE_CALL.format(source="../../modules/bucket") + "# x\n"})
    commit(cloned, {"stacks/outer/main.tf": "# two commits on the branch\n"})
    ws = Workspace.load(cloned, use_cache=False)
    result = changed_stacks(ws, include_dependents=False)
    assert set(result.reasons) == {"app", "outer"}
    assert result.base == git(cloned, "merge-base", "HEAD", "origin/main")
    # --base origin/main means the same: the branch's changes since it left main (like GitHub's
    # PR diff), never main's own later changes, which the branch's older code would revert
    assert set(changed(cloned, base="origin/main", include_dependents=False)) == {"app", "outer"}
    # a base with no common history is compared directly
    git(cloned, "checkout", "-q", "--orphan", "lonely")
    commit(cloned, {"stacks/net/main.tf": "# only in the orphan\n"}, message="orphan")
    git(cloned, "checkout", "-q", "feature")
    assert "net" in changed(cloned, base="lonely", include_dependents=False)


def test_without_a_remote_the_base_is_the_previous_commit(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "{}\n", "stacks/a/main.tf": "", "stacks/b/stack.yaml": "{}\n"})
    commit(repo, {"stacks/b/main.tf": "# b\n"})
    commit(repo, {"stacks/a/main.tf": "# a\n"})
    assert list(changed(repo)) == ["a"]
    assert set(changed(repo, base="HEAD~2")) == {"a", "b"}


def test_a_single_commit_marks_every_stack(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "{}\n", "stacks/b/stack.yaml": "{}\n"})
    assert set(changed(repo)) == {"a", "b"}


def test_unknown_base_is_a_git_error(cloned: Path) -> None:
    ws = Workspace.load(cloned, use_cache=False)
    with pytest.raises(GitError, match="unknown git ref 'origin/nope'"):
        changed_stacks(ws, base="origin/nope")


def test_not_a_git_repository_is_a_git_error(tmp_path: Path) -> None:
    write_files(tmp_path / "plain", {"stacks/a/stack.yaml": "{}\n"})
    ws = Workspace.load(tmp_path / "plain", use_cache=False)
    with pytest.raises(GitError, match="not inside a git repository"):
        changed_stacks(ws)


def test_a_repository_without_commits_is_a_git_error(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "{}\n"}, commit=False)
    with pytest.raises(GitError, match="no commits"):
        changed_stacks(Workspace.load(repo, use_cache=False))


def test_root_config_change_of_one_cloud_target_marks_its_stacks(cloned: Path) -> None:
    text = ESTATE["orchestrate.yaml"].replace(
        "aws-b: {provider: aws, region: eu-west-1}", "aws-b: {provider: aws, region: eu-central-1}"
    )
    commit(cloned, {"orchestrate.yaml": text})
    assert changed(cloned, include_dependents=False) == {
        "app2": ["orchestrate.yaml: cloud target 'aws-b' changed"]
    }


def test_root_config_backend_change_marks_every_stack(cloned: Path) -> None:
    commit(cloned, {"orchestrate.yaml": ESTATE["orchestrate.yaml"] + "backend: {type: local, config: {}}\n"})
    ws = Workspace.load(cloned, use_cache=False)
    assert set(changed(cloned)) == set(ws.stacks)


def test_root_config_cosmetic_change_marks_nothing(cloned: Path) -> None:
    commit(cloned, {"orchestrate.yaml": "# a comment\n" + ESTATE["orchestrate.yaml"] + "redact: ['x+']\n"})
    assert changed(cloned) == {}


def test_repository_root_below_the_git_top(tmp_path: Path, make_repo: Callable[..., Path]) -> None:
    repo = make_repo(
        {
            "infra/orchestrate.yaml": "version: 1\n",
            "infra/stacks/a/stack.yaml": "{}\n",
            "infra/stacks/b/stack.yaml": "{}\n",
            "infra/modules/m/main.tf": "",
            "infra/stacks/b/main.tf": 'module "m" {\n  source = "../../modules/m"\n}\n',
            "app/src/main.py": "print()\n",
        }
    )
    commit(repo, {"infra/modules/m/main.tf": "# v2\n", "app/src/main.py": "print(1)\n"})
    assert changed(repo / "infra") == {"b": ["module modules/m (modules/m/main.tf)"]}


def test_stacks_for_files_is_pure_and_reports_every_reason(cloned: Path) -> None:
    ws = Workspace.load(cloned, use_cache=False)
    reasons = stacks_for_files(
        ws.stacks, ["stacks/app/main.tf", "modules/bucket/main.tf", "modules/naming/x.tf"]
    )
    assert reasons["app"] == [
        "changed file stacks/app/main.tf",
        "module modules/bucket (modules/bucket/main.tf)",
        "module modules/naming (modules/naming/x.tf)",
    ]
    assert set(reasons) == {"app", "app2"}


def test_list_changed_json_says_why_each_stack_is_included(cloned: Path, cli: Callable[..., Result]) -> None:
    commit(cloned, {"modules/bucket/main.tf": "# v2\n"}, rm=["stacks/net"])
    result = cli("--repo", str(cloned), "list", "--changed", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {s["id"]: s["included_because"] for s in data["stacks"]} == {
        "app": ["module modules/bucket (modules/bucket/main.tf)"],
        "app2": ["module modules/bucket (modules/bucket/main.tf)"],
        "db": ["dependent of app"],
        "api": ["dependent of db"],
    }
    assert data["deleted"] == ["net"]


def test_graph_changed_mermaid_styles_changed_and_dependent(cloned: Path, cli: Callable[..., Result]) -> None:
    commit(cloned, {"stacks/app/x.tf": "# x\n"})
    result = cli("--repo", str(cloned), "graph", "--changed", "--format", "mermaid")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "classDef changed" in out and "classDef dependent" in out
    assert '"app"' in out and '"api"' in out and '"net"' not in out


def test_var_file_outside_the_stack_marks_it(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(
        {
            "stacks/a/stack.yaml": 'var_files: ["../../env/prod.tfvars", "local.tfvars"]\n',
            "stacks/a/main.tf": "",
            "stacks/a/local.tfvars": "",
            "stacks/b/stack.yaml": "{}\n",
            "env/prod.tfvars": 'x = "1"\n',
            "env/dev.tfvars": 'x = "1"\n',
        }
    )
    commit(repo, {"env/prod.tfvars": 'x = "2"\n'})
    assert changed(repo) == {"a": ["var file ../../env/prod.tfvars (env/prod.tfvars)"]}
    commit(repo, {"env/dev.tfvars": 'x = "2"\n'})
    assert changed(repo) == {}


def test_terraform_working_files_are_not_changes(cloned: Path) -> None:
    write_files(
        cloned,
        {
            "stacks/net/.terraform/providers/x": "binary",
            "stacks/net/terraform.tfstate": "{}",
            "stacks/net/plan.tfplan": "x",
            ".orchestrate/state/net/terraform.tfstate": "{}",
        },
    )
    assert changed(cloned) == {}


def test_shallow_clone_without_history_warns_and_plans_everything(
    cloned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # what actions/checkout does by default: one commit of the PR branch, no origin/main
    commit(cloned, {"stacks/net/main.tf": "# x\n"})
    git(cloned, "push", "-q", "origin", "feature")
    shallow = tmp_path / "shallow"
    url = f"file://{tmp_path / 'origin.git'}"
    git(tmp_path, "clone", "-q", "--depth", "1", "--single-branch", "--branch", "feature", url, str(shallow))
    ws = Workspace.load(shallow, use_cache=False)
    result = changed_stacks(ws)
    assert set(result.reasons) == set(ws.stacks)
    assert result.warnings and "shallow" in result.warnings[0]
    assert "fetch-depth: 0" in capsys.readouterr().err


def test_github_base_ref_names_the_branch_to_compare_with(
    cloned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.changes import default_base
    from orchestrator.git import Repo

    # a release branch on origin; the PR targets it
    git(cloned, "checkout", "-q", "main")
    commit(cloned, {"stacks/net/main.tf": "# release only\n"})
    git(cloned, "push", "-q", "origin", "main:release")
    git(cloned, "checkout", "-q", "-b", "hotfix")
    commit(cloned, {"stacks/outer/main.tf": "# fix\n"})
    git(cloned, "fetch", "-q", "origin")
    repo = Repo.open(cloned, hint="")
    release = git(cloned, "rev-parse", "origin/release")
    assert default_base(repo, {"GITHUB_BASE_REF": "release"}) == release
    assert default_base(repo, {}) == git(cloned, "merge-base", "HEAD", "origin/main")
    monkeypatch.setenv("GITHUB_BASE_REF", "release")
    assert list(changed(cloned, include_dependents=False)) == ["outer"]
