"""CODEOWNERS parsed the way GitHub does: last match wins, anchoring, directories, globs."""

from __future__ import annotations

import pytest

from orchestrator.pr.codeowners import owners_of, parse

TEXT = """\
# comments and blank lines are ignored

*                   @acme/everyone
*.rego              @acme/policy
/stacks/            @acme/infra
/stacks/prod/**     @alice @acme/prod   # a trailing comment
docs/               @writer
apps/*/main.tf      @bob
/stacks/prod/free.tf
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("acme/everyone",)),
        ("policies/deny.rego", ("acme/policy",)),
        ("stacks/app/main.tf", ("acme/infra",)),
        ("stacks/app/guard.rego", ("acme/infra",)),  # later line wins over *.rego
        ("stacks/prod/db/main.tf", ("alice", "acme/prod")),
        ("stacks/prod/free.tf", ()),  # a line without owners: nobody owns it
        ("docs/x.md", ("writer",)),
        ("sub/docs/x.md", ("writer",)),  # docs/ without a leading / matches at any depth
        ("apps/web/main.tf", ("bob",)),
        ("apps/web/sub/main.tf", ("acme/everyone",)),  # * stays within one segment
        ("other/stacks/a.tf", ("acme/everyone",)),  # /stacks/ is anchored at the top
    ],
)
def test_last_matching_rule_wins(path: str, owners: tuple[str, ...]) -> None:
    assert owners_of(parse(TEXT), path) == owners


def test_an_empty_file_owns_nothing() -> None:
    assert owners_of(parse(""), "a/b.tf") == ()
