# Helpers shared by the default policy pack: reading `terraform show -json` plans.
#
# Values in a plan can be unknown until apply: they are left out of `change.after` and
# marked `true` in `change.after_unknown`. The helpers below keep "missing" apart from
# "not known yet", so a policy never denies a value it cannot see.
#
# Builtin errors stop evaluation (orchestrate runs regopy with strict builtin errors),
# so every builtin that needs a string or a number is guarded by is_string/is_number.
package lib.terraform

import rego.v1

# Managed resources the plan creates or updates (the create half of a replace included).
writes(rc) if {
	rc.mode == "managed"
	some action in rc.change.actions
	action in {"create", "update"}
}

# Managed resources the plan deletes, alone or as part of a replace.
deletes(rc) if {
	rc.mode == "managed"
	"delete" in rc.change.actions
}

replaces(rc) if {
	deletes(rc)
	"create" in rc.change.actions
}

# aws | gcp | azure from the resource type (hashicorp/aws, hashicorp/google, hashicorp/azurerm).
provider_of(type) := "aws" if startswith(type, "aws_")

provider_of(type) := "gcp" if startswith(type, "google_")

provider_of(type) := "azure" if startswith(type, "azurerm_")

# The planned value of an attribute when it is known, else undefined.
after(rc, attr) := value if {
	value := rc.change.after[attr]
	value != null
}

# True when the attribute's planned value is unknown until apply.
unknown(rc, attr) if rc.change.after_unknown[attr] == true

# A policy parameter: the stack's `policy.params` (stack.yaml) win over `policies.data`
# (orchestrate.yaml), then the default.
param(name, fallback) := value if {
	value := input.orchestrate.params[name]
} else := value if {
	value := data.orchestrate.params[name]
} else := fallback

# "true", "yes", "1", "on" (any case) or the boolean true.
truthy(value) if value == true

truthy(value) if {
	is_string(value)
	lower(trim_space(value)) in {"true", "yes", "1", "on"}
}

# Lower-case, no spaces: "West Europe" -> "westeurope", "EUROPE-WEST1" -> "europe-west1".
normal_location(value) := lower(replace(value, " ", "")) if is_string(value)

# True when the stack's policy.allow_destroy lets it delete or replace `address`:
# "*", the exact address, every instance of it (address[...]) or everything in a module.
destroy_allowed(address) if "*" in input.orchestrate.allow_destroy

destroy_allowed(address) if address in input.orchestrate.allow_destroy

destroy_allowed(address) if {
	some allowed in input.orchestrate.allow_destroy
	is_string(allowed)
	startswith(address, concat("", [allowed, "["]))
}

destroy_allowed(address) if {
	some allowed in input.orchestrate.allow_destroy
	is_string(allowed)
	startswith(allowed, "module.")
	startswith(address, concat("", [allowed, "."]))
}

# True when `address` is listed in the parameter `name` (a list of addresses, or "*").
listed(name, address) if {
	some allowed in param(name, [])
	allowed in {"*", address}
}

listed(name, address) if {
	some allowed in param(name, [])
	is_string(allowed)
	startswith(address, concat("", [allowed, "["]))
}

# Provider configurations of one kind (aws, google, azurerm) in the plan's configuration.
provider_configs(name) := [pc |
	some pc in input.configuration.provider_config
	pc.name == name
]

# Lower case of a string; undefined for anything else (null, numbers).
lc(value) := lower(value) if is_string(value)

# The elements of a list or set attribute; none for null.
items(value) := value if is_array(value)

items(value) := [] if value == null

# A result object in the shape orchestrate and conftest both read.
result(policy, address, msg) := {"msg": msg, "policy": policy, "resource": address}
