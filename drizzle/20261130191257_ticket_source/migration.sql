CREATE TYPE "ticket_source_kind" AS ENUM('INBOUND_MAIL', 'LIVE_CHAT_SESSION');--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "source_kind" "ticket_source_kind";--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "source_id" integer;--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_source_complete" CHECK (("source_kind" is null) = ("source_id" is null));