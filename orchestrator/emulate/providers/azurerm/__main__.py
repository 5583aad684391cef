"""Serve the stand-in hashicorp/azurerm provider (Terraform starts this through the mirror's launcher)."""

from orchestrator.emulate.providers._runtime import serve
from orchestrator.emulate.providers.azurerm import AzurermProvider

serve(AzurermProvider())
