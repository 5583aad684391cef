"""A loaded repository: root, configuration, stacks and graph, read once per command."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.clouds import EmulateState, read_emulate_state
from orchestrator.config import RootConfig
from orchestrator.discovery import Discovery, Stack, discover, find_repo_root, load_config
from orchestrator.graph import StackGraph, build_graph
from orchestrator.planset import RecoveryInfo

if TYPE_CHECKING:
    from orchestrator.rules import BaseRules


@dataclass
class Workspace:
    root: Path
    config: RootConfig
    config_file: str | None
    use_cache: bool = True
    rules: BaseRules | None = None  # set in a pull request: the rules come from its base commit
    recovery: RecoveryInfo | None = None  # a disaster recovery's view (recovery.recovery_workspace)

    def judge_by(self, rules: BaseRules) -> None:
        """From now on approval, policies, redact, drift and github come from ``rules`` (the
        PR's base), not from the checked-out orchestrate.yaml. Call it before building an Engine."""
        self.config = rules.judged(self.config)
        self.rules = rules

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

    @cached_property
    def emulate(self) -> EmulateState | None:
        """The emulated clouds' endpoints and environment, when `orchestrate emulate up` runs
        (read once per command: every stack and reader of this command sees the same)."""
        return read_emulate_state(self.root)
