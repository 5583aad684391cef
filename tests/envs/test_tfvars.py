"""set_var edits one assignment in place and keeps the rest of the file byte for byte."""

from __future__ import annotations

import pytest

from orchestrator.envs.tfvars import assignments, hcl_string, set_var
from orchestrator.errors import ConfigError

TEXT = """# Values for prod.
environment               = "prod"
message_retention_seconds = 345600 # four days
image = "registry/app:1.2" // pinned by the release pipeline
url   = "http://x#not-a-comment"
tags = {
  team = "core" # inner comment
  "a b" = "${x}"
}
/* block
   comment */
enabled = true
doc = <<EOT
line with = and # inside
EOT
"""


def test_string_is_replaced_in_place_with_comments_and_alignment_kept() -> None:
    out, changed, old = set_var(TEXT, "image", "registry/app:1.3")
    assert changed and old == '"registry/app:1.2"'
    assert out == TEXT.replace('"registry/app:1.2"', '"registry/app:1.3"')


def test_number_bool_and_multiline_values() -> None:
    out, changed, _ = set_var(TEXT, "message_retention_seconds", "86400")
    assert changed and "message_retention_seconds = 86400 # four days\n" in out
    out, _, _ = set_var(TEXT, "enabled", "false")
    assert out == TEXT.replace("enabled = true", "enabled = false")
    with pytest.raises(ConfigError, match="not a number"):
        set_var(TEXT, "message_retention_seconds", "lots")
    with pytest.raises(ConfigError, match="not a string, number or bool"):
        set_var(TEXT, "tags", "x")


def test_already_set_is_no_change() -> None:
    out, changed, _ = set_var(TEXT, "environment", "prod")
    assert not changed and out == TEXT
    out, changed, _ = set_var(TEXT, "message_retention_seconds", "345600")
    assert not changed


def test_a_new_variable_is_appended_with_its_declared_type() -> None:
    out, changed, old = set_var(TEXT, "replicas", "3", declared="number")
    assert changed and old is None and out == TEXT + "replicas = 3\n"
    out, _, _ = set_var("a = 1", "b", "x")
    assert out == 'a = 1\nb = "x"\n'


def test_strings_are_escaped_never_templated() -> None:
    assert hcl_string('a"b\\c${d}%{e}\n') == '"a\\"b\\\\c$${d}%%{e}\\n"'
    out, _, _ = set_var(TEXT, "image", '${file("/etc/passwd")}')
    assert 'image = "$${file(\\"/etc/passwd\\")}" // pinned' in out


def test_the_scanner_knows_strings_heredocs_and_comments() -> None:
    names = [a.name for a in assignments(TEXT)]
    assert names == ["environment", "message_retention_seconds", "image", "url", "tags", "enabled", "doc"]
    url = next(a for a in assignments(TEXT) if a.name == "url")
    assert url.text == '"http://x#not-a-comment"'


def test_bad_files_and_names() -> None:
    with pytest.raises(ConfigError, match="not 'name = value'"):
        set_var("this is not tfvars\n", "a", "1")
    with pytest.raises(ConfigError, match="set 2 times"):
        set_var('a = "1"\na = "2"\n', "a", "3")
    with pytest.raises(ConfigError, match="not a Terraform variable name"):
        set_var("", "1abc", "x")
    with pytest.raises(ConfigError, match="unterminated string"):
        set_var('a = "open\n', "a", "x")
