import { staffAuthor } from '../auth/principal.js';
import { builder } from '../graphql/builder.js';
import { requireIdOf, UserError, withUserErrors } from '../graphql/user-errors.js';
import type { UserErrorShape } from '../errors.js';
import { TicketMessage } from '../tickets/message-graphql.js';
import type { TicketMessageRow, TicketRow } from '../tickets/service.js';
import { Ticket } from '../tickets/ticket-graphql.js';
import { replyToTicket } from './reply.js';

const ReplyToTicketInput = builder.inputType('ReplyToTicketInput', {
  description: "An answer to the ticket's customer, sent by mail from the team's alias.",
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    body: t.string({ required: true, description: 'The answer as plain text; the HTML part of the mail is made from it (paragraphs, links).' }),
    bodyHtml: t.string({ description: 'The same answer as HTML, sanitised like inbound mail (no scripts, handlers or remote images); replaces the HTML made from body.' }),
    cc: t.stringList({ description: 'Further addresses the mail is copied to (at most 20).' }),
  }),
});

const ReplyToTicketPayload = builder.objectRef<{ message?: TicketMessageRow; ticket?: TicketRow; userErrors: UserErrorShape[] }>('ReplyToTicketPayload').implement({
  description: 'Result of replyToTicket.',
  fields: (t) => ({
    message: t.field({ type: TicketMessage, nullable: true, description: 'The AGENT message on the chatter; its mail is queued with it.', resolve: (p) => p.message ?? null }),
    ticket: t.field({ type: Ticket, nullable: true, description: 'The ticket as it is now.', resolve: (p) => p.ticket ?? null }),
    userErrors: t.field({ type: [UserError], description: 'Why nothing changed (NO_CUSTOMER_ADDRESS, INVALID_EMAIL …); empty on success.', resolve: (p) => p.userErrors }),
  }),
});

builder.mutationField('replyToTicket', (t) =>
  t.field({
    type: ReplyToTicketPayload,
    description:
      "Answers the ticket's customer by mail: an AGENT message on the chatter, and its mail queued in the same transaction, from the team's alias with a Reply-To that threads the customer's answer onto the ticket. A ticket in its team's first stage moves to the next open one (its first response). Agents and admins.",
    args: { input: t.arg({ type: ReplyToTicketInput, required: true, description: 'Ticket and answer.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => {
        const { ticket, message } = await replyToTicket(ctx.db, ctx.config, {
          ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'),
          body: input.body,
          bodyHtml: input.bodyHtml,
          cc: input.cc,
          author: staffAuthor(ctx.principal),
        });
        return { ticket, message };
      }),
  }),
);
