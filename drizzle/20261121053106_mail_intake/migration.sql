CREATE TYPE "inbound_mail_status" AS ENUM('PROCESSED', 'DUPLICATE', 'IGNORED', 'QUARANTINED');--> statement-breakpoint
CREATE TYPE "alias_contact_policy" AS ENUM('EVERYONE', 'KNOWN_CUSTOMERS');--> statement-breakpoint
CREATE TABLE "inbound_mails" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "inbound_mails_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"team_id" integer,
	"status" "inbound_mail_status" NOT NULL,
	"message_key" text NOT NULL,
	"message_id" text,
	"envelope" jsonb NOT NULL,
	"from_address" text,
	"subject" text,
	"reason" text,
	"ticket_id" integer,
	"ticket_message_id" integer,
	"created_ticket" boolean DEFAULT false NOT NULL,
	"size" integer NOT NULL,
	"raw" bytea,
	"received_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mail_domains" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "mail_domains_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"domain" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_attachments" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ticket_attachments_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"message_id" integer NOT NULL,
	"filename" text NOT NULL,
	"content_type" text NOT NULL,
	"size" integer NOT NULL,
	"content_id" text,
	"data" bytea NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "teams" ADD COLUMN "alias_contact_policy" "alias_contact_policy" DEFAULT 'EVERYONE'::"alias_contact_policy" NOT NULL;--> statement-breakpoint
ALTER TABLE "teams" ADD COLUMN "alias_refusal_text" text;--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_mails_team_message_unique" ON "inbound_mails" ("team_id","message_key") WHERE status <> 'DUPLICATE';--> statement-breakpoint
CREATE INDEX "inbound_mails_message_id" ON "inbound_mails" ("message_id");--> statement-breakpoint
CREATE INDEX "inbound_mails_status" ON "inbound_mails" ("status","id");--> statement-breakpoint
CREATE INDEX "inbound_mails_from_recent" ON "inbound_mails" ("from_address","received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "mail_domains_domain_unique" ON "mail_domains" ("domain");--> statement-breakpoint
CREATE INDEX "ticket_attachments_message" ON "ticket_attachments" ("message_id");--> statement-breakpoint
ALTER TABLE "inbound_mails" ADD CONSTRAINT "inbound_mails_team_id_teams_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "inbound_mails" ADD CONSTRAINT "inbound_mails_ticket_id_tickets_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "inbound_mails" ADD CONSTRAINT "inbound_mails_ticket_message_id_ticket_messages_id_fkey" FOREIGN KEY ("ticket_message_id") REFERENCES "ticket_messages"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "ticket_attachments" ADD CONSTRAINT "ticket_attachments_message_id_ticket_messages_id_fkey" FOREIGN KEY ("message_id") REFERENCES "ticket_messages"("id") ON DELETE CASCADE;