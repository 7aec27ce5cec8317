CREATE TABLE `lrs_credentials` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`name` text NOT NULL,
	`key` text NOT NULL,
	`secret_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`created_by_user_id` integer,
	`last_used_at` text,
	`revoked_at` text,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `lrs_credentials_key_unique` ON `lrs_credentials` (`key`);--> statement-breakpoint
CREATE INDEX `lrs_credentials_tenant_created_idx` ON `lrs_credentials` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `xapi_activities` (
	`tenant_id` integer NOT NULL,
	`activity_id` text NOT NULL,
	`definition` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `activity_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `xapi_attachments` (
	`tenant_id` integer NOT NULL,
	`sha2` text NOT NULL,
	`content_type` text NOT NULL,
	`length` integer NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `sha2`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `xapi_clocks` (
	`tenant_id` integer PRIMARY KEY NOT NULL,
	`last_stored_us` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `xapi_documents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`kind` text NOT NULL,
	`activity_id` text NOT NULL,
	`agent` text NOT NULL,
	`registration` text NOT NULL,
	`doc_id` text NOT NULL,
	`content_type` text NOT NULL,
	`content` text NOT NULL,
	`etag` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `xapi_documents_key_uq` ON `xapi_documents` (`tenant_id`,`kind`,`activity_id`,`agent`,`registration`,`doc_id`);--> statement-breakpoint
CREATE INDEX `xapi_documents_tenant_updated_idx` ON `xapi_documents` (`tenant_id`,`kind`,`updated_at`);--> statement-breakpoint
CREATE TABLE `xapi_statement_terms` (
	`tenant_id` integer NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`statement_seq` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `kind`, `value`, `statement_seq`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`statement_seq`) REFERENCES `xapi_statements`(`seq`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `xapi_statement_terms_tenant_seq_idx` ON `xapi_statement_terms` (`tenant_id`,`statement_seq`);--> statement-breakpoint
CREATE TABLE `xapi_statements` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`statement_id` text NOT NULL,
	`stored_us` integer NOT NULL,
	`verb_id` text NOT NULL,
	`registration` text,
	`ref_id` text,
	`voided` integer DEFAULT false NOT NULL,
	`statement` text NOT NULL,
	`credential_id` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `xapi_statements_tenant_id_uq` ON `xapi_statements` (`tenant_id`,`statement_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `xapi_statements_tenant_stored_uq` ON `xapi_statements` (`tenant_id`,`stored_us`);--> statement-breakpoint
CREATE INDEX `xapi_statements_tenant_ref_idx` ON `xapi_statements` (`tenant_id`,`ref_id`);