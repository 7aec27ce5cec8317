PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_xapi_statement_terms` (
	`tenant_id` integer NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`stored_us` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `kind`, `value`, `stored_us`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT OR IGNORE INTO `__new_xapi_statement_terms`("tenant_id", "kind", "value", "stored_us") SELECT t."tenant_id", t."kind", t."value", s."stored_us" FROM `xapi_statement_terms` t JOIN `xapi_statements` s ON s."seq" = t."statement_seq";--> statement-breakpoint
DROP TABLE `xapi_statement_terms`;--> statement-breakpoint
ALTER TABLE `__new_xapi_statement_terms` RENAME TO `xapi_statement_terms`;--> statement-breakpoint
PRAGMA foreign_keys=ON;