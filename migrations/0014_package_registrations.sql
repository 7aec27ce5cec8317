CREATE TABLE `cmi5_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`registration_id` integer NOT NULL,
	`au_id` text NOT NULL,
	`session_id` text NOT NULL,
	`launch_mode` text DEFAULT 'Normal' NOT NULL,
	`fetched_at` text,
	`terminated_at` text,
	`abandoned_at` text,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`registration_id`) REFERENCES `package_registrations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cmi5_sessions_tenant_session_uq` ON `cmi5_sessions` (`tenant_id`,`session_id`);--> statement-breakpoint
CREATE INDEX `cmi5_sessions_tenant_registration_created_idx` ON `cmi5_sessions` (`tenant_id`,`registration_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `cmi5_sessions_registration_fk_idx` ON `cmi5_sessions` (`registration_id`);--> statement-breakpoint
CREATE TABLE `package_registrations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`registration` text NOT NULL,
	`enrollment_id` integer NOT NULL,
	`placement_id` integer NOT NULL,
	`course_id` integer NOT NULL,
	`module_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`package_id` integer NOT NULL,
	`package_version` integer NOT NULL,
	`standard` text NOT NULL,
	`activity_id` text NOT NULL,
	`actor` text NOT NULL,
	`actor_key` text NOT NULL,
	`results` text NOT NULL,
	`reported` text,
	`satisfied_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`enrollment_id`) REFERENCES `enrollments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`placement_id`) REFERENCES `course_placements`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`package_id`) REFERENCES `packages`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `package_registrations_tenant_registration_uq` ON `package_registrations` (`tenant_id`,`registration`);--> statement-breakpoint
CREATE UNIQUE INDEX `package_registrations_tenant_enrollment_placement_uq` ON `package_registrations` (`tenant_id`,`enrollment_id`,`placement_id`);--> statement-breakpoint
CREATE INDEX `package_registrations_tenant_package_user_idx` ON `package_registrations` (`tenant_id`,`package_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `package_registrations_enrollment_fk_idx` ON `package_registrations` (`enrollment_id`);--> statement-breakpoint
CREATE INDEX `package_registrations_placement_fk_idx` ON `package_registrations` (`placement_id`);--> statement-breakpoint
CREATE INDEX `package_registrations_package_fk_idx` ON `package_registrations` (`package_id`);