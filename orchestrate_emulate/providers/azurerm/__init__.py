"""The stand-in ``hashicorp/azurerm``: azure-mgmt-resource against the ARM emulator.

Resources: azurerm_resource_group, azurerm_storage_account, azurerm_virtual_network (read and written
generically by id).
Data sources: azurerm_client_config, azurerm_resource_group. The provider block takes the real
provider's common arguments and needs ``features {}``, as azurerm 3.x does
(``features { resource_group { prevent_deletion_if_contains_resources = false } }`` is honoured).

The endpoint comes from ``ARM_RESOURCE_MANAGER_ENDPOINT`` and the subscription from
``subscription_id`` or ``ARM_SUBSCRIPTION_ID``; without an endpoint it refuses to configure, so
it cannot touch a real subscription by accident.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

from tf.blocks import SetNestedBlock
from tf.schema import Attribute, Block, Schema
from tf.types import Bool, String

from orchestrate_emulate.providers._runtime import BaseDataSource, BaseProvider, BaseResource, ProviderError

TENANT = "00000000-0000-0000-0000-000000000000"
CLIENT = "00000000-0000-0000-0000-0000000000c1"


class _Token:
    """ARM's pipeline wants a credential; the emulator checks none."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("emulated", 4_000_000_000)


class AzurermProvider(BaseProvider):
    name = "azurerm"

    resources: ClassVar[list[type[BaseResource]]] = []
    data_sources: ClassVar[list[type[BaseDataSource]]] = []

    def __init__(self) -> None:
        super().__init__()
        self.endpoint = ""
        self.subscription_id = ""
        self.tenant_id = TENANT
        self.client_id = CLIENT
        self.prevent_deletion_if_contains_resources = True
        self._client: Any = None
        self._lock = threading.Lock()  # Terraform reads resources in parallel threads

    def build_schema(self) -> Schema:
        strings = (
            "subscription_id",
            "tenant_id",
            "client_id",
            "environment",
            "metadata_host",
            "msi_endpoint",
        )
        bools = ("skip_provider_registration", "storage_use_azuread", "use_cli", "use_msi", "use_oidc")
        features = Block(
            block_types=[
                SetNestedBlock(
                    "resource_group",
                    Block(
                        attributes=[
                            Attribute("prevent_deletion_if_contains_resources", Bool(), optional=True)
                        ]
                    ),
                ),
            ]
        )
        return Schema(
            version=0,
            attributes=[
                *(Attribute(n, String(), optional=True) for n in strings),
                Attribute("client_secret", String(), optional=True, sensitive=True),
                *(Attribute(n, Bool(), optional=True) for n in bools),
            ],
            block_types=[SetNestedBlock("features", features)],
        )

    def validate_config(self, diags: Any, config: dict[str, Any]) -> None:
        features = (config or {}).get("features")
        if isinstance(features, list) and not features:
            diags.add_error(
                'Insufficient features blocks: at least 1 "features" block is required',
                'Add `features {}` to the provider "azurerm" block, as azurerm 3.x requires.',
            )

    def configure(self, config: dict[str, Any]) -> None:
        self.endpoint = (os.environ.get("ARM_RESOURCE_MANAGER_ENDPOINT") or "").rstrip("/")
        if not self.endpoint:
            raise ProviderError(
                "this stand-in hashicorp/azurerm only talks to the emulated Resource Manager and none is set: "
                "run `orchestrate emulate up` and use its environment (ARM_RESOURCE_MANAGER_ENDPOINT)"
            )
        self.subscription_id = config.get("subscription_id") or os.environ.get("ARM_SUBSCRIPTION_ID") or ""
        if not self.subscription_id:
            raise ProviderError("no subscription: set subscription_id or ARM_SUBSCRIPTION_ID")
        self.tenant_id = config.get("tenant_id") or os.environ.get("ARM_TENANT_ID") or TENANT
        self.client_id = config.get("client_id") or os.environ.get("ARM_CLIENT_ID") or CLIENT
        for features in config.get("features") or []:
            for rg in (features or {}).get("resource_group") or []:
                value = (rg or {}).get("prevent_deletion_if_contains_resources")
                if value is not None:
                    self.prevent_deletion_if_contains_resources = bool(value)

    def client(self) -> Any:
        """azure-mgmt-resource's ResourceManagementClient on the emulator (imported on first use)."""
        with self._lock:
            return self._client_locked()

    def _client_locked(self) -> Any:
        if self._client is None:
            from azure.core.pipeline.policies import SansIOHTTPPolicy
            from azure.mgmt.resource.resources import ResourceManagementClient

            self._client = ResourceManagementClient(
                _Token(),
                self.subscription_id,
                base_url=self.endpoint,
                # ARM refuses bearer tokens over plain http; the emulator needs none.
                authentication_policy=SansIOHTTPPolicy(),
            )
        return self._client


def _register() -> None:
    from orchestrate_emulate.providers.azurerm.data import ClientConfig, ResourceGroupData
    from orchestrate_emulate.providers.azurerm.resource_group import ResourceGroup
    from orchestrate_emulate.providers.azurerm.storage_account import StorageAccount
    from orchestrate_emulate.providers.azurerm.virtual_network import VirtualNetwork

    AzurermProvider.resources = [ResourceGroup, StorageAccount, VirtualNetwork]
    AzurermProvider.data_sources = [ClientConfig, ResourceGroupData]


_register()
