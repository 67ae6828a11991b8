CREATE TABLE "live_chat_typing_marks" (
	"session_id" integer,
	"author" text,
	"sent_at" timestamp(3) with time zone NOT NULL,
	CONSTRAINT "live_chat_typing_marks_pkey" PRIMARY KEY("session_id","author")
);
--> statement-breakpoint
ALTER TABLE "visitor_tokens" ADD COLUMN "session_closed_at" timestamp(3) with time zone;--> statement-breakpoint
CREATE INDEX "visitor_tokens_session" ON "visitor_tokens" ("session_id");--> statement-breakpoint
CREATE INDEX "visitor_tokens_session_closed" ON "visitor_tokens" ("session_closed_at") WHERE "session_closed_at" is not null;--> statement-breakpoint
CREATE INDEX "live_chat_sessions_open_client" ON "live_chat_sessions" ("client_address") WHERE "status" <> 'CLOSED';--> statement-breakpoint
ALTER TABLE "live_chat_typing_marks" ADD CONSTRAINT "live_chat_typing_marks_session_id_live_chat_sessions_id_fkey" FOREIGN KEY ("session_id") REFERENCES "live_chat_sessions"("id") ON DELETE CASCADE;