terraform {
  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
    }
  }
}

provider "azurerm" {
  features {}
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "azure/dev/hub"
  environment = "dev"
  extra       = { gcp_project = "none" }
}

resource "azurerm_resource_group" "hub" {
  name     = "acme-dev-hub"
  location = "westeurope"
  tags     = module.labels.tags
}

resource "azurerm_storage_account" "logs" {
  name                            = "acmedevlogs"
  resource_group_name             = azurerm_resource_group.hub.name
  location                        = azurerm_resource_group.hub.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  allow_nested_items_to_be_public = false
  min_tls_version                 = "TLS1_2"
  tags                            = module.labels.tags
}

output "resource_group" {
  value = azurerm_resource_group.hub.name
}

output "storage_account_id" {
  value = azurerm_storage_account.logs.id
}
