"""orchestrate init: scaffold orchestrate.yaml for an existing repository."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.app import get_app
from orchestrator.config import ROOT_CONFIG_NAME, parse_root_config
from orchestrator.errors import EXIT_ERROR, EXIT_OK
from orchestrator.ui import emit, info, warn


@click.command("init")
@click.option("--print", "print_only", is_flag=True, help="Print the configuration; write nothing.")
@click.option("--force", is_flag=True, help="Replace an orchestrate.yaml that differs from what init infers.")
def command(print_only: bool, force: bool) -> int:
    """Infer orchestrate.yaml: stacks from atlantis.yaml, Terramate or root modules; targets from paths."""
    from orchestrator.discovery import find_repo_root
    from orchestrator.fileio import write_atomic
    from orchestrator.scaffold import infer

    app = get_app()
    root = app.repo.resolve() if app.repo is not None else find_repo_root(Path.cwd())
    inferred = infer(root)
    text = inferred.text()
    parse_root_config(text, f"{ROOT_CONFIG_NAME} (inferred)")  # what init writes always loads
    for reason in inferred.reasons:
        info(f"inferred: {reason}", no_color=app.no_color)
    for todo in inferred.todo:
        warn(f"fill in: {todo}", no_color=app.no_color)
    if print_only:
        emit(text.rstrip("\n"))
        return EXIT_OK
    path = root / ROOT_CONFIG_NAME
    if path.is_file():
        if path.read_text(encoding="utf-8", errors="replace") == text:
            info(f"{ROOT_CONFIG_NAME} is up to date: nothing changed", no_color=app.no_color)
            return EXIT_OK
        if not force:
            info(
                f"error: {ROOT_CONFIG_NAME} exists and differs from what init infers; nothing changed\n"
                "  Run `orchestrate init --print` to see it, or --force to replace the file.",
                no_color=app.no_color,
            )
            return EXIT_ERROR
    write_atomic(path, text)
    info(
        f"wrote {ROOT_CONFIG_NAME}; check it with `orchestrate list` and `orchestrate validate`",
        no_color=app.no_color,
    )
    return EXIT_OK
