import { sql } from 'drizzle-orm';
import { boolean, bytea, index, integer, jsonb, pgEnum, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAtColumn, idColumn } from '../db/columns.js';
import { teams } from '../teams/tables.js';
import { blobs, ticketMessages, tickets } from '../tickets/tables.js';

/**
 * The raw bytes of a received mail, stored once however many teams it was addressed to: each
 * team's inbound mail record points here.
 */
export const rawMails = pgTable(
  'raw_mails',
  {
    id: idColumn(),
    size: integer('size').notNull(),
    // Null for a large mail: its bytes are a staged blob (src/tickets/blobs.ts).
    data: bytea('data'),
    blobId: integer('blob_id').references(() => blobs.id),
    receivedAt: createdAtColumn('received_at'),
  },
  (t) => [index('raw_mails_blob').on(t.blobId)],
);

export const inboundMailStatus = pgEnum('inbound_mail_status', ['PROCESSED', 'DUPLICATE', 'IGNORED', 'QUARANTINED']);

/**
 * Every mail we said 250 to, one row per receiving team, with its raw bytes and envelope: the
 * record that nothing accepted is ever lost, and the index replies are threaded by.
 */
export const inboundMails = pgTable(
  'inbound_mails',
  {
    id: idColumn(),
    teamId: integer('team_id').references(() => teams.id, { onDelete: 'set null' }),
    status: inboundMailStatus('status').notNull(),
    // Message-ID without <>, or "sha256:<digest of the raw message>" when the mail has none.
    messageKey: text('message_key').notNull(),
    messageId: text('message_id'),
    envelope: jsonb('envelope').$type<{ mailFrom: string | null; rcptTo: string[]; remoteAddress?: string | null }>().notNull(),
    fromAddress: text('from_address'),
    subject: text('subject'),
    reason: text('reason'),
    ticketId: integer('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
    ticketMessageId: integer('ticket_message_id').references(() => ticketMessages.id, { onDelete: 'set null' }),
    // True when this mail opened a ticket: the loop guard counts these per sender.
    createdTicket: boolean('created_ticket').notNull().default(false),
    size: integer('size').notNull(),
    // Records written before raw_mails existed keep their bytes here; newer ones use rawMailId.
    raw: bytea('raw'),
    rawMailId: integer('raw_mail_id').references(() => rawMails.id, { onDelete: 'set null' }),
    receivedAt: createdAtColumn('received_at'),
  },
  (t) => [
    // A message is stored once per team; retries by the sender become DUPLICATE rows without raw.
    uniqueIndex('inbound_mails_team_message_unique').on(t.teamId, t.messageKey).where(sql`status <> 'DUPLICATE'`),
    index('inbound_mails_message_id').on(t.messageId),
    index('inbound_mails_status').on(t.status, t.id),
    index('inbound_mails_from_recent').on(t.fromAddress, t.receivedAt),
    index('inbound_mails_raw_mail').on(t.rawMailId),
  ],
);
