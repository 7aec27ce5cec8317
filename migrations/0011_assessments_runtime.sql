CREATE TABLE `survey_answers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`response_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`question_id` text NOT NULL,
	`option_index` integer,
	`number` real,
	`text` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`response_id`) REFERENCES `survey_responses`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `survey_answers_tenant_module_question_idx` ON `survey_answers` (`tenant_id`,`module_id`,`question_id`);--> statement-breakpoint
CREATE INDEX `survey_answers_tenant_response_idx` ON `survey_answers` (`tenant_id`,`response_id`);--> statement-breakpoint
CREATE INDEX `survey_answers_response_fk_idx` ON `survey_answers` (`response_id`);--> statement-breakpoint
CREATE TABLE `survey_participations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`enrollment_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`responses` integer NOT NULL,
	`first_responded_at` text NOT NULL,
	`last_responded_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `survey_participations_tenant_enrollment_placement_uq` ON `survey_participations` (`tenant_id`,`enrollment_id`,`placement_id`);--> statement-breakpoint
CREATE INDEX `survey_participations_enrollment_fk_idx` ON `survey_participations` (`enrollment_id`);--> statement-breakpoint
CREATE INDEX `survey_participations_placement_fk_idx` ON `survey_participations` (`placement_id`);--> statement-breakpoint
CREATE TABLE `survey_responses` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`user_id` integer,
	`anonymous` integer NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`module_id`) REFERENCES `modules`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `survey_responses_tenant_module_idx` ON `survey_responses` (`tenant_id`,`module_id`,`id`);--> statement-breakpoint
CREATE INDEX `survey_responses_tenant_user_idx` ON `survey_responses` (`tenant_id`,`user_id`,`placement_id`);--> statement-breakpoint
CREATE INDEX `survey_responses_module_fk_idx` ON `survey_responses` (`module_id`);--> statement-breakpoint
CREATE INDEX `survey_responses_placement_fk_idx` ON `survey_responses` (`placement_id`);--> statement-breakpoint
CREATE TABLE `assignment_submissions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`enrollment_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`text` text,
	`status` text NOT NULL,
	`late` integer NOT NULL,
	`score` integer,
	`max_score` integer NOT NULL,
	`feedback` text,
	`evaluated_by` integer,
	`evaluated_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`module_id`) REFERENCES `modules`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `assignment_submissions_tenant_enrollment_placement_attempt_uq` ON `assignment_submissions` (`tenant_id`,`enrollment_id`,`placement_id`,`attempt`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_tenant_status_course_idx` ON `assignment_submissions` (`tenant_id`,`status`,`course_id`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_tenant_module_idx` ON `assignment_submissions` (`tenant_id`,`module_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_tenant_course_idx` ON `assignment_submissions` (`tenant_id`,`course_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_tenant_created_idx` ON `assignment_submissions` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_tenant_user_idx` ON `assignment_submissions` (`tenant_id`,`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_module_fk_idx` ON `assignment_submissions` (`module_id`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_placement_fk_idx` ON `assignment_submissions` (`placement_id`);--> statement-breakpoint
CREATE INDEX `assignment_submissions_enrollment_fk_idx` ON `assignment_submissions` (`enrollment_id`);--> statement-breakpoint
CREATE TABLE `submission_files` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`submission_id` integer NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`r2_key` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`submission_id`) REFERENCES `assignment_submissions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `submission_files_tenant_submission_idx` ON `submission_files` (`tenant_id`,`submission_id`);--> statement-breakpoint
CREATE INDEX `submission_files_submission_fk_idx` ON `submission_files` (`submission_id`);--> statement-breakpoint
CREATE TABLE `flashcard_marks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`enrollment_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`card_id` text NOT NULL,
	`known` integer NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `flashcard_marks_tenant_enrollment_placement_card_uq` ON `flashcard_marks` (`tenant_id`,`enrollment_id`,`placement_id`,`card_id`);--> statement-breakpoint
CREATE INDEX `flashcard_marks_enrollment_fk_idx` ON `flashcard_marks` (`enrollment_id`);--> statement-breakpoint
CREATE INDEX `flashcard_marks_placement_fk_idx` ON `flashcard_marks` (`placement_id`);