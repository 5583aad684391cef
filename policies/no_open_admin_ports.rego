# no-open-admin-ports: no ingress from anywhere (0.0.0.0/0 or ::/0) to SSH (22) or RDP (3389).
#
# Covers aws_security_group (inline ingress), aws_security_group_rule,
# aws_vpc_security_group_ingress_rule, google_compute_firewall,
# azurerm_network_security_rule and azurerm_network_security_group (inline rules).
# A rule for all protocols or a port range that includes 22 or 3389 counts.
package main

import rego.v1

import data.lib.terraform as tf

admin_ports := {22: "SSH", 3389: "RDP"}

anywhere := {"0.0.0.0/0", "::/0"}

azure_anywhere := {"*", "0.0.0.0/0", "0.0.0.0", "::/0", "internet", "any"}

protocol(value) := tf.lc(value)

protocol(value) := format_int(value, 10) if is_number(value)

in_range(from, to, port) if {
	is_number(from)
	is_number(to)
	from <= port
	port <= to
}

# "22", "20-30", "*" (Azure), as strings.
port_spec_covers(spec, _) if spec == "*"

port_spec_covers(spec, port) if {
	is_string(spec)
	regex.match(`^\s*[0-9]+\s*$`, spec)
	to_number(trim_space(spec)) == port
}

port_spec_covers(spec, port) if {
	is_string(spec)
	regex.match(`^\s*[0-9]+\s*-\s*[0-9]+\s*$`, spec)
	bounds := split(replace(spec, " ", ""), "-")
	to_number(bounds[0]) <= port
	port <= to_number(bounds[1])
}

# --- AWS

aws_open(proto, _, _, _) if protocol(proto) in {"-1", "all"}

aws_open(proto, from, to, port) if {
	protocol(proto) in {"tcp", "6", "udp", "17"}
	in_range(from, to, port)
}

aws_world(rule) := {cidr |
	some attr in ["cidr_blocks", "ipv6_cidr_blocks"]
	some cidr in rule[attr]
	cidr in anywhere
}

aws_ingress contains [rc.address, rule.protocol, rule.from_port, rule.to_port, cidr] if {
	some rc in input.resource_changes
	rc.type == "aws_security_group"
	tf.writes(rc)
	some rule in rc.change.after.ingress
	some cidr in aws_world(rule)
}

aws_ingress contains [rc.address, after.protocol, after.from_port, after.to_port, cidr] if {
	some rc in input.resource_changes
	rc.type == "aws_security_group_rule"
	tf.writes(rc)
	after := rc.change.after
	after.type == "ingress"
	some cidr in aws_world(after)
}

aws_ingress contains [rc.address, after.ip_protocol, after.from_port, after.to_port, cidr] if {
	some rc in input.resource_changes
	rc.type == "aws_vpc_security_group_ingress_rule"
	tf.writes(rc)
	after := rc.change.after
	some attr in ["cidr_ipv4", "cidr_ipv6"]
	cidr := after[attr]
	cidr in anywhere
}

deny contains result if {
	some entry in aws_ingress
	[address, proto, from, to, cidr] := entry
	some port, service in admin_ports
	aws_open(proto, from, to, port)
	msg := concat("", [
		address, ": allows ", service, " (port ", format_int(port, 10), ") from ", cidr,
		"; restrict the source to known ranges, or reach hosts through SSM or a bastion",
	])
	result := tf.result("no-open-admin-ports", address, msg)
}

# --- GCP

gcp_ingress(after) if {
	direction := object.get(after, "direction", null)
	direction == null
}

gcp_ingress(after) if {
	is_string(after.direction)
	upper(after.direction) == "INGRESS"
}

gcp_source_attributes := ["source_ranges", "source_tags", "source_service_accounts"]

# No source ranges, tags or service accounts (all known): Google Cloud applies 0.0.0.0/0.
gcp_sources(rc) := ["0.0.0.0/0 (no source given)"] if {
	every attr in gcp_source_attributes {
		not tf.unknown(rc, attr)
		count(tf.items(object.get(rc.change.after, attr, null))) == 0
	}
} else := [source |
	some source in tf.items(object.get(rc.change.after, "source_ranges", null))
	source in anywhere
]

gcp_allows(allow, _) if protocol(allow.protocol) == "all"

gcp_allows(allow, _) if {
	protocol(allow.protocol) in {"tcp", "udp", "6", "17"}
	count(tf.items(object.get(allow, "ports", null))) == 0
}

gcp_allows(allow, port) if {
	protocol(allow.protocol) in {"tcp", "udp", "6", "17"}
	some spec in allow.ports
	port_spec_covers(spec, port)
}

deny contains result if {
	some rc in input.resource_changes
	rc.type == "google_compute_firewall"
	tf.writes(rc)
	after := rc.change.after
	not tf.truthy(object.get(after, "disabled", false))
	gcp_ingress(after)
	some source in gcp_sources(rc)
	some allow in after.allow
	some port, service in admin_ports
	gcp_allows(allow, port)
	msg := concat("", [
		rc.address, ": allows ", service, " (port ", format_int(port, 10), ") from ", source,
		"; restrict source_ranges, or use IAP TCP forwarding (35.235.240.0/20)",
	])
	result := tf.result("no-open-admin-ports", rc.address, msg)
}

# --- Azure

azure_rule_open(rule, port) if {
	tf.lc(rule.direction) == "inbound"
	tf.lc(rule.access) == "allow"
	protocol(rule.protocol) in {"tcp", "udp", "*"}
	azure_from_anywhere(rule)
	azure_port(rule, port)
}

azure_from_anywhere(rule) if tf.lc(rule.source_address_prefix) in azure_anywhere

azure_from_anywhere(rule) if {
	some prefix in rule.source_address_prefixes
	tf.lc(prefix) in azure_anywhere
}

azure_port(rule, port) if port_spec_covers(rule.destination_port_range, port)

azure_port(rule, port) if {
	some spec in rule.destination_port_ranges
	port_spec_covers(spec, port)
}

azure_rules contains [rc.address, rule] if {
	some rc in input.resource_changes
	rc.type == "azurerm_network_security_rule"
	tf.writes(rc)
	rule := rc.change.after
}

azure_rules contains [rc.address, rule] if {
	some rc in input.resource_changes
	rc.type == "azurerm_network_security_group"
	tf.writes(rc)
	some rule in rc.change.after.security_rule
}

deny contains result if {
	some entry in azure_rules
	[address, rule] := entry
	some port, service in admin_ports
	azure_rule_open(rule, port)
	name := object.get(rule, "name", "")
	msg := concat("", [
		address, ": security rule ", name, " allows ", service, " (port ", format_int(port, 10),
		") from anywhere; restrict source_address_prefix, or use Azure Bastion",
	])
	result := tf.result("no-open-admin-ports", address, msg)
}
