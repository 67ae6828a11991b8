import { builder } from '../graphql/builder.js';
import type { GraphQLResolveInfo } from 'graphql';
import { fieldPosition, loadInBatch } from '../graphql/batch.js';
import type { Context } from '../graphql/context.js';
import { connectionTypeOptions } from '../graphql/user-errors.js';
import type { PageRequest } from '../db/keyset.js';
import { countMessagesOfTickets, listMessagesOfTickets, ticketMessageCursor } from './chatter.js';
import type { TicketMessageRow } from './service.js';
import type { MessageOrigin } from './tables.js';

const TicketMessageKind = builder.enumType('TicketMessageKind', {
  description: 'What a chatter message is.',
  values: {
    MESSAGE: { description: 'Part of the conversation with the customer.' },
    NOTE: { description: 'An internal note between agents; never sent to the customer.' },
    SYSTEM: { description: 'Written by Intake itself (bounces, automatic changes).' },
  } as const,
});

export const MessageAuthorKind = builder.enumType('TicketMessageAuthorKind', {
  description: 'Who wrote a chatter message.',
  values: {
    CUSTOMER: { description: 'The customer.' },
    AGENT: { description: 'An agent or an API client.' },
    SYSTEM: { description: 'Intake itself.' },
  } as const,
});

const MessageAuthor = builder.objectRef<TicketMessageRow>('TicketMessageAuthor').implement({
  description: 'The author of a chatter message.',
  fields: (t) => ({
    kind: t.field({ type: MessageAuthorKind, description: 'Customer, agent or system.', resolve: (m) => m.authorKind }),
    name: t.string({ nullable: true, description: 'Display name, when known.', resolve: (m) => m.authorName }),
    email: t.string({ nullable: true, description: 'Mail address, when known.', resolve: (m) => m.authorEmail }),
  }),
});

export const Attachment = builder.drizzleObject('ticketAttachments', {
  name: 'TicketMessageAttachment',
  description: 'A file sent with a chatter message; agents download it from `url` with their bearer token.',
  // Never load the bytes for the API: they are served by GET /attachments/<id>.
  select: { columns: { id: true, messageId: true, filename: true, contentType: true, size: true, contentId: true } },
  fields: (t) => ({
    filename: t.exposeString('filename', { description: 'File name as sent.' }),
    contentType: t.exposeString('contentType', { description: 'MIME type, e.g. application/pdf.' }),
    size: t.exposeInt('size', { description: 'Size in bytes.' }),
    contentId: t.exposeString('contentId', { nullable: true, description: 'Content-ID of an inline image, referenced from the HTML body as cid:<contentId>.' }),
    url: t.string({ description: 'Download address (needs an agent token).', resolve: (a, _args, ctx) => `${ctx.publicUrl}/attachments/${a.id}` }),
  }),
});

const MessageOriginType = builder.objectRef<MessageOrigin>('TicketMessageOrigin').implement({
  description: 'Where a web submission came from.',
  fields: (t) => ({
    clientAddress: t.exposeString('clientAddress', { nullable: true, description: 'IP address of the client.' }),
    userAgent: t.exposeString('userAgent', { nullable: true, description: 'User-Agent header.' }),
    referer: t.exposeString('referer', { nullable: true, description: 'Referer header: the page the form was on.' }),
    language: t.exposeString('language', { nullable: true, description: 'Accept-Language header.' }),
  }),
});

export const TicketMessage = builder.drizzleNode('ticketMessages', {
  name: 'TicketMessage',
  description: "One entry of a ticket's chatter: a message, an internal note or a system note.",
  id: { column: (m) => m.id },
  fields: (t) => ({
    kind: t.expose('kind', { type: TicketMessageKind, description: 'Message, note or system note.' }),
    author: t.field({ type: MessageAuthor, description: 'Who wrote it.', resolve: (m: TicketMessageRow) => m }),
    bodyText: t.exposeString('bodyText', { description: 'The body as plain text.' }),
    bodyHtml: t.exposeString('bodyHtml', { description: 'The body as HTML, sanitised: no scripts, handlers or remote resources.' }),
    origin: t.field({ type: MessageOriginType, nullable: true, description: 'Where a web submission came from (website form messages).', resolve: (m) => m.origin }),
    attachments: t.relation('attachments', { description: 'Files sent with the message, in order.', query: { orderBy: { id: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was written.' }),
  }),
});

export const TicketMessageConnection = builder.connectionObject(
  { type: TicketMessage, name: 'TicketMessageConnection', ...connectionTypeOptions("A page of a ticket's chatter.") },
  { name: 'TicketMessageEdge', description: 'A chatter entry in a list.' },
);

/** Ticket.messages for every ticket of a list in one query (and one count), like Team.tickets. */
export async function ticketMessageConnection(ctx: Context, ticketId: number, args: PageRequest, info: GraphQLResolveInfo) {
  const page = { first: args.first, after: args.after, last: args.last, before: args.before };
  const { messages, hasNextPage, hasPreviousPage } = await loadInBatch(ctx, `Ticket.messages ${fieldPosition(info)} ${JSON.stringify(page)}`, ticketId, async (ticketIds: number[]) => {
    const pages = await listMessagesOfTickets(ctx.db, ticketIds, page);
    return ticketIds.map((id) => pages.get(id)!);
  });
  return {
    edges: messages.map((message) => ({ node: message, cursor: ticketMessageCursor(message) })),
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: messages[0] ? ticketMessageCursor(messages[0]) : null,
      endCursor: messages.at(-1) ? ticketMessageCursor(messages.at(-1)!) : null,
    },
    totalCount: () =>
      loadInBatch(ctx, 'Ticket.messages.totalCount', ticketId, async (ticketIds: number[]) => {
        const counts = await countMessagesOfTickets(ctx.db, ticketIds);
        return ticketIds.map((id) => counts.get(id)!);
      }),
  };
}
