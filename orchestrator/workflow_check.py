"""Check that every `orchestrate` command line in the shipped workflows and the composite action
names a command and options that exist (run by .ci/run: `python -m orchestrator.workflow_check`).

A workflow is read by GitHub, not by us, so a renamed option would only fail in a user's CI.
Each ``run:`` script is split into shell words (continuation lines joined); every word sequence
that starts with ``orchestrate`` is resolved against the click command tree: global options,
then the command (and a group's subcommand), then its options.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

_SEPARATORS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "<", "2>&1", "then", "do", "else", "fi"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}\n    {self.line}"


def run_scripts(doc: Any) -> Iterator[str]:
    """Every ``run:`` value in a workflow or composite action document."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "run" and isinstance(value, str):
                yield value
            else:
                yield from run_scripts(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from run_scripts(item)


def command_lines(script: str) -> Iterator[list[str]]:
    """The word lists of `orchestrate ...` invocations in a shell script."""
    joined = re.sub(r"\\\n\s*", " ", script)
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if "orchestrate" not in line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line, posix=True)
        except ValueError:
            continue
        for i, word in enumerate(words):
            if word == "orchestrate" or word.endswith("$(orchestrate"):
                rest = []
                for w in words[i + 1 :]:
                    if w in _SEPARATORS or w.startswith((">", "2>")) or w.endswith(")"):
                        if w.endswith(")") and not w.startswith(("(", "$")):
                            rest.append(w.rstrip(")"))
                        break
                    rest.append(w)
                yield rest


def _options(command: click.Command) -> dict[str, click.Parameter]:
    out: dict[str, click.Parameter] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in [*param.opts, *param.secondary_opts]:
                out[name] = param
    out["--help"] = click.Option(["--help"], is_flag=True)
    return out


def _check_options(command: click.Command, words: list[str], where: str) -> tuple[list[str], list[str]]:
    """Consume options of ``command`` from ``words``; return (problems, the remaining words)."""
    problems: list[str] = []
    opts = _options(command)
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and word != "-":
            name = word.split("=", 1)[0]
            param = opts.get(name)
            if param is None:
                problems.append(f"`{where}` has no option {name}")
            elif isinstance(param, click.Option) and not param.is_flag and "=" not in word:
                i += 1  # its value
            i += 1
            continue
        rest.append(word)
        i += 1
    return problems, rest


def check_words(words: list[str]) -> list[str]:
    """Problems with one `orchestrate` invocation (``words`` excludes the program name)."""
    from orchestrator.cli import cli

    ctx = click.Context(cli)
    problems: list[str] = []
    globals_ = _options(cli)
    i = 0
    while i < len(words) and words[i].startswith("-"):
        name = words[i].split("=", 1)[0]
        param = globals_.get(name)
        if param is None:
            problems.append(f"orchestrate has no global option {name}")
        elif isinstance(param, click.Option) and not param.is_flag and "=" not in words[i]:
            i += 1
        i += 1
    if i >= len(words):
        return problems
    command: click.Command | None = cli.get_command(ctx, words[i])
    where = f"orchestrate {words[i]}"
    if command is None:
        return [*problems, f"orchestrate has no command {words[i]!r}"]
    remaining = words[i + 1 :]
    if isinstance(command, click.Group):
        sub = next((w for w in remaining if not w.startswith("-")), None)
        found = command.get_command(ctx, sub) if sub is not None else None
        if found is None:
            return [*problems, f"`{where}` has no subcommand {sub!r}"]
        where += f" {sub}"
        remaining = remaining[remaining.index(sub) + 1 :] if sub is not None else []
        command = found
    found_problems, _ = _check_options(command, remaining, where)
    return problems + found_problems


def check_file(path: Path, root: Path) -> list[Problem]:
    doc = yaml.safe_load(path.read_text())
    out = []
    for script in run_scripts(doc):
        for words in command_lines(script):
            for message in check_words(words):
                out.append(Problem(str(path.relative_to(root)), "orchestrate " + " ".join(words), message))
    return out


def shipped_files(root: Path) -> list[Path]:
    files = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    action = root / "action.yml"
    return [*files, action] if action.is_file() else files


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0] if argv else ".").resolve()
    problems = [p for f in shipped_files(root) for p in check_file(f, root)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} orchestrate command line(s) in workflows do not exist", file=sys.stderr)
        return 1
    print(f"workflow commands: every orchestrate command line in {len(shipped_files(root))} files exists")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
