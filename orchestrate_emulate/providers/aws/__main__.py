"""Serve the stand-in hashicorp/aws provider (Terraform starts this through the mirror's launcher)."""

from orchestrate_emulate.providers._runtime import serve
from orchestrate_emulate.providers.aws import AwsProvider

serve(AwsProvider())
