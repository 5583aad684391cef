"""Every bad input a user can write ends in one clear error naming the file (and line), exit 1."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import simple_stack

Cli = Callable[..., Result]
MakeRepo = Callable[..., Path]

TF = 'output "id" { value = "x" }\n'


def assert_clean_error(result: Result, *needles: str) -> str:
    text = result.output
    assert result.exit_code == 1, text
    assert "Traceback" not in text
    assert "internal error" not in text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    # one or two lines of message after "error: "
    body = text.split("error: ", 1)[1].strip().splitlines()
    assert 1 <= len(body) <= 3, text
    return text


def test_malformed_stack_yaml_names_file_and_line(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {"stacks/a/stack.yaml": "cloud: aws\ndepends_on: [b\nenvironment: x\n", "stacks/a/main.tf": TF}
    )
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml:", "invalid YAML")


def test_unknown_key_names_key_file_and_line(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "environment: dev\ndepend_on: [b]\n", "stacks/a/main.tf": TF})
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml:2", "unknown key 'depend_on'")


def test_unknown_nested_key_in_root_config(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": "version: 1\nterraform:\n  binary: terraform\n  paralelism: 3\n",
            "stacks/a/stack.yaml": "",
            "stacks/a/main.tf": TF,
        }
    )
    assert_clean_error(cli("--repo", str(repo), "list"), "orchestrate.yaml:4", "terraform.paralelism")


def test_wrong_type_names_the_key(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "depends_on: 42\n", "stacks/a/main.tf": TF})
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml:1", "depends_on")


def test_wrong_type_in_cloud_target(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": "clouds:\n  prod:\n    provider: aws\n    region: eu-west-1\n    max_parallel: lots\n",
            "stacks/a/stack.yaml": "",
            "stacks/a/main.tf": TF,
        }
    )
    assert_clean_error(cli("--repo", str(repo), "list"), "orchestrate.yaml:5", "max_parallel")


def test_unknown_cloud_provider(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "orchestrate.yaml": "clouds:\n  x: {provider: oracle}\n",
            "stacks/a/stack.yaml": "",
            "stacks/a/main.tf": TF,
        }
    )
    assert_clean_error(cli("--repo", str(repo), "list"), "orchestrate.yaml:", "aws, gcp, azure")


def test_duplicate_yaml_key_is_an_error(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "environment: dev\nenvironment: prod\n", "stacks/a/main.tf": TF})
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml:2", "duplicate key")


def test_top_level_list_is_an_error(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "- a\n- b\n", "stacks/a/main.tf": TF})
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml:1", "mapping")


def test_duplicate_stack_id_names_both_files(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "stacks/a/stack.yaml": "name: shared\n",
            "stacks/a/main.tf": TF,
            "stacks/b/stack.yaml": "name: shared\n",
            "stacks/b/main.tf": TF,
        }
    )
    assert_clean_error(
        cli("--repo", str(repo), "list"),
        "duplicate stack id 'shared'",
        "stacks/a/stack.yaml",
        "stacks/b/stack.yaml",
    )


def test_cycle_is_named_in_order(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "stacks/alpha/stack.yaml": simple_stack(["charlie"]),
            "stacks/bravo/stack.yaml": simple_stack(["alpha"]),
            "stacks/charlie/stack.yaml": simple_stack(["bravo"]),
        }
    )
    text = assert_clean_error(cli("--repo", str(repo), "list"), "alpha -> charlie -> bravo -> alpha")
    assert "cycle" in text


def test_self_dependency_is_a_cycle(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/solo/stack.yaml": simple_stack(["solo"])})
    assert_clean_error(cli("--repo", str(repo), "list"), "solo -> solo")


def test_unknown_dependency_names_stack_file_and_id(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {"stacks/app/stack.yaml": "environment: dev\ndepends_on: [netwrk]\n", "stacks/network/stack.yaml": ""}
    )
    text = assert_clean_error(
        cli("--repo", str(repo), "list"), "stacks/app/stack.yaml:2", "'app'", "'netwrk'"
    )
    assert "Did you mean 'network'" in text


def test_unknown_input_source(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/app/stack.yaml": "inputs:\n  vpc_id: nowhere.vpc_id\n"})
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/app/stack.yaml:2", "nowhere")


def test_malformed_input_reference(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/app/stack.yaml": "inputs:\n  vpc_id: justastack\n"})
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/app/stack.yaml:", "<stack id>.<output name>")


def test_invalid_hcl_names_file_and_line(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {
            "stacks/a/stack.yaml": "",
            "stacks/a/main.tf": 'resource "null_resource" "x" {\n  triggers = {\n    a = \n  }\n}\n',
        }
    )
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/main.tf:", "invalid HCL")


def test_missing_stacks_dir(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"orchestrate.yaml": "stacks_dir: infra\n"})
    assert_clean_error(cli("--repo", str(repo), "list"), "'infra' does not exist", "stacks_dir")


def test_stacks_dir_outside_repo_is_refused(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"orchestrate.yaml": "stacks_dir: ../elsewhere\n"})
    assert_clean_error(cli("--repo", str(repo), "list"), "orchestrate.yaml:1", "stacks_dir")


def test_unreadable_stack_yaml(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/main.tf": TF}, commit=False)
    # A dangling symlink cannot be read even by root (chmod would not stop root).
    os.symlink(repo / "gone.yaml", repo / "stacks/a/stack.yaml")
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml", "cannot read")


def test_non_utf8_stack_yaml(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/main.tf": TF}, commit=False)
    (repo / "stacks/a/stack.yaml").write_bytes(b"environment: \xff\xfe\n")
    assert_clean_error(cli("--repo", str(repo), "list"), "stacks/a/stack.yaml", "UTF-8")


def test_missing_config_file_given_with_flag(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": ""})
    assert_clean_error(
        cli("--repo", str(repo), "--config", str(repo / "nope.yaml"), "list"), "nope.yaml", "does not exist"
    )


def test_invalid_redact_pattern(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"orchestrate.yaml": "redact:\n  - '(unclosed'\n", "stacks/a/stack.yaml": ""})
    assert_clean_error(cli("--repo", str(repo), "list"), "orchestrate.yaml:", "regular expression")


def test_invalid_timeout(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"orchestrate.yaml": "terraform:\n  timeout: soon\n", "stacks/a/stack.yaml": ""})
    assert_clean_error(cli("--repo", str(repo), "list"), "orchestrate.yaml:2", "duration")


def test_invalid_version_constraint(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {"orchestrate.yaml": "terraform:\n  version: 'newest please'\n", "stacks/a/stack.yaml": ""}
    )
    assert_clean_error(cli("--repo", str(repo), "list"), "orchestrate.yaml:2", "version constraint")


def test_module_source_missing(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo(
        {"stacks/a/stack.yaml": "", "stacks/a/main.tf": 'module "m" {\n  source = "../../modules/none"\n}\n'}
    )
    assert_clean_error(
        cli("--repo", str(repo), "list"), "stacks/a/main.tf:1", "module 'm'", "not a directory"
    )


def test_unknown_cloud_reference_fails_validate(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "cloud: aws-prd\n", "stacks/a/main.tf": TF})
    result = cli("--repo", str(repo), "validate")
    assert result.exit_code == 1
    assert "cloud 'aws-prd'" in result.output


def test_verbose_shows_traceback_only_on_request(make_repo: MakeRepo, cli: Cli) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "bogus: 1\n"})
    quiet = cli("--repo", str(repo), "list")
    loud = cli("--repo", str(repo), "-v", "list")
    assert "Traceback" not in quiet.output
    assert quiet.exit_code == loud.exit_code == 1
    assert "Traceback" in loud.output


@pytest.mark.parametrize("args", [["list", "--format", "xml"], ["graph", "--bogus"], ["nosuchcommand"]])
def test_usage_errors_exit_1(make_repo: MakeRepo, cli: Cli, args: list[str]) -> None:
    repo = make_repo({"stacks/a/stack.yaml": ""})
    result = cli("--repo", str(repo), *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
