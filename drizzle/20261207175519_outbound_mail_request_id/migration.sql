ALTER TABLE "outbound_mails" ADD COLUMN "request_id" text;--> statement-breakpoint
CREATE INDEX "outbound_mails_request" ON "outbound_mails" ("request_id");