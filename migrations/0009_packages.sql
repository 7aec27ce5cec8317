CREATE TABLE `package_versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`package_id` integer NOT NULL,
	`version` integer NOT NULL,
	`status` text DEFAULT 'processing' NOT NULL,
	`failure_reason` text,
	`job_id` integer,
	`zip_key` text NOT NULL,
	`zip_bytes` integer NOT NULL,
	`standard` text,
	`standard_version` text,
	`title` text,
	`launch_path` text,
	`structure` text,
	`file_count` integer DEFAULT 0 NOT NULL,
	`uncompressed_bytes` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`processed_at` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`package_id`) REFERENCES `packages`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `package_versions_tenant_package_version_uq` ON `package_versions` (`tenant_id`,`package_id`,`version`);--> statement-breakpoint
CREATE INDEX `package_versions_package_fk_idx` ON `package_versions` (`package_id`);--> statement-breakpoint
CREATE TABLE `packages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`title` text NOT NULL,
	`description` text,
	`status` text DEFAULT 'processing' NOT NULL,
	`failure_reason` text,
	`standard` text,
	`current_version` integer,
	`latest_version` integer DEFAULT 1 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `packages_tenant_created_idx` ON `packages` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `packages_tenant_status_created_idx` ON `packages` (`tenant_id`,`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `scorm_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`package_id` integer NOT NULL,
	`package_version` integer NOT NULL,
	`enrollment_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`sco_identifier` text NOT NULL,
	`standard` text NOT NULL,
	`attempt` integer DEFAULT 1 NOT NULL,
	`launch_count` integer DEFAULT 1 NOT NULL,
	`commit_sequence` integer DEFAULT 0 NOT NULL,
	`commit_count` integer DEFAULT 0 NOT NULL,
	`cmi` text,
	`lesson_status` text,
	`completion_status` text,
	`success_status` text,
	`score_raw` real,
	`score_min` real,
	`score_max` real,
	`score_scaled` real,
	`total_seconds` real DEFAULT 0 NOT NULL,
	`session_seconds` real DEFAULT 0 NOT NULL,
	`exit_mode` text,
	`reported` text,
	`terminated_at` text,
	`last_commit_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`package_id`) REFERENCES `packages`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scorm_sessions_tenant_attempt_uq` ON `scorm_sessions` (`tenant_id`,`enrollment_id`,`placement_id`,`sco_identifier`,`attempt`);--> statement-breakpoint
CREATE INDEX `scorm_sessions_tenant_package_user_idx` ON `scorm_sessions` (`tenant_id`,`package_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `scorm_sessions_enrollment_fk_idx` ON `scorm_sessions` (`enrollment_id`);--> statement-breakpoint
CREATE INDEX `scorm_sessions_placement_fk_idx` ON `scorm_sessions` (`placement_id`);--> statement-breakpoint
CREATE INDEX `scorm_sessions_package_fk_idx` ON `scorm_sessions` (`package_id`);