"""Loading and evaluating policies with regopy: conftest conventions, errors that never pass,
the input policies see, redaction, and regopy's sharp edges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.config import PolicySettings
from orchestrator.errors import PolicyError
from orchestrator.policy import PolicySet, compile_policy_set, evaluate_stack, load_policy_set
from orchestrator.policy.engine import parse_errors
from tests.policy.conftest import context, plan


def pack(
    *modules: str, namespaces: list[str] | None = None, params: dict[str, Any] | None = None
) -> PolicySet:
    texts = [(f"policies/p{i}.rego", text) for i, text in enumerate(modules)]
    return compile_policy_set("policies", texts, namespaces or ["main"], params or {})


def run(ps: PolicySet, doc: dict[str, Any] | None = None, **ctx: Any) -> list[tuple[str, str, str | None]]:
    result = evaluate_stack(ps, doc if doc is not None else {"resource_changes": []}, context(**ctx))
    return [(f.level, f.msg, f.policy) for f in result.findings]


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# ---------------------------------------------------------------- conftest conventions


def test_deny_violation_and_warn_rules_with_suffixes_fail_or_warn() -> None:
    ps = pack(
        """package main
deny contains "plain deny" if true
deny_buckets contains "suffixed deny" if true
violation contains {"msg": "a violation", "policy": "v-1", "details": {"k": 1}} if true
warn_tags contains "a warning" if true
allowed contains "not a conftest rule" if true
denied contains "neither" if true
"""
    )
    got = run(ps)
    assert sorted(got) == [
        ("deny", "a violation", "v-1"),
        ("deny", "plain deny", None),
        ("deny", "suffixed deny", None),
        ("warn", "a warning", None),
    ]
    assert [r.id for r in ps.rules] == ["main.deny", "main.deny_buckets", "main.violation", "main.warn_tags"]


def test_only_the_configured_namespaces_are_queried() -> None:
    other = 'package other\ndeny contains "from other" if true\n'
    main = 'package main\ndeny contains "from main" if true\n'
    assert run(pack(main, other)) == [("deny", "from main", None)]
    assert sorted(run(pack(main, other, namespaces=["main", "other"]))) == [
        ("deny", "from main", None),
        ("deny", "from other", None),
    ]
    ps = pack(other, namespaces=["main"])
    assert run(ps) == []
    assert any("package main" in w for w in ps.warnings)


def test_rules_spread_over_files_of_one_package_are_all_evaluated() -> None:
    ps = pack(
        'package main\ndeny contains "one" if true\n',
        'package main\ndeny contains "two" if input.orchestrate.stack == "aws/prod/storage"\n',
    )
    assert sorted(m for _, m, _ in run(ps)) == ["one", "two"]


def test_result_shapes_conftest_accepts() -> None:
    ps = pack(
        """package main
deny contains "a string" if true
deny contains {"msg": "an object", "resource": "aws_s3_bucket.b", "severity": "high"} if true
deny contains {"no_msg": true} if true
deny_number contains 42 if true
warn := true
"""
    )
    result = evaluate_stack(ps, {"resource_changes": []}, context())
    by_msg = {f.msg: f for f in result.findings}
    assert by_msg["an object"].resource == "aws_s3_bucket.b"
    assert by_msg["an object"].metadata == {"severity": "high"}
    assert "42" in by_msg
    assert "main.warn is true" in by_msg and by_msg["main.warn is true"].level == "warn"
    errors = [f for f in result.findings if f.level == "error"]
    assert len(errors) == 1 and "without a string `msg`" in errors[0].msg


def test_a_message_naming_a_planned_resource_is_attributed_to_it() -> None:
    ps = pack(
        'package main\ndeny contains concat("", ["bad: ", rc.address]) if { some rc in input.resource_changes }\n'
    )
    doc = {
        "resource_changes": [
            {"address": "aws_s3_bucket.logs", "change": {"actions": ["create"]}},
            {"address": "aws_s3_bucket.logs_old", "change": {"actions": ["create"]}},
        ]
    }
    result = evaluate_stack(ps, doc, context())
    assert sorted((f.resource, f.msg) for f in result.findings) == [
        ("aws_s3_bucket.logs", "bad: aws_s3_bucket.logs"),
        ("aws_s3_bucket.logs_old", "bad: aws_s3_bucket.logs_old"),
    ]


# ---------------------------------------------------------------- what policies read


def test_policies_see_the_plan_the_stack_context_and_the_configured_data() -> None:
    ps = pack(
        """package main
