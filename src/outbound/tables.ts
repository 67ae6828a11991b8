import { sql } from 'drizzle-orm';
import { bytea, check, index, integer, jsonb, pgEnum, pgTable, smallint, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAtColumn, idColumn, timestampColumn, updatedAtColumn } from '../db/columns.js';
import { ticketMessages, tickets } from '../tickets/tables.js';

/**
 * HELD: no relay configured, waits for one. PENDING: due at nextAttemptAt. SENDING: claimed by a
 * sender until leaseUntil (the API shows it as PENDING). DEFERRED: a temporary failure, tried
 * again at nextAttemptAt. SENT: the relay said 250; final. FAILED: refused or out of retries.
 */
export const outboundMailStatus = pgEnum('outbound_mail_status', ['HELD', 'PENDING', 'SENDING', 'SENT', 'DEFERRED', 'FAILED']);
export const outboundMailKind = pgEnum('outbound_mail_kind', ['REPLY', 'ACKNOWLEDGEMENT']);

/** The outbox: every mail Intake sends, written in the transaction that caused it, with its delivery state. */
export const outboundMails = pgTable(
  'outbound_mails',
  {
    id: idColumn(),
    kind: outboundMailKind('kind').notNull(),
    ticketId: integer('ticket_id').references(() => tickets.id, { onDelete: 'cascade' }),
    ticketMessageId: integer('ticket_message_id').references(() => ticketMessages.id, { onDelete: 'set null' }),
    status: outboundMailStatus('status').notNull(),
    // Message-ID without <>, fixed when queued: every attempt carries the same one.
    messageId: text('message_id').notNull(),
    fromAddress: text('from_address').notNull(),
    replyTo: text('reply_to'),
    to: text('to').array().notNull(),
    cc: text('cc').array().notNull().default(sql`'{}'::text[]`),
    subject: text('subject').notNull(),
    bodyText: text('body_text').notNull(),
    bodyHtml: text('body_html'),
    // Further header fields (In-Reply-To, References, Auto-Submitted…), name → value.
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    attempts: integer('attempts').notNull().default(0),
    lastResponse: text('last_response'),
    nextAttemptAt: timestampColumn('next_attempt_at'),
    // While SENDING: past this time the sender is presumed dead and another may take the mail.
    leaseUntil: timestampColumn('lease_until'),
    sentAt: timestampColumn('sent_at'),
    // When its retries began: queued, or sent again by an admin. Retries end OUTBOUND_RETRY_HOURS after it.
    retryFrom: timestampColumn('retry_from').notNull().defaultNow(),
    createdAt: createdAtColumn(),
    updatedAt: updatedAtColumn(),
  },
  (t) => [
    uniqueIndex('outbound_mails_message_id_unique').on(t.messageId),
    // What senders look for: due mail, and claims whose sender is gone.
    index('outbound_mails_due').on(t.nextAttemptAt).where(sql`status in ('PENDING', 'DEFERRED')`),
    index('outbound_mails_leases').on(t.leaseUntil).where(sql`status = 'SENDING'`),
    index('outbound_mails_status').on(t.status, t.id),
    index('outbound_mails_ticket_message').on(t.ticketMessageId),
    index('outbound_mails_ticket').on(t.ticketId),
    check('outbound_mails_lease_when_sending', sql`(status = 'SENDING') = (lease_until is not null)`),
  ],
);

/**
 * The key that signs our plus-addresses (bounce addresses, reply tokens) when MAIL_SIGNING_SECRET
 * is not set: made once at random, shared by every instance and restart. One row.
 */
export const mailSigningKeys = pgTable(
  'mail_signing_keys',
  {
    id: smallint('id').primaryKey().default(1),
    secret: bytea('secret').notNull(),
    createdAt: createdAtColumn(),
  },
  (t) => [check('mail_signing_keys_one_row', sql`${t.id} = 1`)],
);
