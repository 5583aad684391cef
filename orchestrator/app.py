"""Options shared by every command, and the workspace they load lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from orchestrator.workspace import Workspace


@dataclass
class App:
    repo: Path | None = None
    config_file: Path | None = None
    json_output: bool = False
    verbose: bool = False
    no_color: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace.load(self.repo, self.config_file)
        return self._workspace


pass_app = click.make_pass_decorator(App, ensure=True)


def get_app() -> App:
    ctx = click.get_current_context()
    app = ctx.find_object(App)
    if app is None:  # pragma: no cover - the group always creates one
        app = ctx.ensure_object(App)
    return app


def json_flag_or(fmt: str | None, default: str) -> str:
    """The --format to use: --json on the group forces json where a command offers it."""
    app = get_app()
    if app.json_output:
        return "json"
    return fmt or default
