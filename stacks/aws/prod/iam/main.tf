terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {}

variable "bucket_arn" {
  type        = string
  description = "Set by orchestrate from aws/prod/storage (inputs in stack.yaml)."
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "aws/prod/iam"
  environment = "prod"
  extra       = { bucket = var.bucket_arn }
}

resource "aws_iam_role" "worker" {
  name = "acme-prod-worker"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = module.labels.tags
}

output "role_arn" {
  value = aws_iam_role.worker.arn
}
