# An S3 bucket with the estate's tags. Calls the labels module (modules use modules).
variable "name" {
  type = string
}

variable "stack" {
  type = string
}

variable "environment" {
  type = string
}

variable "extra_tags" {
  type    = map(string)
  default = {}
}

module "labels" {
  source      = "../labels"
  stack       = var.stack
  environment = var.environment
  extra       = var.extra_tags
}

resource "aws_s3_bucket" "this" {
  bucket        = var.name
  force_destroy = var.environment != "prod"
  tags          = module.labels.tags
}

output "bucket" {
  value = aws_s3_bucket.this.bucket
}

output "arn" {
  value = aws_s3_bucket.this.arn
}
