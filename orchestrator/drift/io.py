"""The real edges of a scan: cloud readers from the cloud targets, terraform for refresh and pull."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.clouds import ResolvedTarget, read_emulate_state
from orchestrator.drift.retry import RetryPolicy
from orchestrator.drift.scan import Reader, ReaderFactory, ScanIO
from orchestrator.workspace import Workspace


def aws_reader_factory(ws: Workspace, retry: RetryPolicy) -> ReaderFactory:
    from orchestrator.drift.aws import AwsReader, default_session

    emulate = read_emulate_state(ws.root)

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


def default_io(ws: Workspace, *, progress: Callable[[str], None], retry: RetryPolicy | None = None) -> ScanIO:
    policy = retry or RetryPolicy()
    readers: dict[str, ReaderFactory] = {
        "aws": aws_reader_factory(ws, policy),
        "gcp": gcp_reader_factory(policy),
        "azure": azure_reader_factory(policy),
    }
    return ScanIO(readers=readers, progress=progress)
