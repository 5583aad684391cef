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

# The same code in every environment; the values are in terraform.tfvars.
variable "environment" {
  type = string
}

variable "gcp_project_id" {
  type        = string
  description = "Set by orchestrate from gcp/<environment>/project (inputs in stack.yaml)."
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "azure/${var.environment}/hub"
  environment = var.environment
  extra       = { gcp_project = var.gcp_project_id }
}

resource "azurerm_resource_group" "hub" {
  name     = "acme-${var.environment}-hub"
  location = "westeurope"
  tags     = module.labels.tags
}

resource "azurerm_storage_account" "logs" {
  name                            = "acme${var.environment}logs"
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
