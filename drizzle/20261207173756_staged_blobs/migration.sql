CREATE TABLE "blob_chunks" (
	"blob_id" integer,
	"seq" integer,
	"data" bytea NOT NULL,
	CONSTRAINT "blob_chunks_pkey" PRIMARY KEY("blob_id","seq")
);
--> statement-breakpoint
CREATE TABLE "blobs" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "blobs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"size" integer NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "raw_mails" ADD COLUMN "blob_id" integer;--> statement-breakpoint
ALTER TABLE "attachment_blobs" ADD COLUMN "blob_id" integer;--> statement-breakpoint
ALTER TABLE "raw_mails" ALTER COLUMN "data" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "attachment_blobs" ALTER COLUMN "data" DROP NOT NULL;--> statement-breakpoint
CREATE INDEX "raw_mails_blob" ON "raw_mails" ("blob_id");--> statement-breakpoint
CREATE INDEX "attachment_blobs_blob" ON "attachment_blobs" ("blob_id");--> statement-breakpoint
ALTER TABLE "raw_mails" ADD CONSTRAINT "raw_mails_blob_id_blobs_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "blobs"("id");--> statement-breakpoint
ALTER TABLE "attachment_blobs" ADD CONSTRAINT "attachment_blobs_blob_id_blobs_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "blobs"("id");--> statement-breakpoint
ALTER TABLE "blob_chunks" ADD CONSTRAINT "blob_chunks_blob_id_blobs_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "blobs"("id") ON DELETE CASCADE;