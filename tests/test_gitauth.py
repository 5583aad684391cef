"""The workflow token for orchestrate's own git commands: when, where to, and never elsewhere."""

from __future__ import annotations

import base64

from orchestrator import gitauth

TOKEN = "ghs_abcDEF123"
BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def test_the_token_is_given_for_the_github_server_only() -> None:
    env = {"GITHUB_TOKEN": TOKEN}
    assert gitauth.auth_env(env, "https://github.com/acme/infra") == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.https://github.com/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {BASIC}",
    }
    for url in (
        "git@github.com:acme/infra.git",  # ssh: the user's own key
        "https://github.com.evil.example/acme/infra",
        "https://gitlab.com/acme/infra",
        "/srv/git/infra.git",
    ):
        assert gitauth.auth_env(env, url) == {}, url
    assert gitauth.auth_env({}, "https://github.com/acme/infra") == {}
    ghes = {"GITHUB_TOKEN": TOKEN, "GITHUB_SERVER_URL": "https://ghe.example.com/"}
    assert gitauth.auth_env(ghes, "https://ghe.example.com/acme/infra")["GIT_CONFIG_KEY_0"] == (
        "http.https://ghe.example.com/.extraheader"
    )
    assert gitauth.auth_env(ghes, "https://github.com/acme/infra") == {}


def test_entries_already_in_the_environment_are_kept() -> None:
    env = {"GITHUB_TOKEN": TOKEN, "GIT_CONFIG_COUNT": "2"}
    got = gitauth.auth_env(env, "https://github.com/acme/infra")
    assert got["GIT_CONFIG_COUNT"] == "3" and "GIT_CONFIG_KEY_2" in got and "GIT_CONFIG_KEY_0" not in got
    assert gitauth.auth_env({**env, "GIT_CONFIG_COUNT": "x"}, "https://github.com/acme/infra") == {}


def test_redaction_and_the_token_taken_out_of_git_config_variables() -> None:
    env = {"GITHUB_TOKEN": TOKEN}
    assert gitauth.redact(f"fatal: {TOKEN} and {BASIC}", env) == "fatal: *** and ***"
    assert gitauth.redact("nothing", {}) == "nothing"
    kept = gitauth.without_token(
        {
            "GITHUB_TOKEN": TOKEN,
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "http.https://github.com/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {BASIC}",
            "GIT_CONFIG_KEY_1": "core.autocrlf",
            "GIT_CONFIG_VALUE_1": "false",
        }
    )
    assert kept == {
        "GITHUB_TOKEN": TOKEN,  # the caller drops the variable itself (engine/workdir.py)
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.autocrlf",
        "GIT_CONFIG_VALUE_0": "false",
    }
    only = gitauth.without_token({"GH_TOKEN": TOKEN, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_VALUE_0": TOKEN})
    assert only == {"GH_TOKEN": TOKEN}
