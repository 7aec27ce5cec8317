ALTER TABLE `cmi5_sessions` ADD `initialized_at` text;--> statement-breakpoint
ALTER TABLE `cmi5_sessions` ADD `verbs` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `cmi5_sessions` ADD `last_statement_at` text;--> statement-breakpoint
ALTER TABLE `cmi5_sessions` ADD `seq` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `cmi5_sessions` ADD `expires_at` text;--> statement-breakpoint
CREATE INDEX `cmi5_sessions_open_expiry_idx` ON `cmi5_sessions` (`expires_at`) WHERE terminated_at IS NULL AND abandoned_at IS NULL;