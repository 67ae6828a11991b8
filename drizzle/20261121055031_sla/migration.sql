CREATE TYPE "sla_status" AS ENUM('ONGOING', 'REACHED', 'FAILED');--> statement-breakpoint
CREATE TABLE "sla_policies" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sla_policies_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"team_id" integer NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"priorities" jsonb NOT NULL,
	"tag_ids" jsonb NOT NULL,
	"customer_ids" jsonb NOT NULL,
	"target_stage_id" integer NOT NULL,
	"excluded_stage_ids" jsonb NOT NULL,
	"hours" double precision NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "team_calendars" (
	"team_id" integer PRIMARY KEY,
	"timezone" text NOT NULL,
	"intervals" jsonb NOT NULL,
	"holidays" jsonb NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_sla_statuses" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ticket_sla_statuses_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"ticket_id" integer NOT NULL,
	"policy_id" integer NOT NULL,
	"deadline" timestamp(3) with time zone NOT NULL,
	"reached_at" timestamp(3) with time zone,
	"status" "sla_status" NOT NULL,
	"paused" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_stage_changes" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ticket_stage_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"ticket_id" integer NOT NULL,
	"stage_id" integer NOT NULL,
	"entered_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "teams" ADD COLUMN "use_sla" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX "sla_policies_team" ON "sla_policies" ("team_id");--> statement-breakpoint
CREATE UNIQUE INDEX "ticket_sla_statuses_unique" ON "ticket_sla_statuses" ("ticket_id","policy_id");--> statement-breakpoint
CREATE INDEX "ticket_sla_statuses_due" ON "ticket_sla_statuses" ("status","deadline");--> statement-breakpoint
CREATE INDEX "ticket_stage_changes_ticket" ON "ticket_stage_changes" ("ticket_id","id");--> statement-breakpoint
ALTER TABLE "sla_policies" ADD CONSTRAINT "sla_policies_team_id_teams_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "sla_policies" ADD CONSTRAINT "sla_policies_target_stage_id_stages_id_fkey" FOREIGN KEY ("target_stage_id") REFERENCES "stages"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "team_calendars" ADD CONSTRAINT "team_calendars_team_id_teams_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_sla_statuses" ADD CONSTRAINT "ticket_sla_statuses_ticket_id_tickets_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_sla_statuses" ADD CONSTRAINT "ticket_sla_statuses_policy_id_sla_policies_id_fkey" FOREIGN KEY ("policy_id") REFERENCES "sla_policies"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_stage_changes" ADD CONSTRAINT "ticket_stage_changes_ticket_id_tickets_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_stage_changes" ADD CONSTRAINT "ticket_stage_changes_stage_id_stages_id_fkey" FOREIGN KEY ("stage_id") REFERENCES "stages"("id") ON DELETE CASCADE;