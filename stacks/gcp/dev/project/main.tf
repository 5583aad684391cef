terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

provider "google" {}

# The same code in every environment; the values are in terraform.tfvars.
variable "environment" {
  type = string
}

variable "folder_id" {
  type        = string
  description = "Set by orchestrate from gcp/shared/folder (inputs in stack.yaml)."
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "gcp/${var.environment}/project"
  environment = var.environment
}

resource "google_project" "main" {
  project_id = "acme-${var.environment}"
  name       = "Acme ${var.environment}"
  folder_id  = var.folder_id
  labels     = module.labels.labels
}

output "project_id" {
  value = google_project.main.project_id
}

output "project_number" {
  value = google_project.main.number
}
