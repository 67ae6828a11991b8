CREATE TABLE "form_rate_counters" (
	"client_key" text,
	"window_start" timestamp(3) with time zone,
	"count" integer NOT NULL,
	CONSTRAINT "form_rate_counters_pkey" PRIMARY KEY("client_key","window_start")
);
--> statement-breakpoint
CREATE TABLE "website_forms" (
	"team_id" integer PRIMARY KEY,
	"slug" text NOT NULL,
	"published" boolean DEFAULT false NOT NULL,
	"title" text NOT NULL,
	"intro" text DEFAULT '' NOT NULL,
	"success_message" text NOT NULL,
	"side_blocks" jsonb NOT NULL,
	"fields" jsonb NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ticket_messages" ADD COLUMN "origin" jsonb;--> statement-breakpoint
CREATE UNIQUE INDEX "website_forms_slug_unique" ON "website_forms" ("slug");--> statement-breakpoint
ALTER TABLE "website_forms" ADD CONSTRAINT "website_forms_team_id_teams_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE;