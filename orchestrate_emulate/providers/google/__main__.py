"""Serve the stand-in hashicorp/google provider (Terraform starts this through the mirror's launcher)."""

from orchestrate_emulate.providers._runtime import serve
from orchestrate_emulate.providers.google import GoogleProvider

serve(GoogleProvider())
