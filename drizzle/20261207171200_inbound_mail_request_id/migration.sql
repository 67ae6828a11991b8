ALTER TABLE "inbound_mails" ADD COLUMN "request_id" text;--> statement-breakpoint
CREATE INDEX "inbound_mails_request" ON "inbound_mails" ("request_id");