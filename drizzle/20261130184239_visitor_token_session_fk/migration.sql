-- Hand-written: visitor_tokens belongs to auth, which cannot import live chat's tables, so the
-- foreign key to live chat's sessions lives here. A removed session takes its tokens with it.
ALTER TABLE "visitor_tokens" ADD CONSTRAINT "visitor_tokens_session_id_live_chat_sessions_id_fkey" FOREIGN KEY ("session_id") REFERENCES "live_chat_sessions"("id") ON DELETE CASCADE;
