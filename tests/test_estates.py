"""Real repository layouts (issue 14 bugs) and stacks kept in their lane (SPEC 11, issue 12 item 7)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from orchestrator.workspace import Workspace
from tests.conftest import git

Cli = Callable[..., Result]
MakeRepo = Callable[..., Path]
TF = 'output "x" { value = 1 }\n'


def clean_error(result: Result, *needles: str) -> str:
    text = result.output
    assert result.exit_code == 1, text
    assert "Traceback" not in text and "internal error" not in text, text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    return text


# ---------------------------------------------------------------- issue 14 bugs


def test_bug1_a_stack_without_terraform_code_is_refused_naming_what_it_found(
    make_repo: MakeRepo, cli: Cli
) -> None:
    repo = make_repo(
        {
            "stacks/live/stack.yaml": "backend: {type: local, config: {path: x.tfstate}}\n",
            "stacks/live/terragrunt.hcl": 'terraform { source = "../mod" }\n',
            "stacks/ok/stack.yaml": "",
            "stacks/ok/main.tf": TF,
        }
    )
    clean_error(
        cli("--repo", str(repo), "plan", "live"),
        "stacks/live",
        "no Terraform configuration",
        "Terragrunt stacks are not run by orchestrate",
    )
    # an emptied stack too, and `drift` refuses as well
    (repo / "stacks/ok/main.tf").unlink()
    clean_error(cli("--repo", str(repo), "drift", "ok"), "stacks/ok", "no Terraform configuration")
    clean_error(cli("--repo", str(repo), "validate", "--skip-terraform"), "no Terraform configuration")


def test_bug2_a_module_at_the_repository_root_marks_its_callers_changed(
    make_repo: MakeRepo, cli: Cli
) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": "stacks_dir: examples\n",
            "main.tf": 'variable "n" {\n  default = 1\n}\n',
            "examples/simple/stack.yaml": "",
            "examples/simple/main.tf": 'module "root" {\n  source = "../../"\n}\n',
            "README.md": "x\n",
        }
    )
    assert Workspace.load(repo).stacks["simple"].module_paths == ("",)
    with (repo / "main.tf").open("a") as fh:
        fh.write("# a change\n")
    res = cli("--repo", str(repo), "list", "--changed", "--base", "HEAD", "--format", "json")
    assert res.exit_code == 0, res.output
    assert '"simple"' in res.stdout
    # a file in another directory is not part of the root module
    git(repo, "checkout", "--", "main.tf")
    (repo / "docs").mkdir()
    (repo / "docs/x.md").write_text("y\n")
    res = cli("--repo", str(repo), "list", "--changed", "--base", "HEAD", "--format", "json")
    assert '"simple"' not in res.stdout


def test_bug3_ids_are_paths_with_stacks_dir_dot(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": "stacks_dir: .\n",
            "stack.yaml": "",
            "main.tf": TF,
            "aws/development/stack.yaml": "",
            "aws/development/main.tf": TF,
            "gcp/development/stack.yaml": "",
            "gcp/development/main.tf": TF,
        }
    )
    stacks = Workspace.load(repo).stacks
    assert sorted(stacks) == [".", "aws/development", "gcp/development"]
    assert stacks["."].slug == "root"
    assert stacks["."].path == ""


def test_bug9_tf_json_files_are_read_and_their_modules_watched(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "stacks/app/stack.yaml": "",
            "stacks/app/main.tf.json": '{"module": {"m": {"source": "../../modules/m"}},'
            ' "output": {"o": {"value": 1}}}\n',
            "modules/m/main.tf": TF,
        }
    )
    stack = Workspace.load(repo).stacks["app"]
    assert stack.error is None
    assert stack.module_paths == ("modules/m",)
    assert stack.tf_files == ("stacks/app/main.tf.json",)
    assert stack.tf.outputs == {"o"}


def test_bug10_a_bad_module_source_fails_only_its_stack(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "stacks/bad/stack.yaml": "environment: prod\n",
            "stacks/bad/main.tf": 'module "m" {\n  source = "../../nowhere"\n}\n',
            "stacks/good/stack.yaml": "environment: dev\n",
            "stacks/good/main.tf": TF,
        }
    )
    res = cli("--repo", str(repo), "list", "--environment", "dev")
    assert res.exit_code == 0, res.output
    assert "good" in res.output
    clean_error(cli("--repo", str(repo), "plan", "bad"), "stacks/bad/main.tf:1", "nowhere")
    clean_error(cli("--repo", str(repo), "list"), "stacks/bad/main.tf:1")


def test_bug8_computed_remote_state_in_a_local_module_warns(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "stacks/app/stack.yaml": "",
            "stacks/app/main.tf": 'module "m" {\n  source = "../../modules/m"\n}\n',
            "modules/m/main.tf": 'data "terraform_remote_state" "up" {\n  backend = "local"\n'
            "  config = { path = data.x.y }\n}\n",
        }
    )
    res = cli("--repo", str(repo), "validate", "--skip-terraform")
    assert res.exit_code == 0, res.output
    assert "modules/m/main.tf:1: data.terraform_remote_state.up" in res.output
    assert "depends_on" in res.output


# ---------------------------------------------------------------- lanes (issue 12 item 7, SPEC 11)


@pytest.mark.parametrize(
    "key,value",
    [("var_files", "../../../etc/shadow"), ("var_files", "/etc/shadow"), ("watch", "../../../**")],
)
def test_var_files_and_watch_outside_the_repository_are_refused(
    make_repo: MakeRepo, cli: Cli, key: str, value: str
) -> None:
    repo = make_repo({"stacks/a/stack.yaml": f"{key}: [{value!r}]\n", "stacks/a/main.tf": TF})
    clean_error(cli("--repo", str(repo), "plan", "a"), "stacks/a/stack.yaml", "outside the repository")


def test_a_var_file_symlinked_outside_the_repository_is_refused(
    make_repo: MakeRepo, cli: Cli, tmp_path: Path
) -> None:
    secret = tmp_path / "shadow"
    secret.write_text('x = "root:hash"\n')
    repo = make_repo({"stacks/a/stack.yaml": "var_files: [prod.tfvars]\n", "stacks/a/main.tf": TF})
    (repo / "stacks/a/prod.tfvars").symlink_to(secret)
    text = clean_error(cli("--repo", str(repo), "plan", "a"), "outside the repository")
    assert "root:hash" not in text


def test_ids_with_dot_dot_segments_are_refused(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "name: x/../y\n", "stacks/a/main.tf": TF})
    clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml", "'..' path segment")


def test_two_ids_with_one_slug_are_refused(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "stacks/c/d/stack.yaml": "",
            "stacks/c/d/main.tf": TF,
            "stacks/c-d/stack.yaml": "",
            "stacks/c-d/main.tf": TF,
        }
    )
    clean_error(cli("--repo", str(repo), "list"), "'c-d' and 'c/d'", "same file-name form")


def test_two_stacks_writing_one_state_are_named(make_repo: MakeRepo, cli: Cli) -> None:
    backend = 'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "shared.tfstate"\n  }\n}\n'
    repo = make_repo(
        {
            "stacks/a/stack.yaml": "",
            "stacks/a/main.tf": backend,
            "stacks/b/stack.yaml": "",
            "stacks/b/main.tf": backend,
        }
    )
    clean_error(cli("--repo", str(repo), "list"), "stacks 'a' and 'b' use the same state", "shared.tfstate")


def test_a_stacks_dir_symlinked_outside_the_repository_is_refused(
    make_repo: MakeRepo, cli: Cli, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "a").mkdir(parents=True)
    (outside / "a/stack.yaml").write_text("")
    (outside / "a/main.tf").write_text(TF)
    repo = make_repo({"README.md": "x\n"})
    (repo / "stacks").symlink_to(outside)
    clean_error(cli("--repo", str(repo), "list"), "symbolic link to outside the repository")


def test_a_module_symlinked_outside_the_repository_is_refused(
    make_repo: MakeRepo, cli: Cli, tmp_path: Path
) -> None:
    outside = tmp_path / "mod"
    outside.mkdir()
    (outside / "main.tf").write_text(TF)
    repo = make_repo({"stacks/a/stack.yaml": "", "stacks/a/main.tf": 'module "m" {\n  source = "./m"\n}\n'})
    (repo / "stacks/a/m").symlink_to(outside)
    clean_error(cli("--repo", str(repo), "plan", "a"), "outside the repository")


def test_non_utf8_names_get_a_clear_error(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "", "stacks/a/main.tf": TF})
    os.mkdir(os.path.join(os.fsencode(repo / "stacks"), b"caf\xe9"))
    clean_error(cli("--repo", str(repo), "list"), "is not valid UTF-8", "stacks")


def test_bug12_a_plan_error_names_its_log_without_nested_parentheses() -> None:
    from orchestrator.errors import one_line
    from orchestrator.terraform.runner import classify_failure

    exc = classify_failure(
        "plan", "Error: Failed to read variables file\n", where="a", log=Path("<plan set>/a/log.txt")
    )
    assert one_line(exc) == "terraform plan failed: Failed to read variables file (log: <plan set>/a/log.txt)"
