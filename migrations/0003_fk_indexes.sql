CREATE INDEX `module_categories_module_fk_idx` ON `module_categories` (`module_id`);--> statement-breakpoint
CREATE INDEX `module_categories_category_fk_idx` ON `module_categories` (`category_id`);--> statement-breakpoint
CREATE INDEX `course_categories_category_fk_idx` ON `course_categories` (`category_id`);--> statement-breakpoint
CREATE INDEX `course_instructors_user_fk_idx` ON `course_instructors` (`user_id`);--> statement-breakpoint
CREATE INDEX `course_placements_module_fk_idx` ON `course_placements` (`module_id`);--> statement-breakpoint
CREATE INDEX `course_placements_section_fk_idx` ON `course_placements` (`section_id`);--> statement-breakpoint
CREATE INDEX `placement_prerequisites_placement_fk_idx` ON `placement_prerequisites` (`placement_id`);--> statement-breakpoint
CREATE INDEX `placement_prerequisites_prerequisite_fk_idx` ON `placement_prerequisites` (`prerequisite_id`);--> statement-breakpoint
CREATE INDEX `learning_path_categories_path_fk_idx` ON `learning_path_categories` (`path_id`);--> statement-breakpoint
CREATE INDEX `learning_path_categories_category_fk_idx` ON `learning_path_categories` (`category_id`);--> statement-breakpoint
CREATE INDEX `learning_path_step_prerequisites_step_fk_idx` ON `learning_path_step_prerequisites` (`step_id`);--> statement-breakpoint
CREATE INDEX `learning_path_step_prerequisites_prerequisite_fk_idx` ON `learning_path_step_prerequisites` (`prerequisite_step_id`);--> statement-breakpoint
CREATE INDEX `learning_path_steps_path_fk_idx` ON `learning_path_steps` (`path_id`);--> statement-breakpoint
CREATE INDEX `course_ratings_user_fk_idx` ON `course_ratings` (`user_id`);