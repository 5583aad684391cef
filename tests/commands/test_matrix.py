"""orchestrate matrix: the GitHub Actions matrix of (changed) stacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.conftest import git, write_files

FILES = {
    "stacks/net/stack.yaml": "cloud: aws\nenvironment: prod\n",
    "stacks/app/stack.yaml": "depends_on: [net]\n",
    "stacks/web/stack.yaml": "depends_on: [app]\n",
    "stacks/other/stack.yaml": "{}\n",
    "orchestrate.yaml": "clouds:\n  aws: {provider: aws, region: eu-west-1}\n",
}


def test_matrix_lists_stacks_in_run_order_with_waves(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    repo = make_repo(FILES)
    res = cli("--repo", str(repo), "matrix")
    assert res.exit_code == 0, res.output
    assert "\n" not in res.stdout.strip()  # one line, for $GITHUB_OUTPUT
    data = json.loads(res.stdout)
    assert list(data) == ["include"]
    assert [(e["stack"], e["wave"], e["depends_on"]) for e in data["include"]] == [
        ("net", 0, []),
        ("other", 0, []),
        ("app", 1, ["net"]),
        ("web", 2, ["app"]),
    ]
    net = data["include"][0]
    assert (net["cloud"], net["environment"], net["path"], net["slug"]) == (
        "aws",
        "prod",
        "stacks/net",
        "net",
    )


def test_matrix_changed_waves_are_relative_to_the_selection(
    make_repo: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    repo = make_repo(FILES)
    write_files(repo, {"stacks/app/main.tf": "# changed\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "app")
    out = tmp_path / "github_output"
    out.write_text("")
    res = cli(
        "--repo",
        str(repo),
        "matrix",
        "--changed",
        "--github-output",
        "matrix",
        env={"GITHUB_OUTPUT": str(out)},
    )
    assert res.exit_code == 0, res.output
    entries = json.loads(res.stdout)["include"]
    assert [(e["stack"], e["level"], e["wave"], e["depends_on"]) for e in entries] == [
        ("app", 1, 0, []),
        ("web", 2, 1, ["app"]),
    ]
    lines = out.read_text().splitlines()
    assert lines[0] == "matrix=" + res.stdout.strip() and lines[1] == "matrix_count=2"
    res = cli("--repo", str(repo), "matrix", "--changed", "--wave", "1")
    assert [e["stack"] for e in json.loads(res.stdout)["include"]] == ["web"]


def test_empty_matrix_and_deleted_stacks(make_repo: Callable[..., Path], cli: Callable[..., Result]) -> None:
    repo = make_repo(FILES)
    git(repo, "rm", "-q", "-r", "stacks/other")
    git(repo, "commit", "-q", "-m", "drop other")
    res = cli("--repo", str(repo), "matrix", "--changed")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"include": []}
    assert "stack 'other' was deleted" in res.stderr and "matrix is empty" in res.stderr


def test_github_output_outside_actions_is_a_clear_error(
    make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    res = cli("--repo", str(make_repo(FILES)), "matrix", "--github-output", "m", env={"GITHUB_OUTPUT": ""})
    assert res.exit_code == 1 and "needs $GITHUB_OUTPUT" in res.output
