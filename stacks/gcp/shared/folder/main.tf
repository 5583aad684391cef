terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

provider "google" {}

resource "google_folder" "platform" {
  display_name = "platform"
  parent       = "organizations/123456789012"
}

output "folder_id" {
  value = google_folder.platform.name
}
