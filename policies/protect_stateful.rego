# protect-stateful: no delete or replace of resources that hold data (databases, buckets,
# disks, key vaults, tables, storage accounts, ...) or of anything tagged or labelled
# `protected`, unless the stack allows it in stack.yaml:
#
#   policy:
#     allow_destroy: ["aws_s3_bucket.old_logs"]   # addresses, module.x prefixes, or "*"
#
# Parameters (orchestrate.yaml policies.data or stack.yaml policy.params):
#   stateful_types: extra resource types to protect
package main

import rego.v1

import data.lib.terraform as tf

stateful_types := {
	# AWS
	"aws_db_instance", "aws_rds_cluster", "aws_rds_cluster_instance", "aws_rds_global_cluster",
	"aws_dynamodb_table", "aws_dynamodb_global_table", "aws_s3_bucket", "aws_s3_directory_bucket",
	"aws_ebs_volume", "aws_efs_file_system", "aws_fsx_lustre_file_system",
	"aws_fsx_windows_file_system", "aws_fsx_ontap_file_system", "aws_fsx_openzfs_file_system",
	"aws_elasticache_cluster", "aws_elasticache_replication_group", "aws_memorydb_cluster",
	"aws_redshift_cluster", "aws_redshiftserverless_namespace", "aws_docdb_cluster",
	"aws_docdb_elastic_cluster", "aws_neptune_cluster", "aws_opensearch_domain",
	"aws_elasticsearch_domain", "aws_kms_key", "aws_secretsmanager_secret", "aws_kinesis_stream",
	"aws_msk_cluster", "aws_backup_vault", "aws_glacier_vault", "aws_ecr_repository",
	"aws_timestreamwrite_table", "aws_keyspaces_table", "aws_qldb_ledger", "aws_cognito_user_pool",
	# GCP
	"google_project", "google_sql_database_instance", "google_sql_database", "google_storage_bucket",
	"google_compute_disk", "google_compute_region_disk", "google_bigquery_dataset",
	"google_bigquery_table", "google_spanner_instance", "google_spanner_database",
	"google_bigtable_instance", "google_bigtable_table", "google_firestore_database",
	"google_redis_instance", "google_memcache_instance", "google_filestore_instance",
	"google_alloydb_cluster", "google_kms_key_ring", "google_kms_crypto_key",
	"google_secret_manager_secret", "google_pubsub_subscription",
	# Azure
	"azurerm_resource_group", "azurerm_storage_account", "azurerm_storage_container",
	"azurerm_storage_share", "azurerm_storage_table", "azurerm_storage_queue",
	"azurerm_data_lake_gen2_filesystem", "azurerm_key_vault", "azurerm_key_vault_key",
	"azurerm_key_vault_secret", "azurerm_key_vault_certificate", "azurerm_mssql_server",
	"azurerm_mssql_database", "azurerm_mssql_managed_instance", "azurerm_postgresql_server",
	"azurerm_postgresql_flexible_server", "azurerm_postgresql_database",
	"azurerm_postgresql_flexible_server_database", "azurerm_mysql_server",
	"azurerm_mysql_flexible_server", "azurerm_mysql_flexible_database", "azurerm_cosmosdb_account",
	"azurerm_cosmosdb_sql_database", "azurerm_cosmosdb_sql_container",
	"azurerm_cosmosdb_mongo_database", "azurerm_managed_disk", "azurerm_redis_cache",
	"azurerm_recovery_services_vault", "azurerm_data_protection_backup_vault",
	"azurerm_eventhub_namespace", "azurerm_servicebus_namespace",
}

stateful(type) if type in stateful_types

stateful(type) if type in tf.param("stateful_types", [])

label_attributes := ["tags", "tags_all", "labels", "effective_labels", "terraform_labels"]

protected(rc) if {
	some attr in label_attributes
	some key, value in rc.change.before[attr]
	lower(key) == "protected"
	tf.truthy(value)
}

verb(rc) := "replace" if tf.replaces(rc)

verb(rc) := "delete" if not tf.replaces(rc)

deny contains result if {
	some rc in input.resource_changes
	tf.deletes(rc)
	stateful(rc.type)
	not tf.destroy_allowed(rc.address)
	msg := concat("", [
		rc.address, ": the plan would ", verb(rc), " this ", rc.type,
		", which holds data; if that is intended, add it to policy.allow_destroy in the stack's stack.yaml",
	])
	result := tf.result("protect-stateful", rc.address, msg)
}

deny contains result if {
	some rc in input.resource_changes
	tf.deletes(rc)
	not stateful(rc.type)
	protected(rc)
	not tf.destroy_allowed(rc.address)
	msg := concat("", [
		rc.address, ": the plan would ", verb(rc),
		" a resource tagged protected; remove the tag first, or add it to policy.allow_destroy in the stack's stack.yaml",
	])
	result := tf.result("protect-stateful", rc.address, msg)
}
