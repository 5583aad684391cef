"""The lexical checks on Rego files: v1 only, a package, rule names, regopy's blind spots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.errors import PolicyError
from orchestrator.policy.source import header_comment, scan_module

V1 = """# my-policy: a description
# more words
package main

import rego.v1
import data.lib.terraform as tf

default allow := false

allow if input.x == 1

deny contains msg if {
	some rc in input.resource_changes
	msg := sprintf("%s { not a body } [x]", [rc.address])  # braces in strings and comments {
}

deny_public contains {"msg": "m", "policy": "p"} if {
	input.y
}

violation contains `raw { string` if true

warn contains msg if {
	x := {"a": 1, "b": {1, 2}}
	msg := concat("", [k | some k in object.keys(x)])
}

value := {"a": [1, 2]}

f(x) := y if {
	y := x + 1
} else := 0

g(a, b) := object.get(a, b, null)

r := "a" if input.a else := "b"

s := x if {
	x := 1
} else := 2 if {
	true
}

obj.nested contains "v" if true
"""


def test_a_rego_v1_module_is_read_for_package_rules_and_calls() -> None:
    info = scan_module(V1, "policies/p.rego")
    assert info.package == "main"
    assert {"allow", "deny", "deny_public", "violation", "warn", "value", "f", "g", "r", "s", "obj"} == set(
        info.rules
    )
    assert info.rules["deny"] == 12
    assert info.functions == {"f", "g"}
    assert info.imports == {"v1": "rego.v1", "tf": "data.lib.terraform"}
    called = {name for name, _ in info.calls}
    assert {"sprintf", "concat", "object.keys", "object.get"} <= called
    assert "f" not in called and "g" not in called  # definitions, not calls
    assert info.header.startswith("my-policy: a description\nmore words")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("package main\n\ndeny[msg] {\n  msg := 1\n}\n", 3, "deny contains"),
        ("package main\n\ndeny[msg] if {\n  msg := 1\n}\n", 3, "deny contains"),
        ('package main\nreport["x"]\n', 2, "report contains"),
        ("package main\n\nallow {\n  input.x\n}\n", 3, "without `if`"),
        ("package main\n\ndeny contains msg {\n  msg := 1\n}\n", 3, "without `if`"),
        ("package main\nf(x) = y {\n  y := x\n}\n", 2, "without `if`"),
        ('package main\nx := "a" if { input.a } else {\n  true\n}\n', 2, "else"),
        ("package main\nallow if {\n  true\n} {\n  false\n}\n", 4, "without `if`"),
        ("package main\n\n\nimport rego.v1\n\nallow = true {\n  input.x\n}\n", 6, "without `if`"),
    ],
)
def test_a_rego_v0_rule_is_refused_with_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(PolicyError) as exc:
        scan_module(text, "policies/old.rego")
    assert exc.value.where == f"policies/old.rego:{line}"
    assert "Rego v0" in exc.value.message and words in exc.value.message
    assert "deny contains msg if" in (exc.value.hint or "")


def test_a_module_without_a_package_is_refused() -> None:
    with pytest.raises(PolicyError) as exc:
        scan_module("# only a comment\n\ndeny contains 1 if true\n", "policies/x.rego")
    assert exc.value.where == "policies/x.rego:3"
    assert "package" in exc.value.message
    with pytest.raises(PolicyError):
        scan_module("", "policies/empty.rego")
    with pytest.raises(PolicyError) as exc:
        scan_module("package a\npackage b\n", "policies/two.rego")
    assert exc.value.where == "policies/two.rego:2"


def test_an_unterminated_string_names_its_line() -> None:
    with pytest.raises(PolicyError) as exc:
        scan_module('package main\n\ndeny contains "oops if true\n', "policies/s.rego")
    assert exc.value.where == "policies/s.rego:3"


@pytest.mark.parametrize(
    "body",
    [
        "f(k) := [x | some x in data.d[k]]",
        "f(k) := {x | xs := data.d[k]; some x in xs}",
        "f(o, k) := [x | some x in o.items[k].values]",
        "f(k) := count([1 | input.a[_][k]])",
    ],
)
def test_a_function_parameter_indexing_inside_a_comprehension_is_refused(body: str) -> None:
    with pytest.raises(PolicyError) as exc:
        scan_module(f"package main\n\n{body}\n", "policies/f.rego")
    assert exc.value.where == "policies/f.rego:3"
    assert "comprehension" in exc.value.message and "object.get" in (exc.value.hint or "")


@pytest.mark.parametrize(
    "body",
    [
        "f(k) := [x | some x in object.get(data.d, k, [])]",
        "f(k) := xs if { kk := k; xs := [x | some x in data.d[kk]] }",
        "f(k) := data.d[k]",
        "f(k) := [x | some x in [k, 1]]",
        "f(k) := [x | some x in data.d.list; x == k]",
        "rule contains xs if { some k in [1]; xs := [x | some x in data.d[k]] }",
        "f(o) := [x | some x in o.items]",
        "f(k) := [x | some x in data.d.k]",
    ],
)
def test_safe_parameter_uses_are_accepted(body: str) -> None:
    scan_module(f"package main\n\n{body}\n", "policies/f.rego")


def test_the_header_comment_stops_at_code() -> None:
    assert header_comment("# a: b\n#\n#  indented\n\npackage x\n# not this\n") == "a: b\n\n indented"
    assert header_comment("package x\n") == ""


@given(
    st.text(
        alphabet=st.sampled_from(list('package main deny contains if else {}[]()"`#|:=,.\n\t x1_')),
        max_size=200,
    )
)
@settings(max_examples=300, deadline=None)
def test_any_text_is_read_or_refused_with_a_policy_error(text: str) -> None:
    try:
        info = scan_module(text, "policies/fuzz.rego")
    except PolicyError as exc:
        assert exc.where is not None and exc.where.startswith("policies/fuzz.rego")
    else:
        assert info.package
