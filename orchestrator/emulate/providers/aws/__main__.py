"""Serve the stand-in hashicorp/aws provider (Terraform starts this through the mirror's launcher)."""

from orchestrator.emulate.providers._runtime import serve
from orchestrator.emulate.providers.aws import AwsProvider

serve(AwsProvider())
