CREATE TABLE `artifacts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`identity` text NOT NULL,
	`stage` text NOT NULL,
	`kind` text NOT NULL,
	`clip_id` text,
	`direction` text,
	`stride` integer,
	`source` text,
	`variant` text DEFAULT '' NOT NULL,
	`params` text DEFAULT '{}' NOT NULL,
	`cache_key` text NOT NULL,
	`path` text NOT NULL,
	`bytes` integer,
	`content_hash` text,
	`status` text NOT NULL,
	`error` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`run_id` text,
	`claim_pid` integer,
	`claim_host` text,
	`claim_token` text,
	`claim_expires_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`completed_at` integer,
	FOREIGN KEY (`clip_id`) REFERENCES `clips`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "artifacts_status" CHECK("artifacts"."status" in ('pending', 'done', 'failed', 'stale')),
	CONSTRAINT "artifacts_direction" CHECK("artifacts"."direction" is null or "artifacts"."direction" in ('forward', 'reversed')),
	CONSTRAINT "artifacts_source" CHECK("artifacts"."source" is null or "artifacts"."source" in ('raw', 'face'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `artifacts_identity` ON `artifacts` (`identity`);--> statement-breakpoint
CREATE UNIQUE INDEX `artifacts_path` ON `artifacts` (`path`);--> statement-breakpoint
CREATE INDEX `artifacts_stage_status` ON `artifacts` (`stage`,`status`);--> statement-breakpoint
CREATE INDEX `artifacts_clip` ON `artifacts` (`clip_id`);--> statement-breakpoint
CREATE TABLE `clip_sources` (
	`clip_id` text NOT NULL,
	`kind` text NOT NULL,
	`path` text NOT NULL,
	`content_hash` text NOT NULL,
	`frame_count` integer NOT NULL,
	`fps` real,
	`width` integer,
	`height` integer,
	`is_frame_folder` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`clip_id`, `kind`),
	FOREIGN KEY (`clip_id`) REFERENCES `clips`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "clip_sources_kind" CHECK("clip_sources"."kind" in ('raw', 'face'))
);
--> statement-breakpoint
CREATE TABLE `clips` (
	`id` text PRIMARY KEY NOT NULL,
	`dataset` text NOT NULL,
	`split` text,
	`label` integer NOT NULL,
	`label_name` text NOT NULL,
	`frame_count` integer NOT NULL,
	`fps` real,
	`width` integer,
	`height` integer,
	`content_hash` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `clips_dataset_split` ON `clips` (`dataset`,`split`);--> statement-breakpoint
CREATE TABLE `ingest_issues` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dataset` text NOT NULL,
	`subject` text NOT NULL,
	`clip_id` text,
	`path` text,
	`reason` text NOT NULL,
	`detail` text,
	`run_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ingest_issues_subject` ON `ingest_issues` (`dataset`,`subject`,`reason`);--> statement-breakpoint
CREATE TABLE `label_maps` (
	`dataset` text NOT NULL,
	`index` integer NOT NULL,
	`name` text NOT NULL,
	PRIMARY KEY(`dataset`, `index`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `label_maps_dataset_name` ON `label_maps` (`dataset`,`name`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`stage` text NOT NULL,
	`config` text DEFAULT '{}' NOT NULL,
	`pid` integer NOT NULL,
	`host` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`counts` text,
	`outcome` text NOT NULL,
	`error` text,
	CONSTRAINT "runs_outcome" CHECK("runs"."outcome" in ('running', 'ok', 'failed', 'interrupted'))
);
--> statement-breakpoint
CREATE INDEX `runs_stage_started` ON `runs` (`stage`,`started_at`);--> statement-breakpoint
CREATE TABLE `split_members` (
	`dataset` text NOT NULL,
	`split` text NOT NULL,
	`clip_id` text NOT NULL,
	PRIMARY KEY(`dataset`, `split`, `clip_id`),
	FOREIGN KEY (`clip_id`) REFERENCES `clips`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `split_members_clip` ON `split_members` (`clip_id`);