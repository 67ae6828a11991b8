CREATE TYPE "chat_author_kind" AS ENUM('VISITOR', 'OPERATOR', 'BOT', 'SYSTEM');--> statement-breakpoint
CREATE TYPE "live_chat_rating_value" AS ENUM('SATISFIED', 'OKAY', 'DISSATISFIED');--> statement-breakpoint
CREATE TYPE "live_chat_session_status" AS ENUM('WAITING', 'OPEN', 'CLOSED');--> statement-breakpoint
CREATE TABLE "live_chat_channels" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "live_chat_channels_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"team_id" integer NOT NULL,
	"name" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"button_text" text NOT NULL,
	"welcome_message" text NOT NULL,
	"input_placeholder" text NOT NULL,
	"header_background_color" text NOT NULL,
	"title_color" text NOT NULL,
	"button_background_color" text NOT NULL,
	"button_text_color" text NOT NULL,
	"max_sessions_per_operator" integer,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "live_chat_messages" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "live_chat_messages_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"session_id" integer NOT NULL,
	"seq" integer NOT NULL,
	"author_kind" "chat_author_kind" NOT NULL,
	"author_name" text NOT NULL,
	"agent_id" integer,
	"body" text NOT NULL,
	"operator_only" boolean DEFAULT false NOT NULL,
	"in_transcript" boolean DEFAULT true NOT NULL,
	"client_message_id" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "live_chat_operator_statuses" (
	"agent_id" integer PRIMARY KEY,
	"accepting" boolean DEFAULT false NOT NULL,
	"languages" text[] DEFAULT '{}'::text[] NOT NULL,
	"last_assigned_at" timestamp(3) with time zone
);
--> statement-breakpoint
CREATE TABLE "live_chat_operators" (
	"channel_id" integer,
	"agent_id" integer,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "live_chat_operators_pkey" PRIMARY KEY("channel_id","agent_id")
);
--> statement-breakpoint
CREATE TABLE "live_chat_presences" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "live_chat_presences_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"channel_id" integer NOT NULL,
	"agent_id" integer NOT NULL,
	"instance_id" text NOT NULL,
	"heartbeat_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "live_chat_rate_counters" (
	"key" text,
	"window_start" timestamp(3) with time zone,
	"hits" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "live_chat_rate_counters_pkey" PRIMARY KEY("key","window_start")
);
--> statement-breakpoint
CREATE TABLE "live_chat_ratings" (
	"session_id" integer PRIMARY KEY,
	"channel_id" integer NOT NULL,
	"rating" "live_chat_rating_value" NOT NULL,
	"comment" text,
	"operator_id" integer,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "live_chat_session_tickets" (
	"session_id" integer,
	"ticket_id" integer,
	CONSTRAINT "live_chat_session_tickets_pkey" PRIMARY KEY("session_id","ticket_id")
);
--> statement-breakpoint
CREATE TABLE "live_chat_sessions" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "live_chat_sessions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"channel_id" integer NOT NULL,
	"status" "live_chat_session_status" NOT NULL,
	"visitor_name" text NOT NULL,
	"visitor_email" text,
	"language" text,
	"country" text,
	"page_url" text,
	"operator_id" integer,
	"session_key_hash" text NOT NULL,
	"client_address" text,
	"last_seq" integer DEFAULT 0 NOT NULL,
	"visitor_wrote" boolean DEFAULT false NOT NULL,
	"last_activity_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp(3) with time zone
);
--> statement-breakpoint
ALTER TABLE "customers" ALTER COLUMN "email" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "customers" ALTER COLUMN "email_key" DROP NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "live_chat_channels_team_unique" ON "live_chat_channels" ("team_id");--> statement-breakpoint
CREATE UNIQUE INDEX "live_chat_messages_session_seq" ON "live_chat_messages" ("session_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "live_chat_messages_client_id" ON "live_chat_messages" ("session_id","client_message_id");--> statement-breakpoint
CREATE INDEX "live_chat_operators_agent" ON "live_chat_operators" ("agent_id");--> statement-breakpoint
CREATE INDEX "live_chat_presences_channel" ON "live_chat_presences" ("channel_id","agent_id");--> statement-breakpoint
CREATE INDEX "live_chat_presences_instance" ON "live_chat_presences" ("instance_id");--> statement-breakpoint
CREATE INDEX "live_chat_ratings_channel" ON "live_chat_ratings" ("channel_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "live_chat_session_tickets_ticket" ON "live_chat_session_tickets" ("ticket_id");--> statement-breakpoint
CREATE INDEX "live_chat_sessions_key" ON "live_chat_sessions" ("session_key_hash");--> statement-breakpoint
CREATE INDEX "live_chat_sessions_channel_status" ON "live_chat_sessions" ("channel_id","status","id");--> statement-breakpoint
CREATE INDEX "live_chat_sessions_operator_status" ON "live_chat_sessions" ("operator_id","status");--> statement-breakpoint
ALTER TABLE "live_chat_channels" ADD CONSTRAINT "live_chat_channels_team_id_teams_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_messages" ADD CONSTRAINT "live_chat_messages_session_id_live_chat_sessions_id_fkey" FOREIGN KEY ("session_id") REFERENCES "live_chat_sessions"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_messages" ADD CONSTRAINT "live_chat_messages_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "live_chat_operator_statuses" ADD CONSTRAINT "live_chat_operator_statuses_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_operators" ADD CONSTRAINT "live_chat_operators_channel_id_live_chat_channels_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "live_chat_channels"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_operators" ADD CONSTRAINT "live_chat_operators_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_presences" ADD CONSTRAINT "live_chat_presences_channel_id_live_chat_channels_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "live_chat_channels"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_presences" ADD CONSTRAINT "live_chat_presences_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_ratings" ADD CONSTRAINT "live_chat_ratings_session_id_live_chat_sessions_id_fkey" FOREIGN KEY ("session_id") REFERENCES "live_chat_sessions"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_ratings" ADD CONSTRAINT "live_chat_ratings_channel_id_live_chat_channels_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "live_chat_channels"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_ratings" ADD CONSTRAINT "live_chat_ratings_operator_id_agents_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "agents"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "live_chat_session_tickets" ADD CONSTRAINT "live_chat_session_tickets_session_id_live_chat_sessions_id_fkey" FOREIGN KEY ("session_id") REFERENCES "live_chat_sessions"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_session_tickets" ADD CONSTRAINT "live_chat_session_tickets_ticket_id_tickets_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD CONSTRAINT "live_chat_sessions_channel_id_live_chat_channels_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "live_chat_channels"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD CONSTRAINT "live_chat_sessions_operator_id_agents_id_fkey" FOREIGN KEY ("operator_id") REFERENCES "agents"("id") ON DELETE SET NULL;