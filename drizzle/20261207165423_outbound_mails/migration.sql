CREATE TYPE "outbound_mail_kind" AS ENUM('REPLY', 'ACKNOWLEDGEMENT');--> statement-breakpoint
CREATE TYPE "outbound_mail_status" AS ENUM('HELD', 'PENDING', 'SENDING', 'SENT', 'DEFERRED', 'FAILED');--> statement-breakpoint
CREATE TABLE "mail_signing_keys" (
	"id" smallint PRIMARY KEY DEFAULT 1,
	"secret" bytea NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mail_signing_keys_one_row" CHECK ("id" = 1)
);
--> statement-breakpoint
CREATE TABLE "outbound_mails" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "outbound_mails_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"kind" "outbound_mail_kind" NOT NULL,
	"ticket_id" integer,
	"ticket_message_id" integer,
	"status" "outbound_mail_status" NOT NULL,
	"message_id" text NOT NULL,
	"from_address" text NOT NULL,
	"reply_to" text,
	"to" text[] NOT NULL,
	"cc" text[] DEFAULT '{}'::text[] NOT NULL,
	"subject" text NOT NULL,
	"body_text" text NOT NULL,
	"body_html" text,
	"headers" jsonb DEFAULT '{}' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_response" text,
	"next_attempt_at" timestamp(3) with time zone,
	"lease_until" timestamp(3) with time zone,
	"sent_at" timestamp(3) with time zone,
	"retry_from" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "outbound_mails_lease_when_sending" CHECK ((status = 'SENDING') = (lease_until is not null))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "outbound_mails_message_id_unique" ON "outbound_mails" ("message_id");--> statement-breakpoint
CREATE INDEX "outbound_mails_due" ON "outbound_mails" ("next_attempt_at") WHERE status in ('PENDING', 'DEFERRED');--> statement-breakpoint
CREATE INDEX "outbound_mails_leases" ON "outbound_mails" ("lease_until") WHERE status = 'SENDING';--> statement-breakpoint
CREATE INDEX "outbound_mails_status" ON "outbound_mails" ("status","id");--> statement-breakpoint
CREATE INDEX "outbound_mails_ticket_message" ON "outbound_mails" ("ticket_message_id");--> statement-breakpoint
CREATE INDEX "outbound_mails_ticket" ON "outbound_mails" ("ticket_id");--> statement-breakpoint
ALTER TABLE "outbound_mails" ADD CONSTRAINT "outbound_mails_ticket_id_tickets_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "outbound_mails" ADD CONSTRAINT "outbound_mails_ticket_message_id_ticket_messages_id_fkey" FOREIGN KEY ("ticket_message_id") REFERENCES "ticket_messages"("id") ON DELETE SET NULL;