"""Emulated clouds: local servers and stand-in Terraform providers for trying orchestrate offline.

- :mod:`orchestrator.emulate.gcp_api`: Cloud Resource Manager v3 emulator (projects, folders)
- :mod:`orchestrator.emulate.azure_api`: Azure Resource Manager emulator (resource groups, resources)
- moto's server stands in for AWS
- :mod:`orchestrator.emulate.providers`: ``hashicorp/aws``, ``hashicorp/google`` and
  ``hashicorp/azurerm`` written with the ``tf`` framework, covering a documented subset
- :mod:`orchestrator.emulate.mirror`: the filesystem mirror and CLI config that install them
- :mod:`orchestrator.emulate.manager`: ``orchestrate emulate up|down|env`` (processes, state file)
"""
