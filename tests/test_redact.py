"""redact.py: what is masked, where, and how fast (issue 12 items 5, 8 and 11)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.config import load_root_config
from orchestrator.errors import ConfigError
from orchestrator.redact import MASK, Redactor, compile_pattern, sensitive_values

PLAN = {
    "resource_changes": [
        {
            "address": "aws_security_group_rule.db",
            "change": {
                "before": None,
                "after": {"from_port": 8443, "to_port": 22, "cidr": "10.0.0.0/8", "name": "db-Pa55w0rd"},
                "after_sensitive": {"from_port": True, "to_port": True, "name": True},
            },
        }
    ],
    "configuration": {"root_module": {"variables": {"token": {"sensitive": True}, "port": {}}}},
    "variables": {"token": {"value": "tok-123456"}, "port": {"value": 8443}},
}


def test_sensitive_values_take_numbers_by_their_text_and_short_ones_on_request() -> None:
    assert sensitive_values(PLAN) == {"8443", "db-Pa55w0rd", "tok-123456"}
    assert "22" in sensitive_values(PLAN, min_length=1)


def test_a_secret_is_masked_inside_text_and_in_every_string_of_data() -> None:
    r = Redactor((), sensitive_values(PLAN))
    assert r.text("bucket db-Pa55w0rd-logs on port 8443") == f"bucket {MASK}-logs on port {MASK}"
    assert r.data({"db-Pa55w0rd": ["x tok-123456 y"]}) == {MASK: [f"x {MASK} y"]}


def test_a_numeric_secret_in_structured_data_is_masked_whatever_its_length() -> None:
    r = Redactor((), sensitive_values(PLAN, min_length=1))
    assert r.data({"from_port": 8443, "to_port": 22, "count": 3, "ok": True}) == {
        "from_port": MASK,
        "to_port": MASK,
        "count": 3,
        "ok": True,
    }
    # Inside text a two-digit secret is left alone (it would mask every "22" of a plan).
    assert r.text("port 22 and 8443") == f"port 22 and {MASK}"


def test_patterns_mask_matches() -> None:
    r = Redactor([r"(?i)secret[^\s]*"])
    assert r.text("a SECRET-x b") == f"a {MASK} b"


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    r = Redactor(["(a+)+$"])
    line = "a" * 200_000 + "!"
    started = time.monotonic()
    r.text(line)
    assert time.monotonic() - started < 2.0


def test_a_pattern_re2_cannot_run_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="RE2"):
        compile_pattern(r"(a)\1")


def test_the_configuration_refuses_it_as_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "orchestrate.yaml"
    path.write_text('redact: ["(?=lookahead)"]\n')
    with pytest.raises(ConfigError) as info:
        load_root_config(path)
    assert "redact" in info.value.render() and "RE2" in info.value.render()
