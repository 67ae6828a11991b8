import { and, asc, eq, gt, inArray, isNotNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { outboundMails } from './tables.js';
import type { OutboundMailKind } from './service.js';

/** Our Message-IDs of the mail about a ticket, with when each was queued, oldest first (a thread's headers). */
export async function outboundMessageIdsOfTicket(db: DbOrTx, ticketId: number): Promise<Array<{ messageId: string; at: Date }>> {
  return db
    .select({ messageId: outboundMails.messageId, at: outboundMails.createdAt })
    .from(outboundMails)
    .where(eq(outboundMails.ticketId, ticketId))
    .orderBy(asc(outboundMails.id));
}

/** The ticket of each of our Message-IDs that names one (an answer's In-Reply-To or References). */
export async function ticketsOfOutboundMessageIds(db: DbOrTx, messageIds: string[]): Promise<Map<string, number>> {
  if (messageIds.length === 0) return new Map();
  const rows = await db
    .select({ messageId: outboundMails.messageId, ticketId: outboundMails.ticketId })
    .from(outboundMails)
    .where(and(inArray(outboundMails.messageId, [...new Set(messageIds)]), isNotNull(outboundMails.ticketId)));
  return new Map(rows.map((r) => [r.messageId, r.ticketId!]));
}

/**
 * Mail of one kind queued to an address (any case, among its To) within the last `minutes`:
 * how often a sender was acknowledged.
 */
export async function countRecentMailsTo(db: DbOrTx, kind: OutboundMailKind, address: string, minutes: number): Promise<number> {
  const key = address.trim().toLowerCase();
  return db.$count(
    outboundMails,
    and(
      eq(outboundMails.kind, kind),
      gt(outboundMails.createdAt, sql`now() - make_interval(mins => ${minutes})`),
      sql`exists (select 1 from unnest(${outboundMails.to}) as recipient(address) where lower(recipient.address) = ${key})`,
    ),
  );
}
