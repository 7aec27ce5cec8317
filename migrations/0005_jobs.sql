CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`kind` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`input` text DEFAULT '{}' NOT NULL,
	`result` text,
	`error` text,
	`progress_done` integer DEFAULT 0 NOT NULL,
	`progress_total` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_by` text,
	`queued_at` text,
	`created_at` text NOT NULL,
	`started_at` text,
	`finished_at` text,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `jobs_tenant_created_idx` ON `jobs` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_tenant_kind_created_idx` ON `jobs` (`tenant_id`,`kind`,`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_unqueued_idx` ON `jobs` (`queued_at`,`created_at`);