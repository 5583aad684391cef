# allowed-regions: resources only in the regions/locations allowed for their cloud.
#
# Parameter (orchestrate.yaml policies.data or stack.yaml policy.params):
#   allowed_regions: {aws: [eu-west-1], gcp: [europe-west1, EU], azure: [westeurope]}
#
# Checked: the stack's cloud target (its region or location; once per plan that writes), the region of each provider
# block, and each created or updated resource's `region`, `location`, `zone` or
# `availability_zone` when known at plan time. A zone is allowed when it or its region is
# listed. Comparison ignores case and spaces ("West Europe" = "westeurope"). "global"
# locations and clouds without a list are not restricted.
package main

import rego.v1

import data.lib.terraform as tf

location_attributes := ["region", "location", "zone", "availability_zone"]

provider_block := {"aws": "aws", "gcp": "google"}

allowed(provider) := {tf.normal_location(r) | some r in object.get(tf.param("allowed_regions", {}), provider, [])}

allowed_text(provider) := concat(", ", sort([r | some r in allowed(provider)]))

# A zone (eu-west-1a, europe-west1-b) counts as its region.
region_of(location) := trim_right(location, "abcdefghijklmnopqrstuvwxyz") if {
	regex.match(`^([a-z]+-)+[0-9]+[a-z]$`, location)
}

region_of(location) := substring(location, 0, count(location) - 2) if {
	regex.match(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`, location)
}

location_allowed(provider, location) if location in allowed(provider)

location_allowed(provider, location) if region_of(location) in allowed(provider)

location_allowed(_, location) if location == "global"

deny contains result if {
	provider := input.orchestrate.provider
	region := tf.normal_location(input.orchestrate.region)
	count(allowed(provider)) > 0
	not location_allowed(provider, region)
	count([rc | some rc in input.resource_changes; tf.writes(rc)]) > 0
	msg := concat("", [
		"the stack's cloud target ", input.orchestrate.cloud, " is in ", region,
		", which is not an allowed ", provider, " region (allowed: ", allowed_text(provider), ")",
	])
	result := {"msg": msg, "policy": "allowed-regions"}
}

deny contains result if {
	some rc in input.resource_changes
	tf.writes(rc)
	provider := tf.provider_of(rc.type)
	count(allowed(provider)) > 0
	some attr in location_attributes
	location := tf.normal_location(tf.after(rc, attr))
	not location_allowed(provider, location)
	msg := concat("", [
		rc.address, ": ", attr, " ", location, " is not an allowed ", provider,
		" region (allowed: ", allowed_text(provider), ")",
	])
	result := tf.result("allowed-regions", rc.address, msg)
}

deny contains result if {
	some provider, name in provider_block
	count(allowed(provider)) > 0
	some key, pc in input.configuration.provider_config
	pc.name == name
	region := tf.normal_location(pc.expressions.region.constant_value)
	not location_allowed(provider, region)
	msg := concat("", [
		"provider ", key, " is configured for ", region, ", which is not an allowed ", provider,
		" region (allowed: ", allowed_text(provider), ")",
	])
	result := {"msg": msg, "policy": "allowed-regions"}
}
