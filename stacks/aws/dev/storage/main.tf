terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {}

variable "gcp_project_id" {
  type        = string
  description = "Set by orchestrate from gcp/dev/project (inputs in stack.yaml)."
}

module "assets" {
  source      = "../../../../modules/aws-bucket"
  name        = "acme-dev-assets"
  stack       = "aws/dev/storage"
  environment = "dev"
  extra_tags  = { gcp_project = var.gcp_project_id }
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "aws/dev/storage"
  environment = "dev"
}

resource "aws_sqs_queue" "jobs" {
  name                      = "acme-dev-jobs"
  message_retention_seconds = 345600
  tags                      = module.labels.tags
}

output "bucket" {
  value = module.assets.bucket
}

output "bucket_arn" {
  value = module.assets.arn
}

output "queue_url" {
  value = aws_sqs_queue.jobs.url
}
