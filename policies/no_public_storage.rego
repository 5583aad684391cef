# no-public-storage: no S3 bucket, GCS bucket or Azure storage open to anonymous readers.
#
#   AWS:   public-read/public-read-write/authenticated-read ACLs (aws_s3_bucket, aws_s3_bucket_acl,
#          grants to AllUsers/AuthenticatedUsers), a public access block with a setting off,
#          a bucket policy that allows Principal "*" without a Condition
#   GCP:   IAM members allUsers/allAuthenticatedUsers on a bucket; public ACLs and
#          predefined ACLs; a bucket with uniform bucket-level access off and a public ACL
#   Azure: allow_nested_items_to_be_public / allow_blob_public_access on a storage account,
#          container_access_type blob or container
#
# Parameters: public_storage_allowed: addresses that may be public (a website bucket).
package main

import rego.v1

import data.lib.terraform as tf

public_s3_acls := {"public-read", "public-read-write", "authenticated-read"}

public_grantees := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

public_members := {"allUsers", "allAuthenticatedUsers"}

public_gcs_predefined := {"publicRead", "publicReadWrite", "authenticatedRead"}

public_access_settings := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

public(rc, why) := result if {
	not tf.listed("public_storage_allowed", rc.address)
	msg := concat("", [
		rc.address, ": ", why,
		"; keep storage private and serve public content through a CDN, or list the address in public_storage_allowed",
	])
	result := tf.result("no-public-storage", rc.address, msg)
}

# --- AWS

deny contains public(rc, concat("", ["the bucket ACL is ", acl])) if {
	some rc in input.resource_changes
	rc.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	tf.writes(rc)
	acl := tf.after(rc, "acl")
	acl in public_s3_acls
}

deny contains public(rc, concat("", ["the bucket ACL grants ", grant.permission, " to ", grantee.uri])) if {
	some rc in input.resource_changes
	rc.type in {"aws_s3_bucket_acl"}
	tf.writes(rc)
	some policy in tf.items(tf.after(rc, "access_control_policy"))
	some grant in tf.items(policy.grant)
	some grantee in tf.items(grant.grantee)
	grantee.uri in public_grantees
}

deny contains public(rc, concat("", [setting, " is off in the public access block"])) if {
	some rc in input.resource_changes
	rc.type in {"aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"}
	tf.writes(rc)
	some setting in public_access_settings
	rc.change.after[setting] == false
}

deny contains public(rc, "the bucket policy allows anyone (Principal \"*\") without a Condition") if {
	some rc in input.resource_changes
	rc.type in {"aws_s3_bucket_policy"}
	tf.writes(rc)
	document := tf.after(rc, "policy")
	is_string(document)
	json.is_valid(document)
	some statement in statements(json.unmarshal(document))
	statement.Effect == "Allow"
	anyone(statement.Principal)
	not statement.Condition
}

statements(doc) := doc.Statement if is_array(doc.Statement)

statements(doc) := [doc.Statement] if is_object(doc.Statement)

anyone(principal) if principal == "*"

anyone(principal) if principal.AWS == "*"

anyone(principal) if {
	is_array(principal.AWS)
	"*" in principal.AWS
}

# --- GCP

deny contains public(rc, concat("", ["the bucket grants ", rc.change.after.role, " to ", member])) if {
	some rc in input.resource_changes
	rc.type in {"google_storage_bucket_iam_member"}
	tf.writes(rc)
	member := rc.change.after.member
	member in public_members
}

deny contains public(rc, concat("", ["the bucket grants ", rc.change.after.role, " to ", member])) if {
	some rc in input.resource_changes
	rc.type in {"google_storage_bucket_iam_binding"}
	tf.writes(rc)
	some member in tf.items(rc.change.after.members)
	member in public_members
}

deny contains public(rc, concat("", ["the bucket IAM policy grants ", binding.role, " to ", member])) if {
	some rc in input.resource_changes
	rc.type in {"google_storage_bucket_iam_policy"}
	tf.writes(rc)
	document := tf.after(rc, "policy_data")
	is_string(document)
	json.is_valid(document)
	some binding in tf.items(object.get(json.unmarshal(document), "bindings", null))
	some member in tf.items(binding.members)
	member in public_members
}

deny contains public(rc, concat("", ["the ACL gives ", entry])) if {
	some rc in input.resource_changes
	rc.type in {"google_storage_bucket_acl", "google_storage_object_acl", "google_storage_default_object_acl"}
	tf.writes(rc)
	some entry in tf.items(tf.after(rc, "role_entity"))
	is_string(entry)
	some member in public_members
	endswith(entry, concat(":", ["", member]))
}

deny contains public(rc, concat("", ["the predefined ACL is ", acl])) if {
	some rc in input.resource_changes
	rc.type in {"google_storage_bucket_acl", "google_storage_object_acl", "google_storage_bucket_object"}
	tf.writes(rc)
	acl := tf.after(rc, "predefined_acl")
	acl in public_gcs_predefined
}

deny contains public(rc, concat("", ["the access control gives ", rc.change.after.role, " to ", entity])) if {
	some rc in input.resource_changes
	rc.type in {"google_storage_bucket_access_control", "google_storage_default_object_access_control", "google_storage_object_access_control"}
	tf.writes(rc)
	entity := rc.change.after.entity
	entity in public_members
}

# A bucket without uniform bucket-level access whose ACL in the same plan is public.
# The public ACLs are gathered once (by bucket name, and by reference when the name is
# unknown): a join of every bucket with every resource change is quadratic and exhausts
# the evaluator's statement budget on plans with thousands of resources.
deny contains public(rc, "uniform bucket-level access is off and an ACL in this plan makes the bucket public") if {
	some rc in input.resource_changes
	rc.type in {"google_storage_bucket"}
	tf.writes(rc)
	rc.change.after.uniform_bucket_level_access == false
	public_acl_target(rc)
}

public_acl_target(bucket) if bucket.change.after.name in public_acl_bucket_names

public_acl_target(bucket) if bucket.address in public_acl_bucket_refs

public_gcs_acls contains acl if {
	some acl in input.resource_changes
	acl.type in {"google_storage_bucket_acl", "google_storage_default_object_acl"}
	tf.writes(acl)
	gcs_acl_public(acl)
}

public_acl_bucket_names contains name if {
	some acl in public_gcs_acls
	name := acl.change.after.bucket
	is_string(name)
}

config_resources := {res.address: res | some res in input.configuration.root_module.resources}

# The ACL's bucket by reference when its name is unknown until apply.
public_acl_bucket_refs contains ref if {
	some acl in public_gcs_acls
	tf.unknown(acl, "bucket")
	some ref in config_resources[acl.address].expressions.bucket.references
}

gcs_acl_public(acl) if tf.after(acl, "predefined_acl") in public_gcs_predefined

gcs_acl_public(acl) if {
	some entry in tf.items(tf.after(acl, "role_entity"))
	is_string(entry)
	some member in public_members
	endswith(entry, concat(":", ["", member]))
}

# --- Azure

deny contains public(rc, concat("", [setting, " is true on the storage account"])) if {
	some rc in input.resource_changes
	rc.type in {"azurerm_storage_account"}
	tf.writes(rc)
	some setting in ["allow_nested_items_to_be_public", "allow_blob_public_access"]
	rc.change.after[setting] == true
}

deny contains public(rc, concat("", ["container_access_type is ", access, " (anonymous reads)"])) if {
	some rc in input.resource_changes
	rc.type in {"azurerm_storage_container"}
	tf.writes(rc)
	access := tf.after(rc, "container_access_type")
	access in {"blob", "container"}
}
