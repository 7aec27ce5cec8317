CREATE TABLE `modules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`type` text NOT NULL,
	`name` text NOT NULL,
	`slug` text NOT NULL,
	`description` text,
	`estimated_minutes` integer,
	`points` integer DEFAULT 0 NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `modules_tenant_slug_uq` ON `modules` (`tenant_id`,`slug`);--> statement-breakpoint
CREATE INDEX `modules_tenant_created_idx` ON `modules` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `modules_tenant_type_created_idx` ON `modules` (`tenant_id`,`type`,`created_at`);--> statement-breakpoint
CREATE INDEX `modules_tenant_name_idx` ON `modules` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `modules_tenant_updated_idx` ON `modules` (`tenant_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `module_categories` (
	`tenant_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`category_id` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `module_id`, `category_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`module_id`) REFERENCES `modules`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `module_categories_tenant_category_idx` ON `module_categories` (`tenant_id`,`category_id`);--> statement-breakpoint
CREATE TABLE `course_instructors` (
	`tenant_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `course_id`, `user_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `course_instructors_tenant_user_idx` ON `course_instructors` (`tenant_id`,`user_id`);--> statement-breakpoint
CREATE TABLE `course_placements` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`section_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`position` integer NOT NULL,
	`required` integer DEFAULT true NOT NULL,
	`drip_rule` text DEFAULT 'none' NOT NULL,
	`drip_days` integer,
	`drip_date` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`section_id`) REFERENCES `course_sections`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`module_id`) REFERENCES `modules`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `course_placements_tenant_course_module_uq` ON `course_placements` (`tenant_id`,`course_id`,`module_id`);--> statement-breakpoint
CREATE INDEX `course_placements_tenant_section_position_idx` ON `course_placements` (`tenant_id`,`section_id`,`position`);--> statement-breakpoint
CREATE INDEX `course_placements_tenant_module_idx` ON `course_placements` (`tenant_id`,`module_id`);--> statement-breakpoint
CREATE TABLE `course_sections` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`position` integer NOT NULL,
	`release_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `course_sections_tenant_course_position_idx` ON `course_sections` (`tenant_id`,`course_id`,`position`);--> statement-breakpoint
CREATE TABLE `placement_prerequisites` (
	`tenant_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`prerequisite_id` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `placement_id`, `prerequisite_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`prerequisite_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `placement_prerequisites_tenant_prerequisite_idx` ON `placement_prerequisites` (`tenant_id`,`prerequisite_id`);--> statement-breakpoint
CREATE TABLE `learning_path_categories` (
	`tenant_id` integer NOT NULL,
	`path_id` integer NOT NULL,
	`category_id` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `path_id`, `category_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`path_id`) REFERENCES `learning_paths`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `learning_path_categories_tenant_category_idx` ON `learning_path_categories` (`tenant_id`,`category_id`);--> statement-breakpoint
CREATE TABLE `learning_path_step_prerequisites` (
	`tenant_id` integer NOT NULL,
	`step_id` integer NOT NULL,
	`prerequisite_step_id` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `step_id`, `prerequisite_step_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`step_id`) REFERENCES `learning_path_steps`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`prerequisite_step_id`) REFERENCES `learning_path_steps`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `learning_path_steps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`path_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`position` integer NOT NULL,
	`required` integer DEFAULT true NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`path_id`) REFERENCES `learning_paths`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `learning_path_steps_tenant_path_course_uq` ON `learning_path_steps` (`tenant_id`,`path_id`,`course_id`);--> statement-breakpoint
CREATE INDEX `learning_path_steps_tenant_path_position_idx` ON `learning_path_steps` (`tenant_id`,`path_id`,`position`);--> statement-breakpoint
CREATE INDEX `learning_path_steps_tenant_course_idx` ON `learning_path_steps` (`tenant_id`,`course_id`);--> statement-breakpoint
CREATE TABLE `learning_paths` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`name` text NOT NULL,
	`slug` text NOT NULL,
	`description` text,
	`picture_url` text,
	`status` text DEFAULT 'draft' NOT NULL,
	`show_in_catalog` integer DEFAULT true NOT NULL,
	`certificate_template_id` integer,
	`published_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `learning_paths_tenant_slug_uq` ON `learning_paths` (`tenant_id`,`slug`);--> statement-breakpoint
CREATE INDEX `learning_paths_tenant_created_idx` ON `learning_paths` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `learning_paths_tenant_status_created_idx` ON `learning_paths` (`tenant_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `learning_paths_tenant_name_idx` ON `learning_paths` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `learning_paths_tenant_catalog_idx` ON `learning_paths` (`tenant_id`,`status`,`show_in_catalog`,`published_at`);--> statement-breakpoint
CREATE TABLE `course_ratings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`rating` integer NOT NULL,
	`review` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `course_ratings_tenant_course_user_uq` ON `course_ratings` (`tenant_id`,`course_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `course_ratings_tenant_course_created_idx` ON `course_ratings` (`tenant_id`,`course_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `course_ratings_tenant_course_rating_idx` ON `course_ratings` (`tenant_id`,`course_id`,`rating`);--> statement-breakpoint
ALTER TABLE `courses` ADD `picture_url` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `thumbnail_url` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `logo_url` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `landing_page_url` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `custom_url` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `seo_title` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `seo_description` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `seo_keywords` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `finish_message` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `thank_you_page` text DEFAULT '{"enabled":false,"url":null,"message":null}' NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `ratings_enabled` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `rating_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `rating_sum` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `duration_rule` text DEFAULT 'unlimited' NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `access_days` integer;--> statement-breakpoint
ALTER TABLE `courses` ADD `access_until` text;--> statement-breakpoint
ALTER TABLE `courses` ADD `grading_rule` text DEFAULT 'no_grading' NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `graded_module_ids` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `passing_grade` integer;--> statement-breakpoint
ALTER TABLE `courses` ADD `completion_rule` text DEFAULT 'all_modules' NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `completion_percentage` integer;--> statement-breakpoint
ALTER TABLE `courses` ADD `certificate_template_ids` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `sequential_navigation` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `drip_enabled` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `estimated_minutes` integer;--> statement-breakpoint
ALTER TABLE `courses` ADD `version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `courses` ADD `published_at` text;--> statement-breakpoint
CREATE INDEX `courses_tenant_updated_idx` ON `courses` (`tenant_id`,`updated_at`);--> statement-breakpoint
CREATE INDEX `courses_tenant_catalog_idx` ON `courses` (`tenant_id`,`status`,`show_in_catalog`,`deleted_at`,`published_at`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `catalog_version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `headline` text;--> statement-breakpoint
ALTER TABLE `users` ADD `bio` text;