CREATE TABLE `question_categories` (
	`tenant_id` integer NOT NULL,
	`question_id` integer NOT NULL,
	`category_id` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `question_id`, `category_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`question_id`) REFERENCES `questions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `question_categories_tenant_category_idx` ON `question_categories` (`tenant_id`,`category_id`,`question_id`);--> statement-breakpoint
CREATE INDEX `question_categories_question_fk_idx` ON `question_categories` (`question_id`);--> statement-breakpoint
CREATE INDEX `question_categories_category_fk_idx` ON `question_categories` (`category_id`);--> statement-breakpoint
CREATE TABLE `questions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`type` text NOT NULL,
	`title` text NOT NULL,
	`content` text,
	`media_ids` text DEFAULT '[]' NOT NULL,
	`hint` text,
	`explanation` text,
	`points` integer DEFAULT 1 NOT NULL,
	`negative_points` integer DEFAULT 0 NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`answer_key` text NOT NULL,
	`author_id` integer,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `questions_tenant_created_idx` ON `questions` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `questions_tenant_type_created_idx` ON `questions` (`tenant_id`,`type`,`created_at`);--> statement-breakpoint
CREATE INDEX `questions_tenant_title_idx` ON `questions` (`tenant_id`,`title`);--> statement-breakpoint
CREATE INDEX `questions_tenant_updated_idx` ON `questions` (`tenant_id`,`updated_at`);--> statement-breakpoint
CREATE INDEX `questions_author_fk_idx` ON `questions` (`author_id`);--> statement-breakpoint
CREATE TABLE `quiz_attempt_answers` (
	`tenant_id` integer NOT NULL,
	`attempt_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`question_id` integer NOT NULL,
	`position` integer NOT NULL,
	`question_type` text NOT NULL,
	`question` text NOT NULL,
	`answer` text,
	`correct` integer,
	`score` real,
	`max_score` real NOT NULL,
	`feedback` text,
	`graded_by` integer,
	`graded_at` text,
	PRIMARY KEY(`tenant_id`, `attempt_id`, `question_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`attempt_id`) REFERENCES `quiz_attempts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `quiz_attempt_answers_tenant_module_question_idx` ON `quiz_attempt_answers` (`tenant_id`,`module_id`,`question_id`);--> statement-breakpoint
CREATE INDEX `quiz_attempt_answers_attempt_fk_idx` ON `quiz_attempt_answers` (`attempt_id`);--> statement-breakpoint
CREATE TABLE `quiz_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`enrollment_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`number` integer NOT NULL,
	`status` text DEFAULT 'in_progress' NOT NULL,
	`submitted_by` text,
	`question_count` integer NOT NULL,
	`started_at` text NOT NULL,
	`deadline_at` text,
	`submitted_at` text,
	`graded_at` text,
	`score` real,
	`max_score` real,
	`percent` real,
	`passed` integer,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`module_id`) REFERENCES `modules`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `quiz_attempts_tenant_enrollment_placement_number_uq` ON `quiz_attempts` (`tenant_id`,`enrollment_id`,`placement_id`,`number`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_tenant_user_module_idx` ON `quiz_attempts` (`tenant_id`,`user_id`,`module_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_tenant_module_started_idx` ON `quiz_attempts` (`tenant_id`,`module_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_tenant_module_status_idx` ON `quiz_attempts` (`tenant_id`,`module_id`,`status`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_module_fk_idx` ON `quiz_attempts` (`module_id`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_placement_fk_idx` ON `quiz_attempts` (`placement_id`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_enrollment_fk_idx` ON `quiz_attempts` (`enrollment_id`);--> statement-breakpoint
CREATE INDEX `quiz_attempts_user_fk_idx` ON `quiz_attempts` (`user_id`);--> statement-breakpoint
CREATE TABLE `quiz_questions` (
	`tenant_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`question_id` integer NOT NULL,
	`position` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `module_id`, `question_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`module_id`) REFERENCES `modules`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`question_id`) REFERENCES `questions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `quiz_questions_tenant_module_position_idx` ON `quiz_questions` (`tenant_id`,`module_id`,`position`);--> statement-breakpoint
CREATE INDEX `quiz_questions_tenant_question_idx` ON `quiz_questions` (`tenant_id`,`question_id`);--> statement-breakpoint
CREATE INDEX `quiz_questions_module_fk_idx` ON `quiz_questions` (`module_id`);--> statement-breakpoint
CREATE INDEX `quiz_questions_question_fk_idx` ON `quiz_questions` (`question_id`);