CREATE TYPE "live_chat_chatbot_phase" AS ENUM('RUNNING', 'LEAVE_MESSAGE', 'HANDED_OVER');--> statement-breakpoint
ALTER TABLE "live_chat_messages" ADD COLUMN "chatbot_step_id" integer;--> statement-breakpoint
ALTER TABLE "live_chat_messages" ADD COLUMN "redirect_url" text;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD COLUMN "chatbot_script_id" integer;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD COLUMN "chatbot_phase" "live_chat_chatbot_phase";--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD COLUMN "chatbot_state" jsonb;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD COLUMN "chatbot_read_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD COLUMN "chatbot_due_at" timestamp(3) with time zone;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD COLUMN "test" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "live_chat_sessions_chatbot_due" ON "live_chat_sessions" ("chatbot_due_at") WHERE "chatbot_due_at" is not null;--> statement-breakpoint
ALTER TABLE "live_chat_messages" ADD CONSTRAINT "live_chat_messages_chatbot_step_id_chatbot_steps_id_fkey" FOREIGN KEY ("chatbot_step_id") REFERENCES "chatbot_steps"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "live_chat_sessions" ADD CONSTRAINT "live_chat_sessions_chatbot_script_id_chatbot_scripts_id_fkey" FOREIGN KEY ("chatbot_script_id") REFERENCES "chatbot_scripts"("id") ON DELETE SET NULL;