# Standard tags/labels for every resource of the estate. No provider: pure values.
variable "stack" {
  type        = string
  description = "The orchestrate stack id."
}

variable "environment" {
  type = string
}

variable "owner" {
  type    = string
  default = "platform-team"
}

variable "extra" {
  type    = map(string)
  default = {}
}

locals {
  tags = merge({
    owner       = var.owner
    environment = var.environment
    managed_by  = "orchestrate"
    stack       = replace(var.stack, "/", "-")
  }, var.extra)
}

output "tags" {
  value = local.tags
}

# GCP labels only take lower-case letters, digits, '-' and '_'.
output "labels" {
  value = { for k, v in local.tags : k => lower(replace(v, "/[^a-zA-Z0-9_-]/", "-")) }
}
