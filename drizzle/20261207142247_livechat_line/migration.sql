ALTER TABLE "live_chat_sessions" ADD COLUMN "preferred_operator_id" integer;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD COLUMN "visitor_seen_at" timestamp(3) with time zone;--> statement-breakpoint
ALTER TABLE "live_chat_operator_statuses" DROP COLUMN "last_assigned_at";--> statement-breakpoint
CREATE INDEX "live_chat_messages_agent" ON "live_chat_messages" ("agent_id","created_at") WHERE "agent_id" is not null;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD CONSTRAINT "live_chat_sessions_preferred_operator_id_agents_id_fkey" FOREIGN KEY ("preferred_operator_id") REFERENCES "agents"("id") ON DELETE SET NULL;