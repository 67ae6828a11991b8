CREATE TABLE "event_backlog" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "event_backlog_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"type" text NOT NULL,
	"entity_id" integer NOT NULL,
	"key_id" integer
);
--> statement-breakpoint
CREATE INDEX "event_backlog_type_id" ON "event_backlog" ("type","id");