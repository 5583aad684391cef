"""Serve the stand-in hashicorp/azurerm provider (Terraform starts this through the mirror's launcher)."""

from orchestrate_emulate.providers._runtime import serve
from orchestrate_emulate.providers.azurerm import AzurermProvider

serve(AzurermProvider())
