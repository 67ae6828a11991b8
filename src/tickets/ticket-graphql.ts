import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../graphql/builder.js';
import { readsColumns } from '../graphql/selection.js';
import { loadInBatch } from '../graphql/batch.js';
import { withCursorErrors } from '../graphql/user-errors.js';
import { findStages } from '../teams/service.js';
import { Stage } from '../teams/graphql.js';
import { findCustomers } from './customers.js';
import { Customer } from './customer-graphql.js';
import { LOADED_CUSTOMER, LOADED_STAGE, type ListedTicket } from './list.js';
import { TicketMessage, TicketMessageConnection, ticketMessageConnection } from './message-graphql.js';
import type { TicketSource } from './service.js';

export const TicketPriority = builder.enumType('TicketPriority', {
  description: 'How urgent a ticket is, shown as 0–3 stars. Lists put the highest first.',
  values: {
    LOW: { value: 0, description: 'No star: handle in turn (the default).' },
    MEDIUM: { value: 1, description: 'One star.' },
    HIGH: { value: 2, description: 'Two stars.' },
    URGENT: { value: 3, description: 'Three stars: handle first.' },
  } as const,
});

export const TicketChannel = builder.enumType('TicketChannel', {
  description: 'Where a ticket came from.',
  values: {
    EMAIL: { description: 'Mail to a team alias.' },
    WEBSITE_FORM: { description: 'The public website form.' },
    LIVE_CHAT: { description: 'A live chat turned into a ticket.' },
    API: { description: 'Created through this API.' },
  } as const,
});

export const Tag = builder.drizzleNode('tags', {
  name: 'Tag',
  description: 'A label on tickets.',
  id: { column: (tag) => tag.id },
  fields: (t) => ({ name: t.exposeString('name', { description: 'The label.' }) }),
});

const TicketSourceKind = builder.enumType('TicketSourceKind', {
  description: 'What kind of record a ticket came from.',
  values: {
    INBOUND_MAIL: { description: 'An inbound mail (InboundMail).' },
    LIVE_CHAT_SESSION: { description: 'A live chat session (LiveChatSession).' },
  } as const,
});

const SOURCE_TYPE_NAMES = { INBOUND_MAIL: 'InboundMail', LIVE_CHAT_SESSION: 'LiveChatSession' } as const;

const TicketSourceRef = builder.objectRef<TicketSource>('TicketSource').implement({
  description: 'The record a ticket came from, such as the chat session it was made from.',
  fields: (t) => ({
    kind: t.field({ type: TicketSourceKind, description: 'What kind of record it is.', resolve: (source) => source.kind }),
    nodeId: t.id({ description: 'Global ID of the record: fetch it with node(id:).', resolve: (source) => encodeGlobalID(SOURCE_TYPE_NAMES[source.kind], source.id) }),
  }),
});

export const Ticket = builder.drizzleNode('tickets', {
  name: 'Ticket',
  description: 'A request for help, whatever channel it came through.',
  id: { column: (ticket) => ticket.id },
  fields: (t) => ({
    number: t.int({ description: 'Sequential human number, e.g. 42 for "#42".', resolve: (ticket) => ticket.number }),
    title: t.string({ description: 'Short summary (the mail subject, the form subject …).', resolve: (ticket) => ticket.title }),
    description: t.string({ description: 'What the customer first wrote, as plain text.', resolve: (ticket) => ticket.description }),
    priority: t.field({ type: TicketPriority, description: 'LOW to URGENT.', resolve: (ticket) => ticket.priority as 0 | 1 | 2 | 3 }),
    channel: t.field({ type: TicketChannel, description: 'Where the ticket came from.', resolve: (ticket) => ticket.channel }),
    team: t.relation('team', { description: 'The team that owns the ticket.', extensions: readsColumns('id') }),
    // Lists load stage and customer in their one query; a single ticket reads them here.
    stage: t.field({
      type: Stage,
      description: 'Where the ticket is in its team pipeline.',
      extensions: readsColumns('stageId'),
      // Synchronous when loaded: a promise per row would send the whole list down graphql-js's slow path.
      resolve: (ticket, _args, ctx) =>
        (ticket as ListedTicket)[LOADED_STAGE] ??
        loadInBatch(ctx, 'Ticket.stage', ticket.stageId, async (ids: number[]) => {
          const found = new Map((await findStages(ctx.db, ids)).map((stage) => [stage.id, stage]));
          return ids.map((id) => found.get(id)!);
        }),
    }),
    customer: t.field({
      type: Customer,
      nullable: true,
      description: 'Who asked, when known.',
      extensions: readsColumns('customerId'),
      resolve: (ticket, _args, ctx) => {
        const loaded = (ticket as ListedTicket)[LOADED_CUSTOMER];
        if (loaded !== undefined || ticket.customerId === null) return loaded ?? null;
        return loadInBatch(ctx, 'Ticket.customer', ticket.customerId, async (ids: number[]) => {
          const found = new Map((await findCustomers(ctx.db, ids)).map((customer) => [customer.id, customer]));
          return ids.map((id) => found.get(id) ?? null);
        });
      },
    }),
    // Relations load by the ticket's id.
    assignee: t.relation('assignee', { nullable: true, description: 'The agent working on it, if any.', extensions: readsColumns('id') }),
    tags: t.relation('tags', { description: 'Labels, by name.', query: { orderBy: { nameKey: 'asc' } }, extensions: readsColumns('id') }),
    messages: t.connection(
      {
        type: TicketMessage,
        description: 'The chatter, oldest first.',
        extensions: readsColumns('id'),
        resolve: (ticket, args, ctx, info) => withCursorErrors(() => ticketMessageConnection(ctx, ticket.id, args, info)),
      },
      TicketMessageConnection,
    ),
    source: t.field({
      type: TicketSourceRef,
      nullable: true,
      description: 'The record the ticket came from (the chat session), when it came from one.',
      extensions: readsColumns('sourceKind', 'sourceId'),
      resolve: (ticket) => (ticket.sourceKind === null || ticket.sourceId === null ? null : { kind: ticket.sourceKind, id: ticket.sourceId }),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the ticket was created.', resolve: (ticket) => ticket.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the ticket last changed.', resolve: (ticket) => ticket.updatedAt }),
  }),
});
