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
  description = "Set by orchestrate from gcp/prod/project (inputs in stack.yaml)."
}

module "assets" {
  source      = "../../../../modules/aws-bucket"
  name        = "acme-prod-assets"
  stack       = "aws/prod/storage"
  environment = "prod"
  extra_tags  = { gcp_project = var.gcp_project_id }
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "aws/prod/storage"
  environment = "prod"
}

resource "aws_sqs_queue" "jobs" {
  name                      = "acme-prod-jobs"
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
