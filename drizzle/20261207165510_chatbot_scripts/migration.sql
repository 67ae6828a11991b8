CREATE TYPE "chatbot_step_type" AS ENUM('TEXT', 'QUESTION_SELECTION', 'QUESTION_EMAIL', 'QUESTION_PHONE', 'FREE_INPUT_SINGLE', 'FREE_INPUT_MULTI', 'FORWARD_OPERATOR', 'CREATE_TICKET');--> statement-breakpoint
CREATE TYPE "live_chat_chatbot_condition" AS ENUM('ALWAYS', 'ONLY_IF_NO_OPERATOR', 'ONLY_IF_OPERATOR');--> statement-breakpoint
CREATE TABLE "chatbot_answers" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "chatbot_answers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"step_id" integer NOT NULL,
	"script_id" integer NOT NULL,
	"key" text NOT NULL,
	"sequence" integer NOT NULL,
	"label" text NOT NULL,
	"redirect_url" text
);
--> statement-breakpoint
CREATE TABLE "chatbot_scripts" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "chatbot_scripts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"title" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chatbot_steps" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "chatbot_steps_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"script_id" integer NOT NULL,
	"key" text NOT NULL,
	"sequence" integer NOT NULL,
	"type" "chatbot_step_type" NOT NULL,
	"message" text DEFAULT '' NOT NULL,
	"ticket_team_id" integer,
	"only_if_answer_ids" integer[] DEFAULT '{}'::integer[] NOT NULL
);
--> statement-breakpoint
ALTER TABLE "live_chat_rules" ADD COLUMN "chatbot_script_id" integer;--> statement-breakpoint
ALTER TABLE "live_chat_rules" ADD COLUMN "chatbot_condition" "live_chat_chatbot_condition" DEFAULT 'ALWAYS'::"live_chat_chatbot_condition" NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "chatbot_answers_script_key" ON "chatbot_answers" ("script_id","key");--> statement-breakpoint
CREATE INDEX "chatbot_answers_step" ON "chatbot_answers" ("step_id","sequence");--> statement-breakpoint
CREATE UNIQUE INDEX "chatbot_steps_script_key" ON "chatbot_steps" ("script_id","key");--> statement-breakpoint
CREATE INDEX "chatbot_steps_script_sequence" ON "chatbot_steps" ("script_id","sequence");--> statement-breakpoint
CREATE INDEX "live_chat_rules_chatbot_script" ON "live_chat_rules" ("chatbot_script_id");--> statement-breakpoint
ALTER TABLE "chatbot_answers" ADD CONSTRAINT "chatbot_answers_step_id_chatbot_steps_id_fkey" FOREIGN KEY ("step_id") REFERENCES "chatbot_steps"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "chatbot_answers" ADD CONSTRAINT "chatbot_answers_script_id_chatbot_scripts_id_fkey" FOREIGN KEY ("script_id") REFERENCES "chatbot_scripts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "chatbot_steps" ADD CONSTRAINT "chatbot_steps_script_id_chatbot_scripts_id_fkey" FOREIGN KEY ("script_id") REFERENCES "chatbot_scripts"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "chatbot_steps" ADD CONSTRAINT "chatbot_steps_ticket_team_id_teams_id_fkey" FOREIGN KEY ("ticket_team_id") REFERENCES "teams"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "live_chat_rules" ADD CONSTRAINT "live_chat_rules_chatbot_script_id_chatbot_scripts_id_fkey" FOREIGN KEY ("chatbot_script_id") REFERENCES "chatbot_scripts"("id") ON DELETE RESTRICT;