CREATE TABLE "event_streams" (
	"type" text PRIMARY KEY,
	"position" bigint NOT NULL,
	"pruned_through" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"type" text,
	"position" bigint,
	"entity_id" integer NOT NULL,
	"key_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "events_pkey" PRIMARY KEY("type","position")
);
