CREATE TABLE `activities` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`type` text NOT NULL,
	`user_id` integer,
	`course_id` integer,
	`placement_id` integer,
	`actor` text DEFAULT 'learner' NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	`occurred_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `activities_tenant_id_idx` ON `activities` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `activities_tenant_course_idx` ON `activities` (`tenant_id`,`course_id`,`id`);--> statement-breakpoint
CREATE INDEX `activities_tenant_user_idx` ON `activities` (`tenant_id`,`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `activities_tenant_type_idx` ON `activities` (`tenant_id`,`type`,`id`);--> statement-breakpoint
CREATE TABLE `certificate_templates` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`name` text NOT NULL,
	`width` integer DEFAULT 842 NOT NULL,
	`height` integer DEFAULT 595 NOT NULL,
	`background_url` text,
	`background_media_id` integer,
	`fields` text DEFAULT '[]' NOT NULL,
	`expiry_months` integer,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `certificate_templates_tenant_created_idx` ON `certificate_templates` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `certificate_templates_tenant_name_idx` ON `certificate_templates` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `certificates` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`template_id` integer,
	`user_id` integer NOT NULL,
	`course_id` integer,
	`path_id` integer,
	`source_key` text NOT NULL,
	`code` text NOT NULL,
	`recipient_name` text NOT NULL,
	`title` text NOT NULL,
	`issued_at` text NOT NULL,
	`expires_at` text,
	`revoked_at` text,
	`pdf_key` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`template_id`) REFERENCES `certificate_templates`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `certificates_code_uq` ON `certificates` (`code`);--> statement-breakpoint
CREATE UNIQUE INDEX `certificates_tenant_source_template_uq` ON `certificates` (`tenant_id`,`source_key`,`template_id`);--> statement-breakpoint
CREATE INDEX `certificates_tenant_user_issued_idx` ON `certificates` (`tenant_id`,`user_id`,`issued_at`);--> statement-breakpoint
CREATE INDEX `certificates_tenant_issued_idx` ON `certificates` (`tenant_id`,`issued_at`);--> statement-breakpoint
CREATE INDEX `certificates_tenant_course_idx` ON `certificates` (`tenant_id`,`course_id`,`issued_at`);--> statement-breakpoint
CREATE INDEX `certificates_user_fk_idx` ON `certificates` (`user_id`);--> statement-breakpoint
CREATE INDEX `certificates_template_fk_idx` ON `certificates` (`template_id`);--> statement-breakpoint
CREATE TABLE `auto_enroll_courses` (
	`tenant_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `auto_enroll_courses_tenant_course_uq` ON `auto_enroll_courses` (`tenant_id`,`course_id`);--> statement-breakpoint
CREATE INDEX `auto_enroll_courses_course_fk_idx` ON `auto_enroll_courses` (`course_id`);--> statement-breakpoint
CREATE TABLE `enrollments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`source` text DEFAULT 'admin' NOT NULL,
	`path_enrollment_id` integer,
	`enrolled_at` text NOT NULL,
	`started_at` text,
	`expires_at` text,
	`revoked_at` text,
	`completed_at` text,
	`last_accessed_at` text,
	`resume_placement_id` integer,
	`required_total` integer DEFAULT 0 NOT NULL,
	`required_done` integer DEFAULT 0 NOT NULL,
	`progress_percent` integer DEFAULT 0 NOT NULL,
	`grade` integer,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrollments_tenant_course_user_uq` ON `enrollments` (`tenant_id`,`course_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `enrollments_tenant_user_enrolled_idx` ON `enrollments` (`tenant_id`,`user_id`,`enrolled_at`);--> statement-breakpoint
CREATE INDEX `enrollments_tenant_course_enrolled_idx` ON `enrollments` (`tenant_id`,`course_id`,`enrolled_at`);--> statement-breakpoint
CREATE INDEX `enrollments_tenant_course_status_idx` ON `enrollments` (`tenant_id`,`course_id`,`status`,`enrolled_at`);--> statement-breakpoint
CREATE INDEX `enrollments_tenant_course_progress_idx` ON `enrollments` (`tenant_id`,`course_id`,`progress_percent`);--> statement-breakpoint
CREATE INDEX `enrollments_user_fk_idx` ON `enrollments` (`user_id`);--> statement-breakpoint
CREATE INDEX `enrollments_course_fk_idx` ON `enrollments` (`course_id`);--> statement-breakpoint
CREATE TABLE `path_enrollments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`path_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`enrolled_at` text NOT NULL,
	`expires_at` text,
	`completed_at` text,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`path_id`) REFERENCES `learning_paths`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `path_enrollments_tenant_path_user_uq` ON `path_enrollments` (`tenant_id`,`path_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `path_enrollments_tenant_user_idx` ON `path_enrollments` (`tenant_id`,`user_id`,`enrolled_at`);--> statement-breakpoint
CREATE INDEX `path_enrollments_tenant_path_enrolled_idx` ON `path_enrollments` (`tenant_id`,`path_id`,`enrolled_at`);--> statement-breakpoint
CREATE INDEX `path_enrollments_user_fk_idx` ON `path_enrollments` (`user_id`);--> statement-breakpoint
CREATE INDEX `path_enrollments_path_fk_idx` ON `path_enrollments` (`path_id`);--> statement-breakpoint
CREATE TABLE `module_progress` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`enrollment_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`status` text DEFAULT 'not_started' NOT NULL,
	`first_accessed_at` text,
	`last_accessed_at` text,
	`completed_at` text,
	`watched_seconds` integer DEFAULT 0 NOT NULL,
	`score` integer,
	`max_score` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `module_progress_tenant_enrollment_placement_uq` ON `module_progress` (`tenant_id`,`enrollment_id`,`placement_id`);--> statement-breakpoint
CREATE INDEX `module_progress_tenant_course_user_idx` ON `module_progress` (`tenant_id`,`course_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `module_progress_enrollment_fk_idx` ON `module_progress` (`enrollment_id`);--> statement-breakpoint
CREATE INDEX `module_progress_placement_fk_idx` ON `module_progress` (`placement_id`);