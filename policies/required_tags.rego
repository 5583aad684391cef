# required-tags: resources that take tags (AWS, Azure) or labels (GCP) carry the required keys.
#
# Parameters (orchestrate.yaml policies.data or stack.yaml policy.params):
#   required_tags:    keys every taggable resource must have, e.g. [owner, environment]
#   tag_exempt_types: resource types to skip
#
# A key counts as present when it is in the resource's own tags/labels, in what the
# provider adds (AWS `tags_all` from default_tags, GCP `effective_labels` from
# default_labels, including constant default_tags/default_labels in the provider block),
# or when its value is unknown until apply. When the whole map is unknown until apply
# the policy cannot tell and warns instead of denying.
package main

import rego.v1

import data.lib.terraform as tf

# The attribute users set, and the attribute the provider computes from it.
tag_attribute := {"aws": "tags", "azure": "tags", "gcp": "labels"}

effective_attribute := {"aws": "tags_all", "gcp": "effective_labels"}

default_tags_block := {"aws": "aws", "gcp": "google"}

# Types whose `labels` or `tags` are not resource tags.
not_tag_maps := {
	"google_monitoring_notification_channel", "google_monitoring_metric_descriptor",
	"google_logging_metric", "google_monitoring_alert_policy",
}

required_keys := tf.param("required_tags", [])

taggable(rc, attr) if {
	not rc.type in not_tag_maps
	not rc.type in tf.param("tag_exempt_types", [])
	value := rc.change.after[attr]
	tag_map(value)
}

taggable(rc, attr) if {
	not rc.type in not_tag_maps
	not rc.type in tf.param("tag_exempt_types", [])
	tf.unknown(rc, attr)
}

tag_map(value) if value == null

tag_map(value) if is_object(value)

# Keys set by a provider block's default_tags (AWS) or default_labels (Google), when constant.
provider_default_keys(provider) := {key |
	some pc in tf.provider_configs(object.get(default_tags_block, provider, ""))
	some block in default_tag_values(pc)
	some key in object.keys(block)
}

default_tag_values(pc) := [value |
	some block in pc.expressions.default_tags
	value := block.tags.constant_value
	is_object(value)
]

default_tag_values(pc) := [pc.expressions.default_labels.constant_value] if {
	is_object(pc.expressions.default_labels.constant_value)
}

# A provider block whose default tags/labels are not constant: they may hold any key.
provider_defaults_unknowable(provider) if {
	some pc in tf.provider_configs(default_tags_block[provider])
	some block in pc.expressions.default_tags
	not is_object(block.tags.constant_value)
}

provider_defaults_unknowable(provider) if {
	some pc in tf.provider_configs(default_tags_block[provider])
	labels := pc.expressions.default_labels
	not is_object(labels.constant_value)
}

tag_attributes(provider) := {a |
	some a in [object.get(tag_attribute, provider, null), object.get(effective_attribute, provider, null)]
	a != null
}

has_key(rc, provider, key) if {
	some attr in tag_attributes(provider)
	some name, value in rc.change.after[attr]
	lower(name) == lower(key)
	value != null
}

has_key(rc, provider, key) if {
	some attr in tag_attributes(provider)
	some name, value in rc.change.after_unknown[attr]
	lower(name) == lower(key)
	value == true
}

has_key(rc, provider, key) if {
	some name in provider_default_keys(provider)
	lower(name) == lower(key)
}

# The whole tag map is unknown until apply, or provider defaults may add anything.
undecidable(rc, provider) if tf.unknown(rc, tag_attribute[provider])

undecidable(rc, provider) if {
	tf.unknown(rc, effective_attribute[provider])
	provider_defaults_unknowable(provider)
}

missing_keys(rc, provider) := [key |
	some key in required_keys
	not has_key(rc, provider, key)
]

deny contains result if {
	some rc in input.resource_changes
	tf.writes(rc)
	provider := tf.provider_of(rc.type)
	attr := tag_attribute[provider]
	taggable(rc, attr)
	not undecidable(rc, provider)
	missing := missing_keys(rc, provider)
	count(missing) > 0
	msg := concat("", [
		rc.address, ": missing required ", noun(provider), " ", concat(", ", missing),
		"; add them to the resource's ", attr, " (required: ", concat(", ", required_keys), ")",
	])
	result := tf.result("required-tags", rc.address, msg)
}

warn contains result if {
	some rc in input.resource_changes
	tf.writes(rc)
	provider := tf.provider_of(rc.type)
	attr := tag_attribute[provider]
	taggable(rc, attr)
	undecidable(rc, provider)
	count(missing_keys(rc, provider)) > 0
	msg := concat("", [
		rc.address, ": ", attr, " are not known until apply, so the required ones (",
		concat(", ", required_keys), ") cannot be checked",
	])
	result := tf.result("required-tags", rc.address, msg)
}

noun(provider) := "labels" if provider == "gcp"

noun(provider) := "tags" if provider != "gcp"
