terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {}

data "terraform_remote_state" "gcp_project" {
  backend = "local"
  config = {
    path = "../../../../.orchestrate/state/gcp/prod/project/terraform.tfstate"
  }
}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "aws/prod/data"
  environment = "prod"
  extra       = { gcp_project = data.terraform_remote_state.gcp_project.outputs.project_id }
}

resource "aws_dynamodb_table" "sessions" {
  name         = "acme-prod-sessions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  tags = module.labels.tags
}

output "table_name" {
  value = aws_dynamodb_table.sessions.name
}
