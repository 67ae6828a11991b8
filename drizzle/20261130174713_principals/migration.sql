CREATE TABLE "visitor_tokens" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "visitor_tokens_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"session_id" integer NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp(3) with time zone
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "revoked_at" timestamp(3) with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "visitor_tokens_hash_unique" ON "visitor_tokens" ("token_hash");--> statement-breakpoint
ALTER TABLE "api_tokens" DROP CONSTRAINT "api_tokens_agent_id_agents_id_fkey", ADD CONSTRAINT "api_tokens_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
-- Hand-written: an AGENT token must speak for an agent. Each existing unbound one keeps working,
-- bound to a new agent named after the token.
DO $$
DECLARE
	unbound record;
	new_agent integer;
BEGIN
	FOR unbound IN SELECT "id", "name" FROM "api_tokens" WHERE "role" = 'AGENT' AND "agent_id" IS NULL ORDER BY "id" LOOP
		INSERT INTO "agents" ("name") VALUES (unbound."name") RETURNING "id" INTO new_agent;
		UPDATE "api_tokens" SET "agent_id" = new_agent WHERE "id" = unbound."id";
	END LOOP;
END $$;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_agent_bound" CHECK ("role" <> 'AGENT' OR "agent_id" IS NOT NULL);