"""The default policy pack (policies/*.rego): every policy fails its failing plans, passes its
passing plans, and the example estate's first plan passes the whole pack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.policy import PolicySet, evaluate_plans, evaluate_stack
from orchestrator.workspace import Workspace
from tests.policy.conftest import PLANS, context, plan

# (plan file, input.orchestrate overrides, expected denies {(policy, resource)}, expected warns)
CASES: list[tuple[str, dict[str, Any], set[tuple[str, str | None]], set[tuple[str, str | None]]]] = [
    # protect-stateful
    (
        "protect_stateful/fail_delete_bucket_in_module.json",
        {},
        {("protect-stateful", "module.assets.aws_s3_bucket.this")},
        set(),
    ),
    (
        "protect_stateful/fail_replace_database.json",
        {},
        {("protect-stateful", "aws_db_instance.main")},
        set(),
    ),
    (
        "protect_stateful/fail_delete_protected_queue.json",
        {},
        {("protect-stateful", "aws_sqs_queue.jobs")},
        set(),
    ),
    (
        "protect_stateful/fail_delete_gcp_azure_stores.json",
        {"provider": None, "region": None},
        {
            ("protect-stateful", "google_sql_database_instance.main"),
            ("protect-stateful", "azurerm_key_vault.main"),
            ("protect-stateful", 'google_compute_disk.data["a"]'),
        },
        set(),
    ),
    ("protect_stateful/pass_stateless_and_updates.json", {}, set(), set()),
    # required-tags
    ("required_tags/fail_aws_missing_owner.json", {}, {("required-tags", "aws_sqs_queue.jobs")}, set()),
    (
        "required_tags/fail_gcp_no_labels.json",
        {"provider": "gcp", "region": "europe-west1"},
        {("required-tags", "google_storage_bucket.logs")},
        set(),
    ),
    (
        "required_tags/fail_azure_untagged.json",
        {"provider": "azure", "region": None},
        {("required-tags", "azurerm_resource_group.hub"), ("required-tags", "azurerm_storage_account.logs")},
        set(),
    ),
    ("required_tags/pass_provider_default_tags.json", {}, set(), set()),
    ("required_tags/pass_unknown_tag_value.json", {}, set(), set()),
    ("required_tags/pass_not_taggable.json", {}, set(), set()),
    (
        "required_tags/warn_tags_unknown_until_apply.json",
        {},
        set(),
        {("required-tags", "aws_sqs_queue.jobs")},
    ),
    # no-open-admin-ports
    (
        "no_open_admin_ports/fail_aws_security_group_ssh.json",
        {},
        {("no-open-admin-ports", "aws_security_group.bastion")},
        set(),
    ),
    (
        "no_open_admin_ports/fail_aws_rules_rdp_and_all.json",
        {},
        {
            ("no-open-admin-ports", "aws_security_group_rule.rdp"),
            ("no-open-admin-ports", "aws_vpc_security_group_ingress_rule.all"),
        },
        set(),
    ),
    (
        "no_open_admin_ports/fail_gcp_firewall.json",
        {"provider": "gcp", "region": None},
        {
            ("no-open-admin-ports", "google_compute_firewall.ssh"),
            ("no-open-admin-ports", "google_compute_firewall.wide"),
        },
        set(),
    ),
    (
        "no_open_admin_ports/fail_azure_rdp_ssh.json",
        {"provider": "azure", "region": None},
        {
            ("no-open-admin-ports", "azurerm_network_security_rule.rdp"),
            ("no-open-admin-ports", "azurerm_network_security_group.hub"),
        },
        set(),
    ),
    ("no_open_admin_ports/pass_restricted_rules.json", {}, set(), set()),
    # no-public-storage
    (
        "no_public_storage/fail_s3_public_acl.json",
        {},
        {
            ("no-public-storage", "aws_s3_bucket_acl.site"),
            ("no-public-storage", "aws_s3_bucket_acl.grants"),
            ("no-public-storage", "aws_s3_bucket_public_access_block.site"),
        },
        set(),
    ),
    (
        "no_public_storage/fail_s3_bucket_policy.json",
        {},
        {
            ("no-public-storage", "aws_s3_bucket_policy.site"),
            ("no-public-storage", "aws_s3_bucket_policy.list"),
        },
        set(),
    ),
    (
        "no_public_storage/fail_gcs_public.json",
        {"provider": "gcp", "region": None},
        {
            ("no-public-storage", "google_storage_bucket.public"),
            ("no-public-storage", "google_storage_bucket_acl.public"),
            ("no-public-storage", "google_storage_bucket_iam_member.viewer"),
            ("no-public-storage", "google_storage_bucket_iam_binding.readers"),
        },
        set(),
    ),
    (
        "no_public_storage/fail_azure_public.json",
        {"provider": "azure", "region": None},
        {
            ("no-public-storage", "azurerm_storage_account.web"),
            ("no-public-storage", "azurerm_storage_container.assets"),
        },
        set(),
    ),
    ("no_public_storage/pass_private_storage.json", {}, set(), set()),
    # allowed-regions
    (
        "allowed_regions/fail_azure_location.json",
        {"provider": "azure", "region": None},
        {("allowed-regions", "azurerm_resource_group.us")},
        set(),
    ),
    (
        "allowed_regions/fail_gcp_locations.json",
        {"provider": "gcp", "region": None},
        {("allowed-regions", "google_storage_bucket.us"), ("allowed-regions", "google_compute_disk.cache")},
        set(),
    ),
    ("allowed_regions/fail_aws_provider_region.json", {}, {("allowed-regions", None)}, set()),
    ("allowed_regions/pass_allowed_locations.json", {}, set(), set()),
    # the stack's own cloud target is outside the allowed regions
    (
        "required_tags/pass_provider_default_tags.json",
        {"region": "us-east-1"},
        {("allowed-regions", None)},
        set(),
    ),
]

POLICY_FILES = sorted(p.stem for p in (PLANS.parent.parent.parent / "policies").glob("*.rego"))


def _results(ps: PolicySet, rel: str, overrides: dict[str, Any]) -> tuple[set[Any], set[Any], list[str]]:
    result = evaluate_stack(ps, plan(rel), context(**overrides))
    assert result.errors == 0, [f.msg for f in result.findings]
    denies = {(f.policy, f.resource) for f in result.findings if f.level == "deny"}
    warns = {(f.policy, f.resource) for f in result.findings if f.level == "warn"}
    return denies, warns, [f.msg for f in result.findings]


@pytest.mark.parametrize(
    ("rel", "overrides", "denies", "warns"), CASES, ids=[f"{c[0]}{c[1] or ''}" for c in CASES]
)
def test_default_pack_gives_the_expected_results_for_each_test_plan(
    default_pack: PolicySet,
    rel: str,
    overrides: dict[str, Any],
    denies: set[tuple[str, str | None]],
    warns: set[tuple[str, str | None]],
) -> None:
    got_denies, got_warns, msgs = _results(default_pack, rel, overrides)
    assert got_denies == denies, msgs
    assert got_warns == warns, msgs


def test_every_default_policy_has_a_failing_and_a_passing_plan() -> None:
    for policy in POLICY_FILES:
        files = sorted(p.name for p in (PLANS / policy).glob("*.json"))
        assert any(f.startswith("fail_") for f in files), policy
        assert any(f.startswith("pass_") for f in files), policy
        for name in files:
            assert any(c[0] == f"{policy}/{name}" for c in CASES), f"{policy}/{name} has no expectation"


def test_allow_destroy_lets_a_stack_delete_what_it_lists(default_pack: PolicySet) -> None:
    rel = "protect_stateful/fail_delete_gcp_azure_stores.json"
    for allowed, left in [
        (["*"], set()),
        (
            ["module.nothing"],
            {"google_sql_database_instance.main", "azurerm_key_vault.main", 'google_compute_disk.data["a"]'},
        ),
        (["google_compute_disk.data"], {"google_sql_database_instance.main", "azurerm_key_vault.main"}),
        (['google_compute_disk.data["a"]', "azurerm_key_vault.main"], {"google_sql_database_instance.main"}),
    ]:
        denies, _, _ = _results(default_pack, rel, {"allow_destroy": allowed})
        assert {r for _, r in denies} == left, allowed
    denies, _, _ = _results(
        default_pack,
        "protect_stateful/fail_delete_bucket_in_module.json",
        {"allow_destroy": ["module.assets"]},
    )
    assert denies == set()
    # a prefix of a name is not a module or an instance of it
    denies, _, _ = _results(
        default_pack,
        "protect_stateful/fail_delete_bucket_in_module.json",
        {"allow_destroy": ["module.asset"]},
    )
    assert denies


def test_stack_params_override_the_configured_data(default_pack: PolicySet) -> None:
    rel = "required_tags/fail_aws_missing_owner.json"
    denies, _, _ = _results(default_pack, rel, {"params": {"required_tags": ["environment"]}})
    assert denies == set()
    denies, _, msgs = _results(
        default_pack, rel, {"params": {"required_tags": ["environment", "cost_center"]}}
    )
    assert denies == {("required-tags", "aws_sqs_queue.jobs")}
    assert "cost_center" in msgs[0] and "owner" not in msgs[0].split(";")[0]
    denies, _, _ = _results(
        default_pack,
        "allowed_regions/fail_azure_location.json",
        {"params": {"allowed_regions": {"azure": ["eastus"]}}},
    )
    assert denies == set()
    denies, _, _ = _results(
        default_pack,
        "no_public_storage/fail_azure_public.json",
        {
            "params": {
                "public_storage_allowed": ["azurerm_storage_account.web", "azurerm_storage_container.assets"]
            }
        },
    )
    assert denies == set()
    denies, _, _ = _results(default_pack, "protect_stateful/fail_delete_protected_queue.json", {"params": {}})
    assert denies


def test_messages_name_the_resource_and_say_what_to_do(default_pack: PolicySet) -> None:
    _, _, msgs = _results(
        default_pack, "required_tags/fail_azure_untagged.json", {"provider": "azure", "region": None}
    )
    assert (
        "azurerm_resource_group.hub: missing required tags owner, environment; add them to the resource's tags"
        in msgs[0]
    )
    _, _, msgs = _results(
        default_pack, "allowed_regions/fail_azure_location.json", {"provider": "azure", "region": None}
    )
    assert msgs == [
        "azurerm_resource_group.us: location eastus is not an allowed azure region (allowed: northeurope, westeurope)"
    ]


def test_the_example_estate_first_plan_passes_the_default_pack() -> None:
    repo = PLANS.parent.parent.parent
    ws = Workspace.load(repo, use_cache=False)
    plans = [(s, plan(f"estate/{s.slug}.json")) for s in ws.stacks.values()]
    assert len(plans) == 10
    report = evaluate_plans(ws, plans)
    assert [f.msg for _, f in report.findings()] == []
    assert not report.blocking and report.summary()["status"] == "pass"
    assert len(report.policies) == len(POLICY_FILES) + 1  # + lib/terraform.rego


def test_estate_plans_cover_every_resource_type_the_estate_declares() -> None:
    repo = PLANS.parent.parent.parent
    ws = Workspace.load(repo, use_cache=False)
    declared = {d.type for s in ws.stacks.values() for d in s.tf.declarations if d.kind == "resource"}
    declared.add("aws_s3_bucket")  # declared in modules/aws-bucket
    planned = {
        rc["type"]
        for p in (PLANS / "estate").glob("*.json")
        for rc in json.loads(Path(p).read_text())["resource_changes"]
    }
    assert declared <= planned
