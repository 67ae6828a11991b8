import { asc, eq, sql } from 'drizzle-orm';
import { ErrorCollector, requiredText } from '../errors.js';
import type { DbOrTx } from '../db/client.js';
import { idArray, isAnyOf } from '../db/columns.js';
import { defineKeyset, type PageRequest } from '../db/keyset.js';
import { findStage, firstOpenStageOf } from '../teams/service.js';
import { textToHtml } from '../text/html.js';
import { findOrCreateCustomer, type MailContact } from './customers.js';
import { customerMessageRow, MAX_BODY, storeAttachments, type NewAttachment } from './message-rows.js';
import { changeTicket, type TicketMessageRow, type TicketRow } from './service.js';
import { tags, ticketMessages, ticketTags } from './tables.js';
import { cutByCodePoints } from '../text/clean.js';

export interface NoteAuthor {
  name: string;
  agentId: number | null;
}

/** An internal note on the chatter, written by an agent. */
export async function addTicketNote(db: DbOrTx, input: { ticketId: number; body: string; author: NoteAuthor }): Promise<TicketRow> {
  const errors = new ErrorCollector();
  const body = requiredText(errors, 'body', input.body, MAX_BODY);
  errors.throwIfAny();
  return changeTicket(db, input.ticketId, async (tx, ticket) => {
    await tx.insert(ticketMessages).values({
      ticketId: ticket.id,
      kind: 'NOTE',
      authorKind: 'AGENT',
      authorName: input.author.name,
      agentId: input.author.agentId,
      bodyText: body,
      bodyHtml: textToHtml(body),
    });
  });
}

/**
 * A customer's message appended to a ticket's conversation (a mail reply). A finished ticket
 * is reopened: it goes back to the team's first open stage.
 */
export async function addCustomerMessage(
  db: DbOrTx,
  input: { ticketId: number; customer: MailContact; bodyText: string; bodyHtml?: string | null; attachments?: NewAttachment[] },
): Promise<{ ticket: TicketRow; messageId: number }> {
  let messageId = 0;
  const ticket = await changeTicket(db, input.ticketId, async (tx, ticket) => {
    const customer = await findOrCreateCustomer(tx, input.customer);
    const [message] = await tx
      .insert(ticketMessages)
      .values(customerMessageRow(ticket.id, customer, cutByCodePoints(input.bodyText, MAX_BODY), input.bodyHtml))
      .returning({ id: ticketMessages.id });
    messageId = message!.id;
    await storeAttachments(tx, (input.attachments ?? []).map((a) => ({ ...a, messageId })));
    const stage = await findStage(tx, ticket.stageId);
    if (stage?.closed) {
      const open = await firstOpenStageOf(tx, ticket.teamId);
      if (open) return { stageId: open.id };
    }
  });
  return { ticket, messageId };
}

/**
 * A note written by Intake itself, e.g. a bounce of a mail about the ticket. With `tag`, the
 * ticket also gets that tag (a flag agents filter on: a reply that could not be delivered).
 */
export async function addSystemNote(db: DbOrTx, input: { ticketId: number; body: string; tag?: string }): Promise<{ ticket: TicketRow; messageId: number }> {
  let messageId = 0;
  const ticket = await changeTicket(db, input.ticketId, async (tx, ticket) => {
    if (input.tag) await addTag(tx, ticket.id, input.tag);
    const [message] = await tx
      .insert(ticketMessages)
      .values({ ticketId: ticket.id, kind: 'SYSTEM', authorKind: 'SYSTEM', authorName: 'Intake', bodyText: cutByCodePoints(input.body, MAX_BODY), bodyHtml: textToHtml(cutByCodePoints(input.body, MAX_BODY)) })
      .returning({ id: ticketMessages.id });
    messageId = message!.id;
  });
  return { ticket, messageId };
}

/** How many entries a ticket's chatter holds. */
export async function countTicketMessages(db: DbOrTx, ticketId: number): Promise<number> {
  return db.$count(ticketMessages, eq(ticketMessages.ticketId, ticketId));
}

export interface TicketMessagePage {
  messages: TicketMessageRow[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** A ticket's chatter in order of writing: the (ticket_id, id) index. */
const chatterKeyset = defineKeyset({
  prefix: 'm',
  direction: 'asc',
  parts: [{ name: 'id', column: ticketMessages.id, kind: 'int', sqlType: 'int', max: 2_147_483_647 }],
});

/** Opaque to clients: a chatter entry's place in its ticket's chatter (by id). */
export function ticketMessageCursor(message: { id: number }): string {
  return chatterKeyset.cursorOf(message);
}

/**
 * The same page of several tickets' chatter (Ticket.messages across a list of tickets), oldest
 * first, in one query: a lateral subquery per ticket walks its (ticket_id, id) index.
 */
export async function listMessagesOfTickets(db: DbOrTx, ticketIds: number[], page: PageRequest): Promise<Map<number, TicketMessagePage>> {
  const { size, backward, cursor } = chatterKeyset.plan(page);
  const position = cursor === null ? sql`` : sql`and m.id ${backward ? sql`<` : sql`>`} ${cursor.id}::int`;
  const picked = sql`select p.id from unnest(${idArray(ticketIds)}) as ticket(id) cross join lateral (
    select m.id from ticket_messages m where m.ticket_id = ticket.id ${position}
    order by m.id ${backward ? sql`desc` : sql`asc`} limit ${sql.raw(String(size + 1))}) p`;
  const rows = ticketIds.length ? await db.select().from(ticketMessages).where(sql`${ticketMessages.id} in (${picked})`).orderBy(asc(ticketMessages.id)) : [];
  const byTicket = new Map<number, TicketMessageRow[]>(ticketIds.map((id) => [id, []]));
  for (const row of rows) byTicket.get(row.ticketId)?.push(row);
  const pages = new Map<number, TicketMessagePage>();
  for (const [ticketId, messages] of byTicket) {
    const more = messages.length > size;
    const pageRows = backward ? messages.slice(Math.max(messages.length - size, 0)) : messages.slice(0, size);
    pages.set(ticketId, { messages: pageRows, hasNextPage: backward ? cursor !== null : more, hasPreviousPage: backward ? more : cursor !== null });
  }
  return pages;
}

/** Number of chatter entries of each ticket, in one grouped query. */
export async function countMessagesOfTickets(db: DbOrTx, ticketIds: number[]): Promise<Map<number, number>> {
  const rows = ticketIds.length
    ? await db
        .select({ ticketId: ticketMessages.ticketId, count: sql<number>`count(*)::int` })
        .from(ticketMessages)
        .where(isAnyOf(ticketMessages.ticketId, ticketIds))
        .groupBy(ticketMessages.ticketId)
    : [];
  return new Map(ticketIds.map((id) => [id, Number(rows.find((r) => r.ticketId === id)?.count ?? 0)]));
}

/** Gives a ticket one more tag, keeping the others. */
async function addTag(tx: DbOrTx, ticketId: number, name: string): Promise<void> {
  await tx.insert(tags).values({ name, nameKey: name.toLowerCase() }).onConflictDoNothing({ target: tags.nameKey });
  const [tag] = await tx.select({ id: tags.id }).from(tags).where(eq(tags.nameKey, name.toLowerCase()));
  await tx.insert(ticketTags).values({ ticketId, tagId: tag!.id }).onConflictDoNothing();
}
