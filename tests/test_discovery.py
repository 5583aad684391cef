"""Discovery: stacks, modules used recursively, and the content-hash cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from orchestrator.discovery import CACHE_VERSION
from orchestrator.hcl import Unresolved, parse_terraform
from orchestrator.workspace import Workspace

MakeRepo = Callable[..., Path]


def test_local_modules_are_followed_recursively(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "stacks/app/stack.yaml": "",
            "stacks/app/main.tf": 'module "a" {\n  source = "../../modules/a"\n}\nmodule "r" {\n  source = "hashicorp/x/aws"\n}\n',
            "modules/a/main.tf": 'module "b" {\n  source = "./inner"\n}\n',
            "modules/a/inner/main.tf": 'module "c" {\n  source = "../../c"\n}\n',
            "modules/c/main.tf": 'output "x" { value = 1 }\n',
        }
    )
    ws = Workspace.load(repo)
    assert ws.stacks["app"].module_paths == ("modules/a", "modules/a/inner", "modules/c")


def test_module_loops_terminate(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "stacks/app/stack.yaml": "",
            "stacks/app/main.tf": 'module "a" {\n  source = "../../modules/a"\n}\n',
            "modules/a/main.tf": 'module "b" {\n  source = "../b"\n}\n',
            "modules/b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
        }
    )
    assert Workspace.load(repo).stacks["app"].module_paths == ("modules/a", "modules/b")


def test_cache_is_used_and_invalidated_by_content(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "stacks/a/stack.yaml": "environment: dev\n",
            "stacks/a/main.tf": 'output "x" { value = 1 }\n',
        }
    )
    first = Workspace.load(repo)
    assert first.stacks["a"].tf.outputs == {"x"}
    cache = repo / ".orchestrate" / "cache" / f"discovery-v{CACHE_VERSION}.json"
    data = json.loads(cache.read_text())
    assert len(data["hcl"]) == 1
    assert len(data["yaml"]) == 1
    (repo / "stacks/a/main.tf").write_text('output "y" { value = 2 }\n')
    (repo / "stacks/a/stack.yaml").write_text("environment: prod\n")
    second = Workspace.load(repo)
    assert second.stacks["a"].tf.outputs == {"y"}
    assert second.stacks["a"].environment == "prod"
    # entries of files that no longer exist are dropped
    assert len(json.loads(cache.read_text())["hcl"]) == 1


def test_corrupt_cache_is_ignored(make_repo: MakeRepo) -> None:
    repo = make_repo({"stacks/a/stack.yaml": "", "stacks/a/main.tf": 'output "x" { value = 1 }\n'})
    Workspace.load(repo).stacks  # noqa: B018
    cache = repo / ".orchestrate" / "cache" / f"discovery-v{CACHE_VERSION}.json"
    cache.write_text("{not json")
    assert Workspace.load(repo).stacks["a"].tf.outputs == {"x"}


def test_hcl_reader_extracts_literals_and_keeps_expressions() -> None:
    info = parse_terraform(
        b'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "a\\"b"\n  }\n'
        b'  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        b'data "terraform_remote_state" "x" {\n  backend = "gcs"\n  config = { bucket = "${var.b}", prefix = "p" }\n}\n'
        b'resource "aws_s3_bucket" "logs" {\n  bucket = "x"\n}\n',
        "main.tf",
    )
    assert info.backend is not None
    assert info.backend.config == {"bucket": "b", "key": 'a"b'}
    assert info.required_providers == {"aws": "hashicorp/aws"}
    (rs,) = info.remote_states
    assert rs.backend == "gcs"
    assert isinstance(rs.config["bucket"], Unresolved)
    assert rs.config["prefix"] == "p"
    resources = [(d.type, d.name, d.line) for d in info.declarations if d.kind == "resource"]
    assert resources == [("aws_s3_bucket", "logs", 14)]


def test_hcl_fallback_accepts_what_tree_sitter_misreads() -> None:
    # A heredoc followed by a quoted-key object: valid HCL that tree-sitter-hcl flags.
    text = b'locals {\n  f = <<EOT\nhello\nEOT\n}\noutput "o" { value = local.f }\n'
    info = parse_terraform(text, "x.tf")
    assert info.outputs == {"o"}


def test_hcl_reader_reads_files_that_start_with_a_comment() -> None:
    info = parse_terraform(
        b'# a comment first\n/* and a block */\nmodule "m" {\n  source = "../m"\n}\n', "x.tf"
    )
    assert [m.source for m in info.modules] == ["../m"]


def test_example_estate_modules_are_followed() -> None:
    root = Path(__file__).resolve().parents[1]
    ws = Workspace.load(root, use_cache=False)
    assert ws.stacks["aws/prod/storage"].module_paths == ("modules/aws-bucket", "modules/labels")
