terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {}

module "labels" {
  source      = "../../../../modules/labels"
  stack       = "aws/prod/network"
  environment = "prod"
}

resource "aws_security_group" "web" {
  name        = "acme-prod-web"
  description = "HTTPS from the corporate range"

  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = module.labels.tags
}

output "security_group_id" {
  value = aws_security_group.web.id
}