deny contains concat("|", [
	input.orchestrate.stack, input.orchestrate.cloud, input.orchestrate.environment,
	input.orchestrate.provider, input.orchestrate.region, input.format_version,
	data.orchestrate.params.team, input.orchestrate.params.extra, concat(",", input.orchestrate.allow_destroy),
]) if true
""",
        params={"team": "platform"},
    )
    got = run(ps, {"format_version": "1.2"}, params={"extra": "x"}, allow_destroy=["a.b", "*"])
    assert got == [("deny", "aws/prod/storage|aws-prod|prod|aws|eu-west-1|1.2|platform|x|a.b,*", None)]


def test_stack_context_comes_from_the_stack_and_its_cloud_target(estate_repo: Path) -> None:
    from orchestrator.policy.inputs import stack_context
    from orchestrator.workspace import Workspace

    write(
        estate_repo,
        {
            "stacks/aws/prod/data/stack.yaml": "cloud: aws-prod\nenvironment: prod\npolicy:\n  allow_destroy: ['*']\n  params: {a: 1}\ntags: [db]\n"
        },
    )
    ws = Workspace.load(estate_repo, use_cache=False)
    ctx = stack_context(ws.config, ws.stacks["aws/prod/data"])
    assert ctx == {
        "stack": "aws/prod/data",
        "path": "stacks/aws/prod/data",
        "cloud": "aws-prod",
        "environment": "prod",
        "provider": "aws",
        "region": "eu-west-1",
        "project": None,
        "subscription_id": None,
        "allow_destroy": ["*"],
        "params": {"a": 1},
        "tags": ["db"],
    }
    gcp = stack_context(ws.config, ws.stacks["gcp/dev/project"])
    assert (gcp["provider"], gcp["project"], gcp["region"]) == ("gcp", "acme-dev", None)
    azure = stack_context(ws.config, ws.stacks["azure/dev/hub"])
    assert (azure["provider"], azure["subscription_id"]) == ("azure", "11111111-1111-1111-1111-111111111111")


# ---------------------------------------------------------------- errors are never a pass


def test_a_policy_that_fails_while_evaluating_is_an_error_not_a_pass() -> None:
    ps = pack(
        """package main
deny contains msg if {
	some rc in input.resource_changes
	msg := concat(", ", rc.change.after.tags)
}
deny contains "never reached" if false
warn contains "still evaluated" if true
"""
    )
    doc = {
        "resource_changes": [
            {"address": "a.b", "change": {"actions": ["create"], "after": {"tags": "not-a-list"}}}
        ]
    }
    result = evaluate_stack(ps, doc, context())
    levels = sorted(f.level for f in result.findings)
    assert levels == ["error", "warn"]
    err = next(f for f in result.findings if f.level == "error")
    assert err.rule == "main.deny" and "failed to evaluate" in err.msg
    assert result.status == "error"


def test_division_by_zero_and_conflicting_values_are_errors() -> None:
    ps = pack('package main\ndeny contains msg if { msg := sprintf("%d", [input.n / 0]) }\n')
    assert [lvl for lvl, _, _ in run(ps, {"n": 1})] == ["error"]
    ps = pack('package main\nx := 1 if true\nx := 2 if true\ndeny contains "x" if x == 1\n')
    got = run(ps)
    assert [lvl for lvl, _, _ in got] == ["error"]


def test_an_unknown_function_is_refused_at_load_time_with_file_and_line() -> None:
    with pytest.raises(PolicyError) as exc:
        pack('package main\n\ndeny contains msg if {\n\tmsg := sprintff("%s", ["x"])\n}\n')
    assert exc.value.where == "policies/p0.rego:4"
    assert "sprintff" in exc.value.message
    with pytest.raises(PolicyError) as exc:
        pack('package main\ndeny contains "x" if net.cidr_contains("10.0.0.0/8", input.ip)\n')
    assert "net.cidr_contains" in exc.value.message and "regopy" in (exc.value.hint or "")


def test_functions_defined_in_other_packages_are_known() -> None:
    ps = pack(
        "package lib.util\n\nlouder(s) := upper(s)\n",
        'package main\nimport data.lib.util\ndeny contains util.louder("x") if true\n',
    )
    assert run(ps) == [("deny", "X", None)]


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "policies/ok.rego": "package main\n",
            "policies/broken.rego": "package main\n\ndeny contains msg if {\n\tinput.a ==\n}\n",
        },
    )
    with pytest.raises(PolicyError) as exc:
        load_policy_set(tmp_path, PolicySettings())
    assert exc.value.where == "policies/broken.rego:4"
    assert "invalid Rego" in exc.value.message


def test_a_v0_rule_in_a_file_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"policies/sub/old.rego": "package main\n\ndeny[msg] {\n\tmsg := 1\n}\n"})
    with pytest.raises(PolicyError) as exc:
        load_policy_set(tmp_path, PolicySettings())
    assert exc.value.where == "policies/sub/old.rego:3"
    assert "Rego v0" in str(exc.value)


def test_rules_defined_as_a_set_in_one_file_and_a_value_in_another_are_a_load_error() -> None:
    with pytest.raises(PolicyError) as exc:
        pack('package main\ndeny contains "a" if true\n', "package main\ndeny := 5\n")
    assert "invalid Rego" in exc.value.message


def test_parse_errors_reads_rego_cpp_error_sequences() -> None:
    text = "(rego-errorseq\n  (error 8:bad.rego|60|2\n    (errormsg 24:Invalid boolean operator)\n    (errorast |60|2))\n  (error\n    (errormsg 14:divide by zero)))"
    problems = parse_errors(text)
    assert [(p.module, p.offset, p.message) for p in problems] == [
        ("bad.rego", 60, "Invalid boolean operator"),
        (None, None, "divide by zero"),
    ]


# ---------------------------------------------------------------- the policy directory


def test_a_missing_default_directory_means_no_policies_and_an_explicit_one_is_an_error(
    tmp_path: Path,
) -> None:
    ps = load_policy_set(tmp_path, PolicySettings())
    assert ps.rules == [] and run(ps) == []
    with pytest.raises(PolicyError) as exc:
        load_policy_set(tmp_path, PolicySettings(dir="rules"), explicit=True)
    assert "rules" in exc.value.message


def test_test_files_and_hidden_directories_are_not_loaded(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "policies/a.rego": 'package main\ndeny contains "a" if true\n',
            "policies/a_test.rego": "package main\ntest_x if { deny with input as {} }\n",
            "policies/.hidden/b.rego": 'package main\ndeny contains "hidden" if true\n',
            "policies/nested/c.rego": 'package main\nwarn contains "nested" if true\n',
        },
    )
    ps = load_policy_set(tmp_path, PolicySettings())
    assert ps.files == ["policies/a.rego", "policies/nested/c.rego"]
    assert sorted(m for _, m, _ in run(ps)) == ["a", "nested"]


def test_a_loaded_set_is_reused_until_a_file_changes(tmp_path: Path) -> None:
    write(tmp_path, {"policies/a.rego": 'package main\ndeny contains "one" if true\n'})
    first = load_policy_set(tmp_path, PolicySettings())
    assert load_policy_set(tmp_path, PolicySettings()) is first
    write(tmp_path, {"policies/a.rego": 'package main\ndeny contains "two" if true\n'})
    second = load_policy_set(tmp_path, PolicySettings())
    assert second is not first and run(second) == [("deny", "two", None)]
    assert load_policy_set(tmp_path, PolicySettings(data={"x": 1})) is not second


# ---------------------------------------------------------------- regopy's output quirks


def test_messages_with_quotes_and_builtin_strings_are_read_exactly() -> None:
    ps = pack(
        """package main
