CREATE TABLE "idem"."duplicate_stats_hour" (
	"bucket" timestamp with time zone NOT NULL,
	"task_name" text NOT NULL,
	"outcome" "idem"."duplicate_outcome" NOT NULL,
	"attempts" bigint NOT NULL,
	CONSTRAINT "duplicate_stats_hour_pk" PRIMARY KEY("bucket","task_name","outcome")
);
--> statement-breakpoint
CREATE TABLE "idem"."duplicate_stats_journal" (
	"bucket" timestamp with time zone NOT NULL,
	"task_name" text NOT NULL,
	"outcome" "idem"."duplicate_outcome" NOT NULL,
	"delta" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idem"."duplicate_stats_minute" (
	"bucket" timestamp with time zone NOT NULL,
	"task_name" text NOT NULL,
	"outcome" "idem"."duplicate_outcome" NOT NULL,
	"attempts" bigint NOT NULL,
	CONSTRAINT "duplicate_stats_minute_pk" PRIMARY KEY("bucket","task_name","outcome")
);
--> statement-breakpoint
CREATE TABLE "idem"."run_stats_hour" (
	"bucket" timestamp with time zone NOT NULL,
	"task_name" text NOT NULL,
	"status" "idem"."run_status" NOT NULL,
	"runs" bigint NOT NULL,
	CONSTRAINT "run_stats_hour_pk" PRIMARY KEY("bucket","task_name","status")
);
--> statement-breakpoint
CREATE TABLE "idem"."run_stats_journal" (
	"bucket" timestamp with time zone NOT NULL,
	"task_name" text NOT NULL,
	"status" "idem"."run_status" NOT NULL,
	"delta" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idem"."run_stats_minute" (
	"bucket" timestamp with time zone NOT NULL,
	"task_name" text NOT NULL,
	"status" "idem"."run_status" NOT NULL,
	"runs" bigint NOT NULL,
	CONSTRAINT "run_stats_minute_pk" PRIMARY KEY("bucket","task_name","status")
);
--> statement-breakpoint
CREATE INDEX "duplicate_attempts_worker_at_idx" ON "idem"."duplicate_attempts" USING btree ("worker_id","attempted_at","id");--> statement-breakpoint
CREATE INDEX "duplicate_attempts_source_at_idx" ON "idem"."duplicate_attempts" USING btree ("source","attempted_at","id");