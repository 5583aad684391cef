"""Emulated clouds: local servers and stand-in Terraform providers for trying orchestrate offline.

- :mod:`orchestrate_emulate.gcp_api`: Cloud Resource Manager v3 emulator (projects, folders)
- :mod:`orchestrate_emulate.azure_api`: Azure Resource Manager emulator (resource groups, resources)
- moto's server stands in for AWS
- :mod:`orchestrate_emulate.providers`: ``hashicorp/aws``, ``hashicorp/google`` and
  ``hashicorp/azurerm`` written with the ``tf`` framework, covering a documented subset
- :mod:`orchestrate_emulate.mirror`: the filesystem mirror and CLI config that install them
- :mod:`orchestrate_emulate.manager`: ``orchestrate emulate up|down|env`` (processes, state file)
"""
