"""The real edges of a scan: cloud readers from the cloud targets, terraform for refresh and pull."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.clouds import ResolvedTarget
from orchestrator.drift.retry import RetryPolicy
from orchestrator.drift.scan import Reader, ReaderFactory, ScanIO
from orchestrator.errors import OrchestratorError
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from orchestrator.engine.context import Engine
    from orchestrator.terraform.runner import CancelToken


def aws_reader_factory(ws: Workspace, retry: RetryPolicy) -> ReaderFactory:
    from orchestrator.drift.aws import AwsReader, default_session

    emulate = ws.emulate

    def make(resolved: ResolvedTarget) -> Reader:
        env = emulate.env if (emulate is not None and resolved.emulated) else None
        return AwsReader(resolved, default_session(resolved, env), retry=retry)

    return make


def gcp_reader_factory(retry: RetryPolicy) -> ReaderFactory:
    from orchestrator.drift.gcp import GcpReader

    def make(resolved: ResolvedTarget) -> Reader:
        return GcpReader(resolved, retry=retry)

    return make


def azure_reader_factory(retry: RetryPolicy) -> ReaderFactory:
    from orchestrator.drift.azure import AzureReader

    def make(resolved: ResolvedTarget) -> Reader:
        return AzureReader(resolved, retry=retry)

    return make


class LazyEngine:
    """The terraform engine, created on first use (api-mode scans of local/S3 state need none)."""

    def __init__(self, ws: Workspace, cancel: CancelToken | None = None) -> None:
        self.ws = ws
        self.cancel = cancel
        self._engine: Engine | None = None
        self._error: OrchestratorError | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._engine is None:
                from orchestrator.engine.context import Engine
                from orchestrator.terraform.binary import locate
                from orchestrator.terraform.runner import CancelToken

                t = self.ws.config.terraform
                try:
                    binary = locate(t.binary, t.version)
                except OrchestratorError as exc:
                    self._error = exc
                    raise
                cancel = self.cancel if self.cancel is not None else CancelToken()
                self._engine = Engine(self.ws, binary, cancel=cancel)
            return self._engine


def default_io(
    ws: Workspace,
    *,
    progress: Callable[[str], None],
    retry: RetryPolicy | None = None,
    cancel: CancelToken | None = None,
) -> ScanIO:
    from orchestrator.drift.refresh import terraform_pull, terraform_refresh

    policy = retry or RetryPolicy()
    readers: dict[str, ReaderFactory] = {
        "aws": aws_reader_factory(ws, policy),
        "gcp": gcp_reader_factory(policy),
        "azure": azure_reader_factory(policy),
    }
    engine = LazyEngine(ws, cancel)
    return ScanIO(
        readers=readers,
        refresh=lambda stack, targets: terraform_refresh(engine.get())(stack, targets),
        pull=lambda stack: terraform_pull(engine.get())(stack),
        progress=progress,
    )
