"""Real GCP and Azure SDK clients pointed at the local emulators, and fixtures that run them.

Shared by the drift and emulate tests (import the fixtures into a conftest or test module).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator


@pytest.fixture
def gcp() -> Iterator[GcpEmulator]:
    with GcpEmulator() as emulator:
        yield emulator


@pytest.fixture
def arm() -> Iterator[AzureEmulator]:
    with AzureEmulator() as emulator:
        yield emulator


def gcp_clients(url: str) -> tuple[Any, Any]:
    """(ProjectsClient, FoldersClient) of google-cloud-resource-manager pointed at ``url``."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import resourcemanager_v3

    kw: dict[str, Any] = {
        "credentials": AnonymousCredentials(),
        "transport": "rest",
        "client_options": ClientOptions(api_endpoint=url),
    }
    return resourcemanager_v3.ProjectsClient(**kw), resourcemanager_v3.FoldersClient(**kw)


class _Token:
    def get_token(self, *scopes: str, **kw: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("emulated", 4_000_000_000)


def arm_client(url: str, subscription: str) -> Any:
    """azure-mgmt-resource's ResourceManagementClient pointed at ``url`` (plain http allowed)."""
    from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy
    from azure.mgmt.resource.resources import ResourceManagementClient

    return ResourceManagementClient(
        _Token(),
        subscription,
        base_url=url,
        authentication_policy=SansIOHTTPPolicy(),
        retry_policy=RetryPolicy(retry_backoff_factor=0.01),
    )
