terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {}

# The same code in every environment (orchestrate envs diff checks it); what differs per
# environment is in terraform.tfvars.
variable "environment" {
  type        = string
  description = "dev or prod: names and tags."
}

variable "gcp_project_id" {
  type        = string
  description = "Set by orchestrate from gcp/<environment>/project (inputs in stack.yaml)."
}

variable "message_retention_seconds" {
  type    = number
  default = 345600
}

module "assets" {
  source      = "../../../../modules/aws-bucket"
  name        = "acme-${var.environment}-assets"
  stack       = "aws/${var.environment}/storage"
  environment = var.environment
  extra_tags  = { gcp_project = var.gcp_project_id }
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "aws/${var.environment}/storage"
  environment = var.environment
}

resource "aws_sqs_queue" "jobs" {
  name                      = "acme-${var.environment}-jobs"
  message_retention_seconds = var.message_retention_seconds
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
