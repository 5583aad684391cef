"""Plan JSON -> summary, the human plan text, and the comparison of re-plans (pure)."""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.terraform.plan import compare_changes, placeholder, plan_text, summarize


def rc(address: str, actions: list[str], after: Any = None, after_unknown: Any = None) -> dict[str, Any]:
    return {
        "address": address,
        "change": {"actions": actions, "before": None, "after": after, "after_unknown": after_unknown or {}},
    }


PLAN: dict[str, Any] = {
    "resource_changes": [
        rc("a.new", ["create"], {"name": "n", "tags": {"owner": "x"}}, {"id": True}),
        rc("a.upd", ["update"], {"name": "u"}),
        rc("a.gone", ["delete"]),
        rc("a.rep", ["delete", "create"], {"name": "r"}),
        rc("a.rep2", ["create", "delete"], {"name": "r2"}),
        rc("a.same", ["no-op"], {"name": "s"}),
        rc("data.a.read", ["read"]),
    ],
    "output_changes": {
        "known": {"actions": ["create"], "after": "v", "after_unknown": False},
        "later": {"actions": ["create"], "after_unknown": True},
        "secret": {"actions": ["no-op"], "before": "s3cr3t!", "after": "s3cr3t!", "after_sensitive": True},
    },
    "planned_values": {
        "outputs": {"known": {"value": "v"}, "later": {}, "secret": {"sensitive": True, "value": "s3cr3t!"}}
    },
}


def test_counts_by_action_with_replacements_apart() -> None:
    s = summarize(PLAN)
    assert (s.counts.add, s.counts.change, s.counts.destroy, s.counts.replace) == (1, 1, 1, 2)
    assert [c.address for c in s.resource_changes] == ["a.new", "a.upd", "a.gone", "a.rep", "a.rep2"]
    assert s.has_changes and s.output_changes


def test_planned_outputs_know_what_is_known_changed_and_sensitive() -> None:
    out = summarize(PLAN).outputs
    assert out["known"].known and out["known"].value == "v" and out["known"].changed
    assert not out["later"].known and out["later"].value is None
    assert out["secret"].sensitive and not out["secret"].changed


def test_no_changes_plan() -> None:
    s = summarize(
        {
            "resource_changes": [rc("a", ["no-op"])],
            "output_changes": {"o": {"actions": ["no-op"], "after": 1}},
        }
    )
    assert not s.has_changes and s.counts.total == 0


def test_plan_text_drops_refresh_progress_and_the_saved_plan_trailer() -> None:
    stdout = (
        "null_resource.r: Refreshing state... [id=123]\n"
        "data.x.y: Reading...\n"
        "data.x.y: Read complete after 0s [id=1]\n"
        "\n"
        "Terraform will perform the following actions:\n"
        "  # null_resource.r must be replaced\n"
        "Plan: 1 to add, 0 to change, 1 to destroy.\n"
        "\n"
        "─────────────────────────────────────────\n"
        "\n"
        "Saved the plan to: /tmp/p.tfplan\n"
    )
    text = plan_text(stdout)
    assert text.startswith("Terraform will perform")
    assert "Refreshing" not in text and "Reading" not in text and "Saved the plan" not in text
    assert text.rstrip().endswith("1 to destroy.")


def test_replan_equal_when_only_unknown_or_placeholder_values_got_known() -> None:
    ph = placeholder("folder_id")
    approved = {
        "resource_changes": [
            rc("p.main", ["create"], {"folder": ph, "name": "n", "num": None}, {"num": True})
        ]
    }
    replan = {"resource_changes": [rc("p.main", ["create"], {"folder": "folders/42", "name": "n", "num": 7})]}
    assert compare_changes(approved, replan) == []


def test_replan_differs_on_a_known_value_a_new_address_or_an_action() -> None:
    approved = {"resource_changes": [rc("p.main", ["create"], {"name": "n", "tags": {"a": "1"}})]}
    changed = copy.deepcopy(approved)
    changed["resource_changes"][0]["change"]["after"]["tags"]["a"] = "2"
    assert compare_changes(approved, changed) == ["p.main: tags.a differs from the approved plan"]
    extra = copy.deepcopy(approved)
    extra["resource_changes"].append(rc("p.other", ["create"], {}))
    assert compare_changes(approved, extra) == ["p.other: not in the approved plan (create)"]
    action = {"resource_changes": [rc("p.main", ["delete", "create"], {"name": "n", "tags": {"a": "1"}})]}
    assert compare_changes(approved, action) == ["p.main: action changed from create to delete/create"]
    assert compare_changes(approved, {"resource_changes": []}) == [
        "p.main: in the approved plan but not in the re-plan"
    ]


def test_replan_differs_when_a_known_value_became_unknown() -> None:
    approved = {"resource_changes": [rc("p.main", ["create"], {"name": "n"})]}
    replan = {"resource_changes": [rc("p.main", ["create"], {"name": None}, {"name": True})]}
    assert compare_changes(approved, replan) == ["p.main: name differs from the approved plan"]


def test_differences_never_quote_values() -> None:
    approved = {"resource_changes": [rc("p.main", ["create"], {"password": "hunter2-old"})]}
    replan = {"resource_changes": [rc("p.main", ["create"], {"password": "hunter2-new"})]}
    assert all("hunter2" not in d for d in compare_changes(approved, replan))


def test_placeholder_survives_lower_and_label_sanitising() -> None:
    import re

    ph = placeholder("Folder_ID")
    assert ph == ph.lower() and re.sub(r"[^a-zA-Z0-9_-]", "-", ph) == ph
