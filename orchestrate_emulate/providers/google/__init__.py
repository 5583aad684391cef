"""The stand-in ``hashicorp/google``: google-cloud-resource-manager v3 against the GCP emulator.

Resources: google_project, google_folder, google_storage_bucket and google_compute_network (the
last two through the emulator's Storage and Compute JSON APIs, on the same endpoint). The provider block takes the real provider's common
arguments (project, region, zone, credentials, access_token, billing_project,
user_project_override, default_labels, add_terraform_attribution_label, request_timeout,
resource_manager_custom_endpoint, resource_manager_v3_custom_endpoint).

The endpoint comes from ``resource_manager_v3_custom_endpoint`` / ``resource_manager_custom_endpoint``
or ``GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT``; without one it refuses to configure, so it cannot
touch a real organisation by accident. Credentials are anonymous (the emulator has no IAM).
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any, ClassVar

from tf.schema import Attribute, Schema
from tf.types import Bool, Map, String

from orchestrate_emulate.providers._runtime import BaseDataSource, BaseProvider, BaseResource, ProviderError

ENDPOINT_ENV = ("GOOGLE_RESOURCE_MANAGER_V3_CUSTOM_ENDPOINT", "GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT")


def api_root(endpoint: str) -> str:
    """``http://127.0.0.1:9/v1/`` -> ``http://127.0.0.1:9``: the clients add the version path."""
    return re.sub(r"/(v\d+(beta\d*)?/?)?$", "", endpoint.rstrip("/"))


class GoogleProvider(BaseProvider):
    name = "google"

    resources: ClassVar[list[type[BaseResource]]] = []
    data_sources: ClassVar[list[type[BaseDataSource]]] = []

    def __init__(self) -> None:
        super().__init__()
        self.endpoint = ""
        self.project = ""
        self.default_labels: dict[str, str] = {}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # Terraform reads resources in parallel threads

    def build_schema(self) -> Schema:
        strings = (
            "project",
            "region",
            "zone",
            "billing_project",
            "request_timeout",
            "impersonate_service_account",
            "resource_manager_custom_endpoint",
            "resource_manager_v3_custom_endpoint",
        )
        return Schema(
            version=0,
            attributes=[
                *(Attribute(n, String(), optional=True) for n in strings),
                Attribute("credentials", String(), optional=True, sensitive=True),
                Attribute("access_token", String(), optional=True, sensitive=True),
                Attribute("user_project_override", Bool(), optional=True),
                Attribute("add_terraform_attribution_label", Bool(), optional=True),
                Attribute("default_labels", Map(String()), optional=True),
            ],
        )

    def configure(self, config: dict[str, Any]) -> None:
        endpoint = config.get("resource_manager_v3_custom_endpoint") or config.get(
            "resource_manager_custom_endpoint"
        )
        for var in ENDPOINT_ENV:
            endpoint = endpoint or os.environ.get(var)
        if not endpoint:
            raise ProviderError(
                "this stand-in hashicorp/google only talks to the emulated Resource Manager and none is set: "
                "run `orchestrate emulate up` and use its environment (GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT)"
            )
        self.endpoint = api_root(endpoint)
        self.project = (
            config.get("project")
            or os.environ.get("GOOGLE_PROJECT")
            or os.environ.get("GOOGLE_CLOUD_PROJECT")
            or ""
        )
        self.default_labels = dict(config.get("default_labels") or {})

    def client(self, kind: str) -> Any:
        """A resourcemanager_v3 ``projects`` or ``folders`` client on the emulator (imported on first use)."""
        with self._lock:
            return self._client_locked(kind)

    def _client_locked(self, kind: str) -> Any:
        if kind not in self._clients:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import resourcemanager_v3

            cls = {
                "projects": resourcemanager_v3.ProjectsClient,
                "folders": resourcemanager_v3.FoldersClient,
            }[kind]
            self._clients[kind] = cls(
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                transport="rest",
                client_options=ClientOptions(api_endpoint=self.endpoint),
            )
        return self._clients[kind]


def _register() -> None:
    from orchestrate_emulate.providers.google.compute_network import ComputeNetwork
    from orchestrate_emulate.providers.google.folder import Folder
    from orchestrate_emulate.providers.google.project import Project
    from orchestrate_emulate.providers.google.storage_bucket import StorageBucket

    GoogleProvider.resources = [Project, Folder, StorageBucket, ComputeNetwork]


_register()
