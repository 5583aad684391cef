"""Serve the stand-in hashicorp/google provider (Terraform starts this through the mirror's launcher)."""

from orchestrator.emulate.providers._runtime import serve
from orchestrator.emulate.providers.google import GoogleProvider

serve(GoogleProvider())
