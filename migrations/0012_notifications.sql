CREATE TABLE `announcements` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`heading` text NOT NULL,
	`content` text NOT NULL,
	`sending_rules` text NOT NULL,
	`user_ids` text NOT NULL,
	`course_ids` text NOT NULL,
	`class_ids` text NOT NULL,
	`portal_ids` text NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`expires_at` text,
	`author_id` integer,
	`author_name` text,
	`published_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `announcements_tenant_created_idx` ON `announcements` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `announcements_tenant_status_published_idx` ON `announcements` (`tenant_id`,`status`,`published_at`);--> statement-breakpoint
CREATE TABLE `emails` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`user_id` integer,
	`notification_id` integer,
	`to_address` text NOT NULL,
	`subject` text NOT NULL,
	`text_body` text NOT NULL,
	`html_body` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`next_attempt_at` text NOT NULL,
	`provider_message_id` text,
	`dedupe_key` text NOT NULL,
	`sent_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `emails_tenant_dedupe_uq` ON `emails` (`tenant_id`,`dedupe_key`);--> statement-breakpoint
CREATE INDEX `emails_tenant_id_idx` ON `emails` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `emails_tenant_status_id_idx` ON `emails` (`tenant_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `emails_status_due_idx` ON `emails` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `emails_user_fk_idx` ON `emails` (`user_id`);--> statement-breakpoint
CREATE TABLE `notification_preferences` (
	`tenant_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`email` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notification_preferences_tenant_user_uq` ON `notification_preferences` (`tenant_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `notification_preferences_user_fk_idx` ON `notification_preferences` (`user_id`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`type` text NOT NULL,
	`category` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`data` text NOT NULL,
	`event_id` integer,
	`dedupe_key` text NOT NULL,
	`read_at` text,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_tenant_dedupe_user_uq` ON `notifications` (`tenant_id`,`dedupe_key`,`user_id`);--> statement-breakpoint
CREATE INDEX `notifications_tenant_user_id_idx` ON `notifications` (`tenant_id`,`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `notifications_tenant_user_unread_idx` ON `notifications` (`tenant_id`,`user_id`,`read_at`,`id`);--> statement-breakpoint
CREATE INDEX `notifications_user_fk_idx` ON `notifications` (`user_id`);