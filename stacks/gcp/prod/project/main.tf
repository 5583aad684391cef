terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

provider "google" {}

variable "folder_id" {
  type        = string
  description = "Set by orchestrate from gcp/shared/folder (inputs in stack.yaml)."
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "gcp/prod/project"
  environment = "prod"
}

resource "google_project" "main" {
  project_id = "acme-prod"
  name       = "Acme prod"
  folder_id  = var.folder_id
  labels     = module.labels.labels
}

output "project_id" {
  value = google_project.main.project_id
}

output "project_number" {
  value = google_project.main.number
}
