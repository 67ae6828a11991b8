import { sql } from 'drizzle-orm';
import { bytea, check, index, integer, jsonb, pgEnum, pgTable, primaryKey, serial, smallint, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agents } from '../auth/tables.js';
import { createdAtColumn, idColumn, updatedAtColumn } from '../db/columns.js';
import { stages, teams } from '../teams/tables.js';

export interface MessageOrigin {
  clientAddress: string | null;
  userAgent: string | null;
  referer: string | null;
  language: string | null;
}

export const ticketChannel = pgEnum('ticket_channel', ['EMAIL', 'WEBSITE_FORM', 'LIVE_CHAT', 'API']);
export const messageKind = pgEnum('ticket_message_kind', ['MESSAGE', 'NOTE', 'SYSTEM']);
export const authorKind = pgEnum('ticket_message_author_kind', ['CUSTOMER', 'AGENT', 'SYSTEM']);
export const ticketSourceKind = pgEnum('ticket_source_kind', ['INBOUND_MAIL', 'LIVE_CHAT_SESSION']);

export const customers = pgTable(
  'customers',
  {
    id: idColumn(),
    name: text('name'),
    // Null for a customer known by name only (a chat visitor who left no address).
    email: text('email'),
    // Lower-cased address: one customer per mailbox whatever the case the sender typed.
    emailKey: text('email_key'),
    createdAt: createdAtColumn(),
  },
  (t) => [uniqueIndex('customers_email_key_unique').on(t.emailKey)],
);

export const tags = pgTable(
  'tags',
  {
    id: idColumn(),
    name: text('name').notNull(),
    nameKey: text('name_key').notNull(),
    createdAt: createdAtColumn(),
  },
  (t) => [uniqueIndex('tags_name_key_unique').on(t.nameKey)],
);

export const tickets = pgTable(
  'tickets',
  {
    id: idColumn(),
    number: serial('number').notNull().unique(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    // 0 LOW, 1 MEDIUM, 2 HIGH, 3 URGENT: stored as a number so ordering is numeric.
    priority: smallint('priority').notNull().default(0),
    channel: ticketChannel('channel').notNull(),
    teamId: integer('team_id')
      .notNull()
      .references(() => teams.id),
    stageId: integer('stage_id')
      .notNull()
      .references(() => stages.id),
    customerId: integer('customer_id').references(() => customers.id),
    assigneeId: integer('assignee_id').references(() => agents.id, { onDelete: 'set null' }),
    // Where the ticket came from when that is a record of its own (a chat session): its kind and
    // id. No foreign key: the record belongs to another capability and may be deleted before the ticket.
    sourceKind: ticketSourceKind('source_kind'),
    sourceId: integer('source_id'),
    createdAt: createdAtColumn(),
    updatedAt: updatedAtColumn(),
  },
  (t) => [
    check('tickets_priority_range', sql`${t.priority} between 0 and 3`),
    check('tickets_source_complete', sql`(${t.sourceKind} is null) = (${t.sourceId} is null)`),
    // ORDER BY x DESC means NULLS FIRST: the index must say so to serve the ticket order.
    index('tickets_team_order').on(t.teamId, t.priority.desc().nullsFirst(), t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('tickets_order').on(t.priority.desc().nullsFirst(), t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('tickets_stage').on(t.stageId),
    index('tickets_customer').on(t.customerId),
  ],
);

export const ticketTags = pgTable(
  'ticket_tags',
  {
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    tagId: integer('tag_id')
      .notNull()
      .references(() => tags.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.ticketId, t.tagId] }), index('ticket_tags_tag').on(t.tagId)],
);

/** The chatter: a ticket's conversation and notes, in order. */
export const ticketMessages = pgTable(
  'ticket_messages',
  {
    id: idColumn(),
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    kind: messageKind('kind').notNull(),
    authorKind: authorKind('author_kind').notNull(),
    authorName: text('author_name'),
    authorEmail: text('author_email'),
    customerId: integer('customer_id').references(() => customers.id),
    agentId: integer('agent_id').references(() => agents.id, { onDelete: 'set null' }),
    bodyText: text('body_text').notNull(),
    bodyHtml: text('body_html').notNull(),
    // Where a web submission came from: client address, user agent, referer, language.
    origin: jsonb('origin').$type<MessageOrigin>(),
    createdAt: createdAtColumn(),
  },
  (t) => [index('ticket_messages_ticket').on(t.ticketId, t.id)],
);

/**
 * The bytes of attachment files, stored once when the same file reaches several tickets (one
 * mail to several teams' aliases).
 */
export const attachmentBlobs = pgTable(
  'attachment_blobs',
  {
    id: idColumn(),
    size: integer('size').notNull(),
    // Null when the bytes were large: they are in the staged blob instead (src/tickets/blobs.ts).
    data: bytea('data'),
    blobId: integer('blob_id').references(() => blobs.id),
  },
  (t) => [index('attachment_blobs_blob').on(t.blobId)],
);

/**
 * Large bytes (a big mail, a big attachment), written in chunks of their own statements before
 * the transaction that refers to them: on the embedded database one statement holds the whole
 * server, so no single one may carry megabytes. A blob no row refers to an hour on was left by a
 * transaction that failed, and is swept.
 */
export const blobs = pgTable('blobs', {
  id: idColumn(),
  size: integer('size').notNull(),
  createdAt: createdAtColumn(),
});

export const blobChunks = pgTable(
  'blob_chunks',
  {
    blobId: integer('blob_id')
      .notNull()
      .references(() => blobs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.blobId, t.seq] })],
);

/** Files sent with a chatter message (mail attachments, inline images, form uploads). */
export const ticketAttachments = pgTable(
  'ticket_attachments',
  {
    id: idColumn(),
    messageId: integer('message_id')
      .notNull()
      .references(() => ticketMessages.id, { onDelete: 'cascade' }),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
    // Inline images are referenced from the HTML body as cid:<contentId>.
    contentId: text('content_id'),
    // Attachments stored before attachment_blobs existed keep their bytes here; newer ones use blobId.
    data: bytea('data'),
    blobId: integer('blob_id').references(() => attachmentBlobs.id),
    createdAt: createdAtColumn(),
  },
  (t) => [index('ticket_attachments_message').on(t.messageId), index('ticket_attachments_blob').on(t.blobId)],
);

/** When a ticket entered each stage: the clock of SLA policies runs on these periods. */
export const ticketStageChanges = pgTable(
  'ticket_stage_changes',
  {
    id: idColumn(),
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    stageId: integer('stage_id')
      .notNull()
      .references(() => stages.id, { onDelete: 'cascade' }),
    enteredAt: createdAtColumn('entered_at'),
  },
  (t) => [index('ticket_stage_changes_ticket').on(t.ticketId, t.id)],
);
