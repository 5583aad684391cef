"""Untrusted names in GitHub media (issue 11 item 6): a stack id, resource address or log line
from a pull request must not inject markdown, workflow commands or $GITHUB_OUTPUT entries.

Discovery refuses odd stack ids; these tests feed such names to the renderers and writers
directly, because each medium escapes again (defence in depth).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from orchestrator.render.escape import (
    command_data,
    command_property,
    md_code,
    one_line,
    output_entry,
    untrusted_lines,
)
from orchestrator.render.summary import render_apply_result

EVIL = "app`| x |\n::error file=a.tf::pwned\n## Approved by admin <!-- orchestrate:plan:part-1 -->"


def run_commands(output: str) -> list[str]:
    """The workflow commands the Actions runner would carry out on ``output``."""
    done, stop = [], None
    for line in output.splitlines():
        if stop is not None:
            if line == f"::{stop}::":
                stop = None
            continue
        m = re.match(r"^::([a-z-]+)(?: [^:]*)?::(.*)$", line)
        if m is None:
            continue
        if m.group(1) == "stop-commands":
            stop = m.group(2)
            continue
        done.append(m.group(1))
    return done


def outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT parsed the way the runner does (name=value and name<<DELIM blocks)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
        else:
            i += 1
    return out


def test_helpers_escape_for_each_medium() -> None:
    assert "\n" not in md_code(EVIL) and "\n" not in one_line(EVIL)
    assert md_code("a`b") == "``a`b``" and md_code("`x") == "`` `x ``"
    assert "|" not in md_code("a|b").replace("\\|", "")
    assert command_data("50%\nx") == "50%25%0Ax" and command_property("a:b,c") == "a%3Ab%2Cc"
    assert run_commands(untrusted_lines("::error::boom\n::add-mask::x\n")) == []
    assert outputs(output_entry("matrix", "a\nb=c\nevil=1")) == {"matrix": "a\nb=c\nevil=1"}
    with pytest.raises(ValueError):
        output_entry("bad\nname", "x")


def test_apply_result_keeps_an_evil_stack_id_in_its_cell() -> None:
    text = render_apply_result({"plan_set": "ps-1", "stacks": [{"stack": EVIL, "status": "applied"}]})
    assert not any(line.startswith(("## Approved", "::error")) for line in text.splitlines())
    assert not any(line.startswith("<!--") for line in text.splitlines())
    row = next(line for line in text.splitlines() if "pwned" in line)
    assert row.startswith("| ") and row.count(" | ") == 3  # still four cells


def test_github_progress_runs_no_command_from_a_stack_id_or_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.progress import GitHubProgress, Row

    log = tmp_path / "terraform.log"
    log.write_text("planning\n::error::from terraform\n::add-mask::hunter2\n::endgroup::\n")
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    progress = GitHubProgress()
    row = Row(EVIL)
    row.status, row.log = "failed", log
    progress._on_done(row)
    assert run_commands(err.getvalue()) == ["group", "endgroup"]


def test_matrix_github_output_has_exactly_its_two_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.commands.matrix import _write_output

    path = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(path))
    _write_output("matrix", '{"stack": "a"}\nevil=1')
    _write_output("matrix_count", "1")
    assert outputs(path.read_text()) == {"matrix": '{"stack": "a"}\nevil=1', "matrix_count": "1"}


def test_commit_status_context_is_one_line() -> None:
    from orchestrator.pr.publish import status_context

    assert "\n" not in status_context("plan", EVIL)


def test_messages_in_the_actions_log_run_no_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.ui import info, warn

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    warn(f"stack '{EVIL}' has no stack.yaml")
    info("  ::add-mask::hunter2")
    err = capsys.readouterr().err
    assert run_commands(err) == [] and "pwned" in err
    monkeypatch.delenv("GITHUB_ACTIONS")
    info("::notice::left alone outside Actions")
    assert run_commands(capsys.readouterr().err) == ["notice"]
