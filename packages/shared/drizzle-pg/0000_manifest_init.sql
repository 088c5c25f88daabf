CREATE TABLE "artifacts" (
	"id" serial PRIMARY KEY NOT NULL,
	"identity" text NOT NULL,
	"stage" text NOT NULL,
	"kind" text NOT NULL,
	"clip_id" text,
	"direction" text,
	"stride" integer,
	"source" text,
	"variant" text DEFAULT '' NOT NULL,
	"dataset" text,
	"params" text DEFAULT '{}' NOT NULL,
	"cache_key" text NOT NULL,
	"path" text NOT NULL,
	"bytes" bigint,
	"content_hash" text,
	"status" text NOT NULL,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"run_id" text,
	"claim_pid" integer,
	"claim_host" text,
	"claim_token" text,
	"claim_expires_at" timestamp (3) with time zone,
	"claimed_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp (3) with time zone,
	CONSTRAINT "artifacts_status" CHECK ("artifacts"."status" in ('pending', 'done', 'failed', 'stale')),
	CONSTRAINT "artifacts_direction" CHECK ("artifacts"."direction" is null or "artifacts"."direction" in ('forward', 'reversed')),
	CONSTRAINT "artifacts_source" CHECK ("artifacts"."source" is null or "artifacts"."source" in ('raw', 'face'))
);
--> statement-breakpoint
CREATE TABLE "clip_sources" (
	"clip_id" text NOT NULL,
	"kind" text NOT NULL,
	"path" text NOT NULL,
	"content_hash" text NOT NULL,
	"frame_count" integer NOT NULL,
	"fps" double precision,
	"width" integer,
	"height" integer,
	"is_frame_folder" boolean NOT NULL,
	"file_stamp" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "clip_sources_clip_id_kind_pk" PRIMARY KEY("clip_id","kind"),
	CONSTRAINT "clip_sources_kind" CHECK ("clip_sources"."kind" in ('raw', 'face'))
);
--> statement-breakpoint
CREATE TABLE "clips" (
	"id" text PRIMARY KEY NOT NULL,
	"dataset" text NOT NULL,
	"split" text,
	"label" integer NOT NULL,
	"label_name" text NOT NULL,
	"frame_count" integer NOT NULL,
	"fps" double precision,
	"width" integer,
	"height" integer,
	"content_hash" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingest_issues" (
	"id" serial PRIMARY KEY NOT NULL,
	"dataset" text NOT NULL,
	"subject" text NOT NULL,
	"clip_id" text,
	"path" text,
	"reason" text NOT NULL,
	"detail" text,
	"run_id" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "label_maps" (
	"dataset" text NOT NULL,
	"index" integer NOT NULL,
	"name" text NOT NULL,
	CONSTRAINT "label_maps_dataset_index_pk" PRIMARY KEY("dataset","index")
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"stage" text NOT NULL,
	"config" text DEFAULT '{}' NOT NULL,
	"pid" integer NOT NULL,
	"host" text NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"ended_at" timestamp (3) with time zone,
	"counts" text,
	"outcome" text NOT NULL,
	"error" text,
	CONSTRAINT "runs_outcome" CHECK ("runs"."outcome" in ('running', 'ok', 'failed', 'interrupted'))
);
--> statement-breakpoint
CREATE TABLE "split_members" (
	"dataset" text NOT NULL,
	"split" text NOT NULL,
	"clip_id" text NOT NULL,
	CONSTRAINT "split_members_dataset_split_clip_id_pk" PRIMARY KEY("dataset","split","clip_id")
);
--> statement-breakpoint
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_clip_id_clips_id_fk" FOREIGN KEY ("clip_id") REFERENCES "public"."clips"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "clip_sources" ADD CONSTRAINT "clip_sources_clip_id_clips_id_fk" FOREIGN KEY ("clip_id") REFERENCES "public"."clips"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ingest_issues" ADD CONSTRAINT "ingest_issues_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "split_members" ADD CONSTRAINT "split_members_clip_id_clips_id_fk" FOREIGN KEY ("clip_id") REFERENCES "public"."clips"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "artifacts_identity" ON "artifacts" USING btree ("identity");--> statement-breakpoint
CREATE UNIQUE INDEX "artifacts_path" ON "artifacts" USING btree ("path");--> statement-breakpoint
CREATE INDEX "artifacts_stage_status" ON "artifacts" USING btree ("stage","status");--> statement-breakpoint
CREATE INDEX "artifacts_clip" ON "artifacts" USING btree ("clip_id");--> statement-breakpoint
CREATE INDEX "clips_dataset_split" ON "clips" USING btree ("dataset","split");--> statement-breakpoint
CREATE UNIQUE INDEX "ingest_issues_subject" ON "ingest_issues" USING btree ("dataset","subject","reason");--> statement-breakpoint
CREATE UNIQUE INDEX "label_maps_dataset_name" ON "label_maps" USING btree ("dataset","name");--> statement-breakpoint
CREATE INDEX "runs_stage_started" ON "runs" USING btree ("stage","started_at");--> statement-breakpoint
CREATE INDEX "split_members_clip" ON "split_members" USING btree ("clip_id");