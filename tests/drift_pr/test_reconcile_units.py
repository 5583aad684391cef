"""The `reconcile: auto` decision (pure): where the setting comes from, the plan against the drift,
the window; and how the run's summary shows it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrator.config import RootConfig, parse_root_config, parse_stack_config
from orchestrator.controller.driftlog import last_reconciles
from orchestrator.drift.model import Changed, Diff, Missing, StackDrift
from orchestrator.drift_pr.reconcile import (
    LastReconcile,
    PlannedChange,
    Setting,
    diff_paths,
    effective_setting,
    plan_reasons,
    planned_changes,
    scan_reasons,
)
from orchestrator.drift_pr.run import PrOutcome
from orchestrator.envs.records import Record, StackRecord
from orchestrator.errors import ConfigError
from orchestrator.render.drift_pr import pull_requests_markdown, pull_requests_table
from orchestrator.rules import BaseRules

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def root(text: str = "") -> RootConfig:
    return parse_root_config("version: 1\n" + text, "orchestrate.yaml")


def setting(
    cfg: RootConfig, own: str | None = None, path: str = "stacks/aws/prod/app", sid: str = "aws/prod/app"
) -> Setting:
    stack = parse_stack_config(own, "stack.yaml") if own is not None else None
    return effective_setting(cfg, stack, path=path, stack_id=sid, workspace=None)


# ---------------------------------------------------------------- the setting


def test_the_default_is_pr() -> None:
    assert setting(root()) == Setting("pr", "the default")


def test_root_shorthand_and_mapping() -> None:
    assert setting(root("reconcile: auto\n")) == Setting("auto", "orchestrate.yaml reconcile")
    cfg = root("reconcile: {mode: auto, window: 2h}\n")
    assert cfg.reconcile.window_seconds == 7200
    assert setting(cfg).mode == "auto"


def test_environment_setting_wins_over_the_root_and_a_stack_wins_over_both() -> None:
    cfg = root("environments: [dev, prod]\nreconcile: {mode: pr, environments: {dev: auto}}\n")
    assert setting(cfg, path="stacks/aws/dev/app", sid="aws/dev/app") == Setting(
        "auto", "orchestrate.yaml reconcile.environments.dev"
    )
    assert setting(cfg).mode == "pr"  # prod: the root's
    # declared environment in stack.yaml counts too
    assert setting(cfg, "environment: dev\n", sid="x/app").mode == "auto"
    # the stack's own setting wins, either way
    assert setting(cfg, "reconcile: pr\n", path="stacks/aws/dev/app", sid="aws/dev/app") == Setting(
        "pr", "stack.yaml"
    )
    assert setting(root("reconcile: pr\n"), "reconcile: auto\n") == Setting("auto", "stack.yaml")


def test_stacks_rules_set_it_by_path_and_the_last_matching_rule_wins() -> None:
    cfg = root(
        "stacks:\n"
        "  targets:\n"
        "    - {match: 'live/{environment}/**', reconcile: auto}\n"
        "    - {match: 'live/prod/db', reconcile: pr}\n"
        "  projects:\n"
        "    - {dir: live/prod/cache, reconcile: auto}\n"
    )
    assert setting(cfg, path="live/dev/app", sid="live/dev/app").mode == "auto"
    got = setting(cfg, path="live/prod/db", sid="live/prod/db")
    assert got.mode == "pr" and "stacks.targets[1]" in got.source
    got = setting(cfg, path="live/prod/cache", sid="live/prod/cache")
    assert got.mode == "auto" and "stacks.projects[0]" in got.source
    assert setting(cfg, "reconcile: pr\n", path="live/dev/app", sid="live/dev/app").mode == "pr"
    # a listed project's environment selects reconcile.environments
    cfg = root(
        "reconcile: {environments: {staging: auto}}\n"
        "stacks:\n  projects:\n    - {dir: app, workspace: stg, environment: staging}\n"
    )
    got = effective_setting(cfg, None, path="app", stack_id="app/stg", workspace="stg")
    assert got == Setting("auto", "orchestrate.yaml reconcile.environments.staging")


def test_bad_settings_are_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="reconcile"):
        root("reconcile: always\n")
    with pytest.raises(ConfigError, match="window"):
        root("reconcile: {window: soon}\n")
    with pytest.raises(ConfigError, match="reconcile"):
        parse_stack_config("reconcile: yes-please\n", "stack.yaml")


def test_a_pr_cannot_change_it_it_is_a_rule_of_the_base() -> None:
    base = root("reconcile: pr\n")
    head = root("reconcile: auto\n")
    rules = BaseRules("b" * 40, base, (), None)
    assert rules.judged(head).reconcile.mode == "pr"


# ---------------------------------------------------------------- the plan against the drift


def test_diff_paths_go_as_deep_as_both_sides() -> None:
    assert diff_paths({"a": 1, "t": {"x": "1"}}, {"a": 1, "t": {"x": "2", "y": "3"}}) == [
        ("t", "x"),
        ("t", "y"),
    ]
    assert diff_paths(None, {"owner": "p"}) == [("owner",)]
    assert diff_paths([{"e": False}], [{"e": True}, {"e": True}]) == [(0, "e"), (1, "e")]
    assert diff_paths("a", ["a"]) == [()]
    assert diff_paths({"a": [1]}, {"a": [1]}) == []


def rc(address: str, actions: list[str], before: Any, after: Any, **extra: Any) -> dict[str, Any]:
    return {
        "address": address,
        "mode": "managed",
        "change": {"actions": actions, "before": before, "after": after, **extra},
    }


TAG_EDIT = rc(
    "aws_s3_bucket.b",
    ["update"],
    {"bucket": "b", "tags": {"owner": "intruder"}, "tags_all": {"owner": "intruder"}},
    {"bucket": "b", "tags": {"owner": "platform"}, "tags_all": {"owner": "platform"}},
    after_unknown={},
)


def drifted(
    changed: dict[str, list[str]], missing: tuple[str, ...] = (), error: str | None = None
) -> StackDrift:
    """A stack of the drift report: the attribute paths changed per address, the addresses missing."""
    return StackDrift(
        "s",
        "api",
        error=error,
        changed=tuple(
            Changed(a, a.split(".")[0], None, tuple(Diff(tuple(p.split(".")), 1, 2) for p in paths))
            for a, paths in changed.items()
        ),
        missing=tuple(Missing(a, a.split(".")[0], None) for a in missing),
    )


DRIFT = drifted({"aws_s3_bucket.b": ["tags.owner"]})


def test_planned_changes_alias_tags_all_and_count_unknown_values() -> None:
    plan = {
        "resource_changes": [
            TAG_EDIT,
            rc("aws_s3_bucket.c", ["no-op"], {}, {}),
            {"address": "data.x.y", "mode": "data", "change": {"actions": ["read"]}},
            rc("aws_sqs_queue.q", ["update"], {"a": 1}, {"a": 1}, after_unknown={"arn": True}),
        ]
    }
    assert planned_changes(plan) == [
        PlannedChange("aws_s3_bucket.b", ("update",), ("tags.owner",)),
        PlannedChange("aws_sqs_queue.q", ("update",), ("arn",)),
    ]


def test_a_plan_changing_only_the_drifted_attributes_is_allowed() -> None:
    changes = planned_changes({"resource_changes": [TAG_EDIT]})
    assert plan_reasons(DRIFT, "changes", changes, None) == []
    assert plan_reasons(DRIFT, "changes", changes, {"denied": 0, "errors": 0, "blocking": False}) == []


def test_a_drifted_container_covers_the_paths_inside_it() -> None:
    drift = drifted({"aws_security_group.g": ["ingress"]})
    change = PlannedChange("aws_security_group.g", ("update",), ("ingress.1", "ingress.0.cidr_blocks.0"))
    assert plan_reasons(drift, "changes", [change], None) == []
    # ... but "ingress_x" is not inside "ingress"
    other = PlannedChange("aws_security_group.g", ("update",), ("ingress_x",))
    assert (
        "did not drift: aws_security_group.g: ingress_x" in plan_reasons(drift, "changes", [other], None)[0]
    )


@pytest.mark.parametrize(
    ("actions", "reason"),
    [
        (("delete", "create"), "the remediation replaces aws_s3_bucket.b"),
        (("create", "delete"), "the remediation replaces aws_s3_bucket.b"),
        (("delete",), "the remediation destroys aws_s3_bucket.b"),
        (("create",), "the remediation creates aws_s3_bucket.b"),
    ],
)
def test_destroying_replacing_or_creating_is_refused(actions: tuple[str, ...], reason: str) -> None:
    change = PlannedChange("aws_s3_bucket.b", actions, ())
    assert plan_reasons(DRIFT, "changes", [change], None) == [reason]


def test_other_changes_are_refused_and_named() -> None:
    changes = [
        PlannedChange("aws_s3_bucket.b", ("update",), ("tags.owner", "acl")),
        PlannedChange("aws_sqs_queue.q", ("update",), ("delay_seconds",)),
    ]
    (reason,) = plan_reasons(DRIFT, "changes", changes, None)
    assert reason == (
        "the remediation changes attributes that did not drift: aws_s3_bucket.b: acl, aws_sqs_queue.q (not drifted)"
    )


def test_no_changes_provisional_and_policies_are_refused() -> None:
    assert "no-changes" in plan_reasons(DRIFT, "no-changes", [], None)[0]
    assert "provisional" in plan_reasons(DRIFT, "provisional", [], None)[0]
    changes = planned_changes({"resource_changes": [TAG_EDIT]})
    advisory = {"denied": 1, "errors": 0, "blocking": False, "enforcement": "advisory"}
    assert plan_reasons(DRIFT, "changes", changes, advisory) == [
        "the default branch's policies deny the remediation plan"
    ]
    assert plan_reasons(DRIFT, "changes", changes, None, policies_expected=True) == [
        "the default branch's policies were not evaluated on the remediation plan"
    ]
    errors = {"denied": 0, "errors": 1, "blocking": True}
    assert "could not be evaluated" in plan_reasons(DRIFT, "changes", changes, errors)[0]


# ---------------------------------------------------------------- before planning


AUTO = Setting("auto", "stack.yaml")


def scan(setting_: Setting = AUTO, entry: StackDrift = DRIFT, **kw: Any) -> list[str]:
    args: dict[str, Any] = {
        "open_pull": None,
        "last": None,
        "records_error": None,
        "sync": "in-sync",
        "window": "24h",
        "window_seconds": 86400.0,
        "now": NOW,
        **kw,
    }
    return scan_reasons(setting_, entry, **args)


def test_auto_with_nothing_against_it_goes_on_to_planning() -> None:
    assert scan() == []


def test_pr_mode_says_where_it_was_set() -> None:
    assert scan(Setting("pr", "orchestrate.yaml reconcile")) == ["reconcile: pr (orchestrate.yaml reconcile)"]


def test_a_second_drift_within_the_window_is_refused_after_it_is_not() -> None:
    recent = LastReconcile((NOW - timedelta(hours=3)).isoformat(), "d-1")
    (reason,) = scan(last=recent)
    assert "record d-1" in reason and "within reconcile.window (24h)" in reason
    old = LastReconcile((NOW - timedelta(hours=25)).isoformat(), "d-0")
    assert scan(last=old) == []
    # a time that cannot be read is treated as recent
    assert scan(last=LastReconcile("yesterday-ish", "d-2"))


def test_unreadable_records_an_open_pr_and_missing_resources_are_refused() -> None:
    assert "could not be read" in scan(records_error="fetch failed")[0]
    assert "#7" in scan(open_pull=7)[0]
    missing = drifted({"aws_s3_bucket.b": ["tags.owner"]}, missing=("aws_s3_bucket.gone",))
    assert scan(entry=missing) == ["resources missing from the cloud would be created: aws_s3_bucket.gone"]
    assert "error" in scan(entry=drifted({}, error="AccessDenied"))[0]


def record(rid: str, time: str, source: str | None, stack: str = "s") -> Record:
    return Record(
        id=rid,
        kind="apply",
        time=time,
        commit="c" * 40,
        result="applied",
        who="w",
        run_by="w",
        approval={"source": source} if source else None,
        pr=None,
        plan_set=None,
        stacks=(StackRecord(stack, "applied"),),
    )


def test_last_reconciles_counts_only_automatic_applies() -> None:
    records = [
        record("d-2", "2026-12-03T10:00:00+00:00", "reconcile"),
        record("d-1", "2026-12-03T09:00:00+00:00", "reconcile"),
        record("d-3", "2026-12-03T11:00:00+00:00", "github"),
        record("d-4", "2026-12-03T11:00:00+00:00", None, stack="t"),
    ]
    assert last_reconciles(records) == {"s": LastReconcile("2026-12-03T10:00:00+00:00", "d-2")}


# ---------------------------------------------------------------- the summary


def test_the_summary_shows_reconciled_stacks_and_why_others_were_not() -> None:
    outcomes = [
        PrOutcome("app", "reconciled", record="d-abc", reason="put back aws_s3_bucket.b: tags.owner"),
        PrOutcome("db", "opened", number=3, reconcile="the remediation replaces aws_db.x"),
    ]
    md = pull_requests_markdown(outcomes)
    assert "| `app` | reconciled |  | `d-abc` | put back aws_s3_bucket.b: tags.owner |" in md
    assert "| `db` | opened | #3 |  | not reconciled automatically: the remediation replaces aws_db.x |" in md
    table = pull_requests_table(outcomes)
    assert "reconciled" in table and "d-abc" in table and "not reconciled automatically" in table
    assert (
        outcomes[0].line()
        == "app: reconciled automatically (put back aws_s3_bucket.b: tags.owner); record d-abc"
    )
    assert outcomes[0].to_json()["record"] == "d-abc"


def test_a_plan_that_leaves_some_drift_in_place_is_refused() -> None:
    drift = drifted(
        {"aws_s3_bucket.b": ["tags.owner", "versioning.0.enabled"], "aws_sqs_queue.q": ["delay_seconds"]}
    )
    changes = planned_changes({"resource_changes": [TAG_EDIT]})  # terraform ignores the rest
    assert plan_reasons(drift, "changes", changes, None) == [
        "the remediation plan would not put back aws_s3_bucket.b: versioning.0.enabled, aws_sqs_queue.q: delay_seconds"
    ]
    # a plan path at a coarser level than the report's covers it
    coarse = PlannedChange("aws_s3_bucket.b", ("update",), ("tags",))
    assert plan_reasons(DRIFT, "changes", [coarse], None) == [
        "the remediation changes attributes that did not drift: aws_s3_bucket.b: tags"
    ]


@pytest.mark.parametrize("sync", ["out-of-sync", "never-applied", "failed", "destroyed"])
def test_a_stack_whose_merged_code_was_not_applied_is_refused(sync: str) -> None:
    (reason,) = scan(sync=sync)
    assert f"the stack is {sync}" in reason and "nobody approved yet" in reason


def test_list_and_drift_select_stacks_by_their_reconcile_setting(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    """`--reconcile auto|pr` splits a scan between the apply identity and the plan identity
    (docs/ci.md): same precedence as the reconciler, from the checked-out files."""
    tf = 'terraform {\n  required_version = ">= 1.5"\n}\n'
    root = make_repo(
        {
            "orchestrate.yaml": "environments: [dev, prod]\nreconcile:\n  environments:\n    dev: auto\n",
            "stacks/dev/app/main.tf": tf,
            "stacks/dev/app/stack.yaml": "{}\n",
            "stacks/dev/db/main.tf": tf,
            "stacks/dev/db/stack.yaml": "reconcile: pr\n",
            "stacks/prod/app/main.tf": tf,
            "stacks/prod/app/stack.yaml": "{}\n",
        }
    )

    def listed(*args: str) -> list[str]:
        res = cli("--repo", str(root), "list", "--format", "json", *args)
        assert res.exit_code == 0, res.output
        return sorted(s["id"] for s in json.loads(res.stdout)["stacks"])

    assert listed("--reconcile", "auto") == ["dev/app"]
    assert listed("--reconcile", "pr") == ["dev/db", "prod/app"]
    assert listed() == ["dev/app", "dev/db", "prod/app"]
    res = cli("--repo", str(root), "list", "--reconcile", "sometimes")
    assert res.exit_code == 1 and "sometimes" in res.output
