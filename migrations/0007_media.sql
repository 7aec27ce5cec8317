CREATE TABLE `media` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`status` text NOT NULL,
	`name` text NOT NULL,
	`title` text NOT NULL,
	`alt` text,
	`content_type` text NOT NULL,
	`kind` text NOT NULL,
	`size` integer NOT NULL,
	`visibility` text DEFAULT 'private' NOT NULL,
	`duration_seconds` integer,
	`r2_key` text NOT NULL,
	`etag` text,
	`expires_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `media_tenant_status_created_idx` ON `media` (`tenant_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `media_tenant_status_kind_created_idx` ON `media` (`tenant_id`,`status`,`kind`,`created_at`);--> statement-breakpoint
CREATE INDEX `media_tenant_status_name_idx` ON `media` (`tenant_id`,`status`,`name`);--> statement-breakpoint
CREATE INDEX `media_tenant_status_size_idx` ON `media` (`tenant_id`,`status`,`size`);--> statement-breakpoint
CREATE TABLE `media_upload_parts` (
	`tenant_id` integer NOT NULL,
	`upload_id` integer NOT NULL,
	`part_number` integer NOT NULL,
	`etag` text NOT NULL,
	`size` integer NOT NULL,
	`uploaded_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `upload_id`, `part_number`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`upload_id`) REFERENCES `media_uploads`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `media_upload_parts_upload_fk_idx` ON `media_upload_parts` (`upload_id`);--> statement-breakpoint
CREATE TABLE `media_uploads` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`media_id` integer NOT NULL,
	`r2_upload_id` text NOT NULL,
	`part_size` integer NOT NULL,
	`part_count` integer NOT NULL,
	`sniffed` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`media_id`) REFERENCES `media`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `media_uploads_media_uq` ON `media_uploads` (`media_id`);--> statement-breakpoint
CREATE INDEX `media_uploads_tenant_created_idx` ON `media_uploads` (`tenant_id`,`created_at`);