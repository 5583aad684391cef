"""Comparison rules: what is drift and what is only a different spelling of the same thing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.drift.compare import atoms_to_rules, compare, norm_policy, rule_atoms
from orchestrator.drift.model import Diff
from tests.drift import statefiles as sf


def paths(diffs: list[Diff]) -> list[str]:
    return [d.path_text for d in diffs]


def test_live_tags_are_compared_with_tags_all_and_aws_reserved_keys_are_ignored() -> None:
    state = {"tags": {"owner": "a"}, "tags_all": {"owner": "a", "managed-by": "tf"}}
    live = {"tags": {"owner": "a", "managed-by": "tf", "aws:cloudformation:stack-name": "x"}}
    assert compare("aws_sqs_queue", state, live) == []
    live["tags"]["owner"] = "b"
    live["tags"]["extra"] = "y"
    del live["tags"]["managed-by"]
    assert [d.to_dict() for d in compare("aws_sqs_queue", state, live)] == [
        {"path": "tags.extra", "expected": None, "actual": "y"},
        {"path": "tags.managed-by", "expected": "tf", "actual": None},
        {"path": "tags.owner", "expected": "a", "actual": "b"},
    ]


def test_null_tags_equal_no_tags() -> None:
    assert compare("aws_vpc", {"tags": None, "tags_all": {}}, {"tags": {}}) == []


def test_policies_are_compared_as_data() -> None:
    written = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:a", "arn:b"]},
        }
    )
    returned = {
        "Statement": [{"Resource": ["arn:b", "arn:a"], "Action": ["s3:GetObject"], "Effect": "Allow"}],
        "Version": "2012-10-17",
    }
    assert norm_policy(written) == norm_policy(json.dumps(returned))
    state = {"assume_role_policy": written}
    assert compare("aws_iam_role", state, {"assume_role_policy": json.dumps(returned)}) == []
    returned["Statement"][0]["Action"] = ["s3:GetObject", "s3:PutObject"]
    (diff,) = compare("aws_iam_role", state, {"assume_role_policy": json.dumps(returned)})
    assert diff.path == ("assume_role_policy",)
    assert diff.actual["Statement"][0]["Action"] == ["s3:GetObject", "s3:PutObject"]


def test_empty_policy_spellings_are_equal() -> None:
    for a, b in [("", None), ("{}", ""), (None, "{}")]:
        assert compare("aws_sqs_queue", {"policy": a}, {"policy": b}) == []


def test_provider_defaults_fill_unset_values() -> None:
    state = {"delay_seconds": None, "kms_master_key_id": None, "fifo_queue": None}
    live = {"delay_seconds": 0, "kms_master_key_id": "", "fifo_queue": False}
    assert compare("aws_sqs_queue", state, live) == []
    assert paths(compare("aws_sqs_queue", state, {"delay_seconds": 5})) == ["delay_seconds"]


def test_attributes_absent_from_the_state_are_not_compared() -> None:
    # Written by an older provider that had no managed_policy_arns: attachments are not drift.
    assert compare("aws_iam_role", {"name": "r"}, {"managed_policy_arns": ["arn:p"]}) == []
    assert paths(
        compare("aws_iam_role", {"managed_policy_arns": []}, {"managed_policy_arns": ["arn:p"]})
    ) == ["managed_policy_arns"]


def test_azure_location_spellings() -> None:
    assert compare("azurerm_resource_group", {"location": "West Europe"}, {"location": "westeurope"}) == []
    assert compare("azurerm_storage_account", {"location": "westeurope"}, {"location": "West Europe"}) == []
    (diff,) = compare("azurerm_storage_account", {"location": "westeurope"}, {"location": "northeurope"})
    assert diff.to_dict() == {"path": "location", "expected": "westeurope", "actual": "northeurope"}


def test_security_group_rules_compare_as_sets_of_permissions() -> None:
    grouped = [sf.sg_rule("tcp", 443, 443, ["10.0.0.0/8", "192.168.0.0/16"], "web")]
    split = [
        sf.sg_rule("tcp", 443, 443, ["192.168.0.0/16"], "web"),
        sf.sg_rule("tcp", 443, 443, ["10.0.0.0/8"], "web"),
    ]
    assert compare("aws_security_group", {"ingress": grouped}, {"ingress": split}) == []
    assert (
        compare(
            "aws_security_group",
            {"egress": [sf.sg_rule("-1", 0, 0, ["0.0.0.0/0"])]},
            {"egress": [sf.sg_rule("all", 0, 65535, ["0.0.0.0/0"])]},
        )
        == []
    )
    widened = [*split, sf.sg_rule("6", 22, 22, ["0.0.0.0/0"])]
    (diff,) = compare("aws_security_group", {"ingress": grouped}, {"ingress": widened})
    assert diff.expected is None
    assert diff.actual["protocol"] == "tcp"
    assert (diff.actual["from_port"], diff.actual["cidr_blocks"]) == (22, ["0.0.0.0/0"])
    (removed,) = compare("aws_security_group", {"ingress": grouped}, {"ingress": split[:1]})
    assert (removed.expected["cidr_blocks"], removed.actual) == (["10.0.0.0/8"], None)


rules = st.lists(
    st.builds(
        lambda p, port, cidrs, d: sf.sg_rule(p, port, port, cidrs, d),
        st.sampled_from(["tcp", "udp"]),
        st.integers(1, 1024),
        st.lists(
            st.sampled_from(["10.0.0.0/8", "0.0.0.0/0", "172.16.0.0/12"]), min_size=1, max_size=3, unique=True
        ),
        st.sampled_from(["", "a"]),
    ),
    max_size=5,
)


@given(rules)
def test_rules_survive_regrouping(r: list[dict[str, Any]]) -> None:
    assert rule_atoms(atoms_to_rules(rule_atoms(r))) == rule_atoms(r)


def test_versioning_block_diff_has_a_precise_path() -> None:
    state = {"versioning": [{"enabled": False, "mfa_delete": False}]}
    (diff,) = compare("aws_s3_bucket", state, {"versioning": [{"enabled": True, "mfa_delete": False}]})
    assert diff.to_dict() == {"path": "versioning.0.enabled", "expected": False, "actual": True}


def test_sensitive_paths_are_masked_on_both_sides() -> None:
    state = {"tags": {"token": "old-secret"}}
    (diff,) = compare(
        "aws_sqs_queue", state, {"tags": {"token": "new-secret"}}, sensitive=[("tags", "token")]
    )
    assert diff.to_dict() == {"path": "tags.token", "expected": "(sensitive)", "actual": "(sensitive)"}
    (whole,) = compare("aws_sqs_queue", state, {"tags": {"token": "new-secret"}}, sensitive=[("tags",)])
    assert "secret" not in json.dumps(whole.to_dict())


def test_ignored_paths_are_dropped() -> None:
    state = {"tags": {"a": "1", "b": "2"}}
    diffs = compare(
        "aws_sqs_queue", state, {"tags": {"a": "9", "b": "9"}}, ignored=lambda p: p == ("tags", "a")
    )
    assert paths(diffs) == ["tags.b"]


def test_tag_keys_with_dots_are_escaped_in_paths() -> None:
    (diff,) = compare("aws_vpc", {"tags": {}}, {"tags": {"kubernetes.io/role": "x"}})
    assert diff.path_text == "tags.kubernetes\\.io/role"


def test_inline_role_policies_by_name() -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    state = {"inline_policy": [{"name": "", "policy": ""}]}  # what the provider stores for none
    live = {"inline_policy": [{"name": "extra", "policy": json.dumps(policy)}]}
    (diff,) = compare("aws_iam_role", state, live)
    assert (diff.path_text, diff.expected, diff.actual) == ("inline_policy.extra", None, policy)


def test_gcp_folder_ids_with_and_without_prefix_are_equal() -> None:
    assert compare("google_project", {"folder_id": "folders/123"}, {"folder_id": "123"}) == []
    (diff,) = compare("google_project", {"folder_id": "folders/123"}, {"folder_id": "456"})
    assert diff.to_dict() == {"path": "folder_id", "expected": "folders/123", "actual": "456"}
    assert compare("google_project", {"org_id": ""}, {"org_id": ""}) == []
