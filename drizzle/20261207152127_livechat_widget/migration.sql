CREATE TYPE "live_chat_offline_behavior" AS ENUM('LEAVE_MESSAGE', 'HIDE');--> statement-breakpoint
CREATE TYPE "live_chat_rule_action" AS ENUM('DISPLAY_BUTTON', 'DISPLAY_BUTTON_AND_TEXT', 'AUTO_POPUP', 'HIDE_BUTTON');--> statement-breakpoint
CREATE TABLE "live_chat_rules" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "live_chat_rules_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"channel_id" integer NOT NULL,
	"url_pattern" text DEFAULT '' NOT NULL,
	"action" "live_chat_rule_action" NOT NULL,
	"auto_popup_seconds" integer DEFAULT 0 NOT NULL,
	"countries" text[] DEFAULT '{}'::text[] NOT NULL,
	"sequence" integer DEFAULT 10 NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "live_chat_channels" ADD COLUMN "key" text DEFAULT replace(gen_random_uuid()::text, '-', '') NOT NULL;--> statement-breakpoint
ALTER TABLE "live_chat_channels" ADD COLUMN "allowed_origins" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "live_chat_channels" ADD COLUMN "offline_behavior" "live_chat_offline_behavior" DEFAULT 'LEAVE_MESSAGE'::"live_chat_offline_behavior" NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "live_chat_channels_key" ON "live_chat_channels" ("key");--> statement-breakpoint
CREATE INDEX "live_chat_rules_channel" ON "live_chat_rules" ("channel_id","sequence");--> statement-breakpoint
ALTER TABLE "live_chat_rules" ADD CONSTRAINT "live_chat_rules_channel_id_live_chat_channels_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "live_chat_channels"("id") ON DELETE CASCADE;