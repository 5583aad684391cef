"""A loaded repository: root, configuration, stacks and graph, read once per command."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from orchestrator.config import RootConfig
from orchestrator.discovery import STATE_DIR, Discovery, Stack, discover, find_repo_root, load_config
from orchestrator.graph import StackGraph, build_graph


@dataclass
class Workspace:
    root: Path
    config: RootConfig
    config_file: str | None
    use_cache: bool = True

    @classmethod
    def load(
        cls, repo: Path | None = None, config_file: Path | None = None, *, use_cache: bool = True
    ) -> Workspace:
        root = repo.resolve() if repo is not None else find_repo_root(Path.cwd())
        config, shown = load_config(root, config_file)
        return cls(root=root, config=config, config_file=shown, use_cache=use_cache)

    @cached_property
    def discovery(self) -> Discovery:
        return discover(self.root, self.config, self.config_file, use_cache=self.use_cache)

    @cached_property
    def graph(self) -> StackGraph:
        return build_graph(self.discovery)

    @property
    def stacks(self) -> dict[str, Stack]:
        return self.discovery.stacks

    @property
    def state_dir(self) -> Path:
        """The repository's .orchestrate directory (plan sets, state, locks, cache)."""
        return self.root / STATE_DIR
