import { eq } from 'drizzle-orm';
import { ErrorCollector, requiredText } from '../errors.js';
import type { DbOrTx } from '../db/client.js';
import { findStage, firstOpenStageOf } from '../teams/service.js';
import { textToHtml } from '../text/html.js';
import { findOrCreateCustomer, type MailContact } from './customers.js';
import { customerMessageRow, MAX_BODY, storeAttachments, type NewAttachment } from './message-rows.js';
import { changeTicket, type TicketRow } from './service.js';
import { ticketMessages } from './tables.js';

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
      .values(customerMessageRow(ticket.id, customer, input.bodyText.slice(0, MAX_BODY), input.bodyHtml))
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

/** A note written by Intake itself, e.g. a bounce of a mail about the ticket. */
export async function addSystemNote(db: DbOrTx, input: { ticketId: number; body: string }): Promise<{ ticket: TicketRow; messageId: number }> {
  let messageId = 0;
  const ticket = await changeTicket(db, input.ticketId, async (tx, ticket) => {
    const [message] = await tx
      .insert(ticketMessages)
      .values({ ticketId: ticket.id, kind: 'SYSTEM', authorKind: 'SYSTEM', authorName: 'Intake', bodyText: input.body.slice(0, MAX_BODY), bodyHtml: textToHtml(input.body.slice(0, MAX_BODY)) })
      .returning({ id: ticketMessages.id });
    messageId = message!.id;
  });
  return { ticket, messageId };
}

/** How many entries a ticket's chatter holds. */
export async function countTicketMessages(db: DbOrTx, ticketId: number): Promise<number> {
  return db.$count(ticketMessages, eq(ticketMessages.ticketId, ticketId));
}
