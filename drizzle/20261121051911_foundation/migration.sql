CREATE TYPE "api_token_role" AS ENUM('ADMIN', 'AGENT');--> statement-breakpoint
CREATE TYPE "ticket_message_author_kind" AS ENUM('CUSTOMER', 'AGENT', 'SYSTEM');--> statement-breakpoint
CREATE TYPE "ticket_message_kind" AS ENUM('MESSAGE', 'NOTE', 'SYSTEM');--> statement-breakpoint
CREATE TYPE "ticket_channel" AS ENUM('EMAIL', 'WEBSITE_FORM', 'LIVE_CHAT', 'API');--> statement-breakpoint
CREATE TABLE "agents" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agents_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"email" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "api_tokens_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"role" "api_token_role" NOT NULL,
	"token_hash" text NOT NULL,
	"agent_id" integer,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp(3) with time zone
);
--> statement-breakpoint
CREATE TABLE "stages" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "stages_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"team_id" integer NOT NULL,
	"name" text NOT NULL,
	"sequence" integer NOT NULL,
	"closed" boolean DEFAULT false NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "teams" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "teams_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"use_email_alias" boolean DEFAULT true NOT NULL,
	"use_website_form" boolean DEFAULT false NOT NULL,
	"use_live_chat" boolean DEFAULT false NOT NULL,
	"alias_local_part" text,
	"alias_domain" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customers" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "customers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text,
	"email" text NOT NULL,
	"email_key" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "tags_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"name_key" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_messages" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ticket_messages_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"ticket_id" integer NOT NULL,
	"kind" "ticket_message_kind" NOT NULL,
	"author_kind" "ticket_message_author_kind" NOT NULL,
	"author_name" text,
	"author_email" text,
	"customer_id" integer,
	"agent_id" integer,
	"body_text" text NOT NULL,
	"body_html" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_tags" (
	"ticket_id" integer,
	"tag_id" integer,
	CONSTRAINT "ticket_tags_pkey" PRIMARY KEY("ticket_id","tag_id")
);
--> statement-breakpoint
CREATE TABLE "tickets" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "tickets_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"number" serial UNIQUE,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"priority" smallint DEFAULT 0 NOT NULL,
	"channel" "ticket_channel" NOT NULL,
	"team_id" integer NOT NULL,
	"stage_id" integer NOT NULL,
	"customer_id" integer,
	"assignee_id" integer,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tickets_priority_range" CHECK ("priority" between 0 and 3)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "agents_email_unique" ON "agents" ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash_unique" ON "api_tokens" ("token_hash");--> statement-breakpoint
CREATE INDEX "stages_team_sequence" ON "stages" ("team_id","sequence");--> statement-breakpoint
CREATE UNIQUE INDEX "teams_alias_unique" ON "teams" ("alias_domain","alias_local_part");--> statement-breakpoint
CREATE UNIQUE INDEX "customers_email_key_unique" ON "customers" ("email_key");--> statement-breakpoint
CREATE UNIQUE INDEX "tags_name_key_unique" ON "tags" ("name_key");--> statement-breakpoint
CREATE INDEX "ticket_messages_ticket" ON "ticket_messages" ("ticket_id","id");--> statement-breakpoint
CREATE INDEX "ticket_tags_tag" ON "ticket_tags" ("tag_id");--> statement-breakpoint
CREATE INDEX "tickets_team_order" ON "tickets" ("team_id","priority" DESC,"created_at" DESC,"id" DESC);--> statement-breakpoint
CREATE INDEX "tickets_order" ON "tickets" ("priority" DESC,"created_at" DESC,"id" DESC);--> statement-breakpoint
CREATE INDEX "tickets_stage" ON "tickets" ("stage_id");--> statement-breakpoint
CREATE INDEX "tickets_customer" ON "tickets" ("customer_id");--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "stages" ADD CONSTRAINT "stages_team_id_teams_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_messages" ADD CONSTRAINT "ticket_messages_ticket_id_tickets_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_messages" ADD CONSTRAINT "ticket_messages_customer_id_customers_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id");--> statement-breakpoint
ALTER TABLE "ticket_messages" ADD CONSTRAINT "ticket_messages_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "ticket_tags" ADD CONSTRAINT "ticket_tags_ticket_id_tickets_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "ticket_tags" ADD CONSTRAINT "ticket_tags_tag_id_tags_id_fkey" FOREIGN KEY ("tag_id") REFERENCES "tags"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_team_id_teams_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id");--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_stage_id_stages_id_fkey" FOREIGN KEY ("stage_id") REFERENCES "stages"("id");--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_customer_id_customers_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id");--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_assignee_id_agents_id_fkey" FOREIGN KEY ("assignee_id") REFERENCES "agents"("id") ON DELETE SET NULL;