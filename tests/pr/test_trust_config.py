"""The approval schema (issue 11): required >= 1; users, teams, policy_owners well formed."""

from __future__ import annotations

import pytest

from orchestrator.config import parse_root_config
from orchestrator.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("approval:\n  required: 0\n", "'approval.required': Input should be greater than or equal to 1"),
        ("approval:\n  teams: [platform]\n", "'platform' is not a team of the form org/team-slug"),
        ("approval:\n  users: ['bob smith']\n", "'bob smith' is not a GitHub login"),
        ("approval:\n  policy_owners: ['a/b/c']\n", "is neither a GitHub login nor a team"),
        ("github:\n  comment_author: 'x y'\n", "'x y' is not a GitHub login"),
    ],
)
def test_bad_approval_settings_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_root_config(text, "orchestrate.yaml")
    assert message in err.value.message and err.value.where == "orchestrate.yaml:2"


def test_teams_and_owners_accept_the_at_form() -> None:
    config = parse_root_config(
        "approval:\n  required: 2\n  teams: ['@acme/platform']\n  policy_owners: ['@acme/sec', carol]\n"
        "  users: [bob, 'renovate[bot]']\n  codeowners: true\n",
        "orchestrate.yaml",
    )
    assert config.approval.teams == ["acme/platform"]
    assert config.approval.policy_owners == ["acme/sec", "carol"]
