CREATE TABLE `discussion_posts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`thread_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`changed_seq` integer NOT NULL,
	`parent_id` integer,
	`author_id` integer NOT NULL,
	`body` text NOT NULL,
	`status` text DEFAULT 'visible' NOT NULL,
	`pinned` integer DEFAULT false NOT NULL,
	`mentioned_user_ids` text NOT NULL,
	`attachment_media_ids` text NOT NULL,
	`reaction_counts` text NOT NULL,
	`reply_count` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`edited_at` text,
	`hidden_at` text,
	`hidden_by` integer,
	`deleted_at` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`thread_id`) REFERENCES `discussion_threads`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`parent_id`) REFERENCES `discussion_posts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `discussion_posts_tenant_thread_seq_uq` ON `discussion_posts` (`tenant_id`,`thread_id`,`seq`);--> statement-breakpoint
CREATE INDEX `discussion_posts_tenant_thread_changed_idx` ON `discussion_posts` (`tenant_id`,`thread_id`,`changed_seq`);--> statement-breakpoint
CREATE INDEX `discussion_posts_tenant_thread_parent_idx` ON `discussion_posts` (`tenant_id`,`thread_id`,`parent_id`,`seq`);--> statement-breakpoint
CREATE INDEX `discussion_posts_tenant_thread_author_idx` ON `discussion_posts` (`tenant_id`,`thread_id`,`author_id`);--> statement-breakpoint
CREATE INDEX `discussion_posts_thread_fk_idx` ON `discussion_posts` (`thread_id`);--> statement-breakpoint
CREATE INDEX `discussion_posts_parent_fk_idx` ON `discussion_posts` (`parent_id`);--> statement-breakpoint
CREATE INDEX `discussion_posts_author_fk_idx` ON `discussion_posts` (`author_id`);--> statement-breakpoint
CREATE TABLE `discussion_reactions` (
	`tenant_id` integer NOT NULL,
	`post_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`emoji` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `post_id`, `user_id`, `emoji`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`post_id`) REFERENCES `discussion_posts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `discussion_reactions_post_fk_idx` ON `discussion_reactions` (`post_id`);--> statement-breakpoint
CREATE INDEX `discussion_reactions_user_fk_idx` ON `discussion_reactions` (`user_id`);--> statement-breakpoint
CREATE TABLE `discussion_threads` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`placement_id` integer,
	`module_id` integer,
	`kind` text NOT NULL,
	`title` text NOT NULL,
	`body` text DEFAULT '' NOT NULL,
	`created_by` integer,
	`locked` integer DEFAULT false NOT NULL,
	`pinned` integer DEFAULT false NOT NULL,
	`last_seq` integer DEFAULT 0 NOT NULL,
	`post_count` integer DEFAULT 0 NOT NULL,
	`last_post_at` text,
	`activity_at` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`course_id`) REFERENCES `courses`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `discussion_threads_tenant_placement_uq` ON `discussion_threads` (`tenant_id`,`placement_id`);--> statement-breakpoint
CREATE INDEX `discussion_threads_tenant_course_list_idx` ON `discussion_threads` (`tenant_id`,`course_id`,`pinned`,`activity_at`,`id`);--> statement-breakpoint
CREATE INDEX `discussion_threads_tenant_list_idx` ON `discussion_threads` (`tenant_id`,`pinned`,`activity_at`,`id`);--> statement-breakpoint
CREATE INDEX `discussion_threads_course_fk_idx` ON `discussion_threads` (`course_id`);--> statement-breakpoint
CREATE INDEX `discussion_threads_placement_fk_idx` ON `discussion_threads` (`placement_id`);--> statement-breakpoint
CREATE INDEX `discussion_threads_created_by_fk_idx` ON `discussion_threads` (`created_by`);