CREATE TABLE "raw_mails" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "raw_mails_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"size" integer NOT NULL,
	"data" bytea NOT NULL,
	"received_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "attachment_blobs" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "attachment_blobs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"size" integer NOT NULL,
	"data" bytea NOT NULL
);
--> statement-breakpoint
ALTER TABLE "inbound_mails" ADD COLUMN "raw_mail_id" integer;--> statement-breakpoint
ALTER TABLE "ticket_attachments" ADD COLUMN "blob_id" integer;--> statement-breakpoint
ALTER TABLE "ticket_attachments" ALTER COLUMN "data" DROP NOT NULL;--> statement-breakpoint
CREATE INDEX "inbound_mails_raw_mail" ON "inbound_mails" ("raw_mail_id");--> statement-breakpoint
CREATE INDEX "ticket_attachments_blob" ON "ticket_attachments" ("blob_id");--> statement-breakpoint
ALTER TABLE "inbound_mails" ADD CONSTRAINT "inbound_mails_raw_mail_id_raw_mails_id_fkey" FOREIGN KEY ("raw_mail_id") REFERENCES "raw_mails"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "ticket_attachments" ADD CONSTRAINT "ticket_attachments_blob_id_attachment_blobs_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "attachment_blobs"("id");