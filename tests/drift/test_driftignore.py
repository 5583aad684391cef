"""Ignore rules: driftctl's syntax, address forms, wildcards, negation, escaping."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.drift.driftignore import (
    IgnoreRules,
    load_driftignore,
    parse_rules,
    resource_from_address,
    split_address,
    split_escaped,
    stack_rules,
    wildcard_match,
)
from orchestrator.drift.model import Resource
from orchestrator.errors import ConfigError


def rules(*lines: str) -> IgnoreRules:
    return IgnoreRules(tuple(parse_rules(lines, ".driftignore")))


LOGS = Resource("aws_s3_bucket.logs", "aws_s3_bucket", "logs", None, None, "acme-logs", {})
MOD = Resource(
    "module.assets.aws_s3_bucket.this", "aws_s3_bucket", "this", "module.assets", None, "acme-assets", {}
)
COUNTED = Resource("aws_sqs_queue.q[1]", "aws_sqs_queue", "q", None, 1, "https://q/1", {})
DOTTED = Resource("aws_s3_bucket.site", "aws_s3_bucket", "site", None, None, "www.example.com", {})


def test_type_and_cloud_id_like_driftctl() -> None:
    r = rules("aws_s3_bucket.acme-logs")
    assert r.ignores_resource(LOGS)
    assert not r.ignores_resource(MOD)


def test_address_forms_including_modules_and_instances() -> None:
    assert rules("aws_s3_bucket.logs").ignores_resource(LOGS)
    assert rules("module.assets.aws_s3_bucket.this").ignores_resource(MOD)
    assert not rules("aws_s3_bucket.this").ignores_resource(MOD)  # a module resource is named in full
    assert rules("aws_sqs_queue.q").ignores_resource(COUNTED)  # every instance
    assert rules("aws_sqs_queue.q[1]").ignores_resource(COUNTED)
    assert not rules("aws_sqs_queue.q[0]").ignores_resource(COUNTED)


def test_wildcards() -> None:
    assert rules("*").ignores_resource(LOGS)
    assert rules("aws_s3_*").ignores_resource(LOGS)
    assert rules("aws_s3_bucket.*").ignores_resource(MOD)
    assert rules("aws_s3_bucket.acme-*").ignores_resource(LOGS)
    assert rules("aws_s3_bucket.**").ignores_resource(LOGS)
    assert not rules("aws_sqs_*").ignores_resource(LOGS)
    assert wildcard_match("abcabc", "a*c")
    assert not wildcard_match("a", "a*a")
    assert wildcard_match("x[1]", "x[1]")  # brackets are literal, not a class


def test_attribute_paths() -> None:
    r = rules("aws_s3_bucket.logs.tags.LastScanned", "aws_s3_bucket.*.versioning")
    assert not r.ignores_resource(LOGS)
    assert r.ignores_path(LOGS, ("tags", "LastScanned"))
    assert not r.ignores_path(LOGS, ("tags", "owner"))
    assert r.ignores_path(MOD, ("versioning", 0, "enabled"))
    assert rules("aws_s3_bucket.logs.tags").ignores_path(LOGS, ("tags", "anything"))


def test_negation_last_match_wins_like_gitignore() -> None:
    r = rules("*", "!aws_s3_bucket.*")
    assert r.ignores_resource(COUNTED)
    assert not r.ignores_resource(LOGS)
    r = rules("!aws_s3_bucket.acme-logs", "aws_s3_bucket.*")
    assert r.ignores_resource(LOGS)  # the later rule wins
    r = rules("aws_s3_bucket.*.tags", "!aws_s3_bucket.*.tags.owner")
    assert r.ignores_path(LOGS, ("tags", "env"))
    assert not r.ignores_path(LOGS, ("tags", "owner"))


def test_escaped_dots_in_ids() -> None:
    assert split_escaped(r"aws_s3_bucket.www\.example\.com.tags") == [
        "aws_s3_bucket",
        "www.example.com",
        "tags",
    ]
    assert split_escaped(r"a.b\\.c") == ["a", "b\\", "c"]
    assert rules(r"aws_s3_bucket.www\.example\.com").ignores_resource(DOTTED)
    assert not rules("aws_s3_bucket.www").ignores_resource(DOTTED)
    assert rules("aws_vpc.vpc-1.tags.kubernetes\\.io/role").ignores_path(
        Resource("aws_vpc.v", "aws_vpc", "v", None, None, "vpc-1", {}), ("tags", "kubernetes.io/role")
    )


def test_unmanaged_use_type_and_id() -> None:
    r = rules("aws_s3_bucket.shadow-*", "aws_iam_role.*", "!aws_iam_role.keep-me")
    assert r.ignores_unmanaged("aws_s3_bucket", "shadow-1")
    assert r.ignores_unmanaged("aws_iam_role", "x")
    assert not r.ignores_unmanaged("aws_iam_role", "keep-me")
    assert not r.ignores_unmanaged("aws_s3_bucket", "other")


def test_comments_blank_lines_and_invalid_rules(tmp_path: Path) -> None:
    (tmp_path / ".driftignore").write_text("# comment\n\n  aws_s3_bucket.logs  \n")
    assert load_driftignore(tmp_path).ignores_resource(LOGS)
    assert load_driftignore(tmp_path / "nowhere") == IgnoreRules()
    for bad in ("!", "aws_s3_bucket..x", ".x"):
        (tmp_path / ".driftignore").write_text(f"aws_vpc.*\n{bad}\n")
        with pytest.raises(ConfigError) as err:
            load_driftignore(tmp_path)
        assert err.value.where == ".driftignore:2"


def test_stack_rules_name_their_source() -> None:
    with pytest.raises(ConfigError) as err:
        stack_rules(["aws_s3_bucket.ok", "bad..rule"], "stacks/a/stack.yaml")
    assert err.value.where == "stacks/a/stack.yaml drift.ignore[1]"


def test_addresses_split_outside_brackets_and_quotes() -> None:
    assert split_address('module.a["x.y"].aws_s3_bucket.b[0]') == [
        "module",
        'a["x.y"]',
        "aws_s3_bucket",
        "b[0]",
    ]
    r = resource_from_address('module.a["x.y"].aws_s3_bucket.b["k"]', "aws_s3_bucket", "id-1")
    assert (r.module, r.name, r.index_key, r.id) == ('module.a["x.y"]', "b", "k", "id-1")