deny contains concat("", [rc.address, ": ", lower("ABC"), " \\"quoted\\" \\\\ done"]) if { some rc in input.resource_changes }
warn contains sprintf("%s is %s", [rc.address, upper("x")]) if { some rc in input.resource_changes }
"""
    )
    doc = {
        "resource_changes": [{"address": 'aws_s3_bucket.b["a \\"b\\""]', "change": {"actions": ["create"]}}]
    }
    got = sorted(run(ps, doc))
    assert got[0] == ("deny", 'aws_s3_bucket.b["a \\"b\\""]: abc "quoted" \\ done', None)
    # rego-cpp's sprintf quotes strings made by builtins; the message is still read whole.
    assert got[1] == ("warn", 'aws_s3_bucket.b["a \\"b\\""] is "X"', None)


def test_an_undefined_rule_is_no_result_and_never_crashes() -> None:
    ps = pack("package main\ndeny contains msg if { msg := input.nothing.here }\nwarn := input.absent\n")
    assert run(ps) == []


# ---------------------------------------------------------------- redaction


def test_sensitive_plan_values_and_redact_patterns_never_reach_findings() -> None:
    ps = pack(
        """package main
deny contains concat("", [rc.address, " password ", rc.change.after.password]) if { some rc in input.resource_changes }
warn contains {"msg": "token", "token": rc.change.after.token, "note": "mysecret-value here"} if { some rc in input.resource_changes }
"""
    )
    doc = plan("protect_stateful/fail_replace_database.json")
    doc["resource_changes"][0]["change"]["after"]["token"] = "hunter2-Secret-Pa55"
    result = evaluate_stack(ps, doc, context(), ["(?i)mysecret[^\\s]*"])
    text = repr([f.to_json() for f in result.findings])
    assert "hunter2-Secret-Pa55" not in text
    assert "mysecret-value" not in text
    assert "aws_db_instance.main password (sensitive)" in text


@pytest.mark.parametrize("seed", range(25))
def test_damaged_copies_of_the_default_pack_load_or_fail_cleanly(seed: int) -> None:
    """Random edits of the pack: each either loads and evaluates, or is a PolicyError; never a crash."""
    import random

    from tests.conftest import REPO_ROOT

    rng = random.Random(seed)
    files = [
        (p.relative_to(REPO_ROOT).as_posix(), p.read_text())
        for p in sorted((REPO_ROOT / "policies").rglob("*.rego"))
    ]
    i = rng.randrange(len(files))
    name, text = files[i]
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(text))
        pieces = ["{", "}", "[", "]", "(", ")", '"', "|", ":=", " if ", " contains ", "\n", ",", "some ", "`"]
        if rng.random() < 0.5:
            text = text[:pos] + text[pos + rng.randint(1, 5) :]
        else:
            text = text[:pos] + rng.choice(pieces) + text[pos:]
    files[i] = (name, text)
    try:
        ps = compile_policy_set("policies", files, ["main"], {"required_tags": ["owner"]})
    except PolicyError as exc:
        assert exc.where is not None and exc.where.startswith("policies/")
        return
    evaluate_stack(ps, plan("estate/aws-dev-storage.json"), context())
