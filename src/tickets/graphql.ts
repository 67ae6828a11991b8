import { staffAuthor } from '../auth/principal.js';
import { builder } from '../graphql/builder.js';
import { connectionTypeOptions, idOf, payloadType, requireIdOf, withUserErrors } from '../graphql/user-errors.js';
import { GraphQLError, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { columnsRead, mergeSelections, readsColumns, selectedFields } from '../graphql/selection.js';
import type { Context } from '../graphql/context.js';
import { fieldPosition, loadInBatch } from '../graphql/batch.js';
import { UserInputError } from '../errors.js';
import { findStages } from '../teams/service.js';
import { Stage, Team } from '../teams/graphql.js';
import { stages } from '../teams/tables.js';
import type { TicketMessageRow } from './service.js';
import {
  addTicketNote,
  assignTicket,
  createTicket,
  moveTicketToStage,
  setTicketPriority,
  setTicketTags,
  countTickets,
  countTicketsOfTeams,
  listTicketsOfTeams,
  countMessagesOfTickets,
  listMessagesOfTickets,
  ticketMessageCursor,
  findCustomers,
  listTickets,
  LOADED_CUSTOMER,
  LOADED_STAGE,
  ticketCursor,
  type ListedTicket,
  type TicketFilterValues,
  type TicketListColumns,
  type TicketPage,
  type TicketPageRequest,
  type TicketRow,
} from './service.js';
import { customers, tickets, type MessageOrigin } from './tables.js';
import { EVENT_RETENTION_DAYS, type EventEdge } from '../events/hub.js';
import { ticketCreated, ticketUpdated } from './events.js';

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

const TicketMessageKind = builder.enumType('TicketMessageKind', {
  description: 'What a chatter message is.',
  values: {
    MESSAGE: { description: 'Part of the conversation with the customer.' },
    NOTE: { description: 'An internal note between agents; never sent to the customer.' },
    SYSTEM: { description: 'Written by Intake itself (bounces, automatic changes).' },
  } as const,
});

const MessageAuthorKind = builder.enumType('TicketMessageAuthorKind', {
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

export const Customer = builder.drizzleNode('customers', {
  name: 'Customer',
  description: 'Someone who asks for help; one per mail address, whatever its case.',
  id: { column: (c) => c.id },
  fields: (t) => ({
    // Plain resolvers rather than t.expose*: exposed fields of drizzle objects are wrapped per row,
    // which costs the hot ticket lists more than the query itself.
    name: t.string({ nullable: true, description: 'Display name, when known.', resolve: (c) => c.name }),
    email: t.string({ nullable: true, description: 'Mail address as first given; null for a customer known by name only (a chat visitor).', resolve: (c) => c.email }),
  }),
});

export const Tag = builder.drizzleNode('tags', {
  name: 'Tag',
  description: 'A label on tickets.',
  id: { column: (tag) => tag.id },
  fields: (t) => ({ name: t.exposeString('name', { description: 'The label.' }) }),
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

const TicketMessage = builder.drizzleNode('ticketMessages', {
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
    createdAt: t.field({ type: 'DateTime', description: 'When the ticket was created.', resolve: (ticket) => ticket.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the ticket last changed.', resolve: (ticket) => ticket.updatedAt }),
  }),
});

const TicketConnection = builder.connectionObject(
  { type: Ticket, name: 'TicketConnection', ...connectionTypeOptions('A page of tickets, highest priority first, then newest.') },
  { name: 'TicketEdge', description: 'A ticket in a list.' },
);

const TicketMessageConnection = builder.connectionObject(
  { type: TicketMessage, name: 'TicketMessageConnection', ...connectionTypeOptions("A page of a ticket's chatter.") },
  { name: 'TicketMessageEdge', description: 'A chatter entry in a list.' },
);

/** An edge whose cursor is made only when asked for: most lists show nodes alone. */
class TicketEdge {
  constructor(readonly node: ListedTicket) {}
  get cursor() {
    return ticketCursor(this.node);
  }
}

/** Resolves a ticket connection through the one-query list of the tickets service. */
async function ticketConnection(ctx: { db: Context['db'] }, filter: TicketFilterValues, args: TicketPageRequest, info: GraphQLResolveInfo) {
  const page = await listTickets(ctx.db, filter, args, ticketListColumns(info));
  return connectionOf(page, () => countTickets(ctx.db, filter));
}

/** A page as a connection; the count is a function, called only when totalCount is selected. */
function connectionOf(page: TicketPage, totalCount: () => Promise<number>) {
  return {
    edges: page.tickets.map((ticket) => new TicketEdge(ticket)),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: page.tickets[0] ? ticketCursor(page.tickets[0]) : null,
      endCursor: page.tickets.at(-1) ? ticketCursor(page.tickets.at(-1)!) : null,
    },
    totalCount,
  };
}

/**
 * Team.tickets for every team of a list in one query (and one count): the teams at the same place
 * of the query share the page arguments and the selection.
 */
async function teamTicketConnection(ctx: Context, teamId: number, args: TicketPageRequest, info: GraphQLResolveInfo) {
  const page = { first: args.first, after: args.after, last: args.last, before: args.before };
  const teamPage = await loadInBatch(ctx, `Team.tickets ${fieldPosition(info)} ${JSON.stringify(page)}`, teamId, async (teamIds: number[]) => {
    const pages = await listTicketsOfTeams(ctx.db, teamIds, page, ticketListColumns(info));
    return teamIds.map((id) => pages.get(id)!);
  });
  return connectionOf(teamPage, () =>
    loadInBatch(ctx, 'Team.tickets.totalCount', teamId, async (teamIds: number[]) => {
      const counts = await countTicketsOfTeams(ctx.db, teamIds);
      return teamIds.map((id) => counts.get(id)!);
    }),
  );
}

/** Ticket.messages for every ticket of a list in one query (and one count), like Team.tickets. */
async function ticketMessageConnection(ctx: Context, ticketId: number, args: TicketPageRequest, info: GraphQLResolveInfo) {
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

builder.drizzleObjectFields(Team, (t) => ({
  tickets: t.connection(
    {
      type: Ticket,
      description: "The team's tickets, highest priority first, then newest.",
      resolve: (team, args, ctx, info) => withCursorErrors(() => teamTicketConnection(ctx, team.id, args, info)),
    },
    TicketConnection,
  ),
}));

const TicketFilter = builder.inputType('TicketFilter', {
  description: 'Narrows a ticket list; all given conditions must hold.',
  fields: (t) => ({
    teamId: t.id({ description: 'Only tickets of this team.' }),
    stageId: t.id({ description: 'Only tickets in this stage.' }),
    priority: t.field({ type: TicketPriority, description: 'Only tickets of this priority.' }),
    channel: t.field({ type: TicketChannel, description: 'Only tickets from this channel.' }),
    slaFailed: t.boolean({ description: 'true: only tickets with a failed SLA; false: only tickets without one.' }),
    slaDeadlineBefore: t.field({ type: 'DateTime', description: 'Only tickets with an unreached SLA deadline before this time.' }),
  }),
});

/** An ID that names nothing of its type matches nothing, rather than everything. */
const NO_ROW = -1;

builder.queryFields((t) => ({
  ticket: t.drizzleField({
    type: Ticket,
    nullable: true,
    description: 'One ticket by ID, or null.',
    args: { id: t.arg.id({ required: true, description: 'Global ID of the ticket.' }) },
    resolve: (query, _root, args, ctx) => {
      const id = idOf(String(args.id), 'Ticket');
      return id === null ? null : ctx.db.query.tickets.findFirst(query({ where: { id } }));
    },
  }),
  tickets: t.connection(
    {
      type: Ticket,
      description: 'Tickets, highest priority first, then newest first.',
      args: { filter: t.arg({ type: TicketFilter, description: 'Conditions the tickets must meet.' }) },
      resolve: (_root, args, ctx, info) => withCursorErrors(() => ticketConnection(ctx, filterOf(args.filter), args, info)),
    },
    TicketConnection,
  ),
}));

// Parsed documents are cached, so a query sent again brings the same field nodes: its columns are
// worked out once.
const columnsByFieldNode = new WeakMap<FieldNode, { fieldNodes: readonly FieldNode[]; columns: TicketListColumns }>();

/** The columns a ticket connection's query shows, as the list fetches them. */
function ticketListColumns(info: GraphQLResolveInfo): TicketListColumns {
  const known = columnsByFieldNode.get(info.fieldNodes[0]!);
  if (known && known.fieldNodes.length === info.fieldNodes.length && known.fieldNodes.every((node, i) => node === info.fieldNodes[i])) return known.columns;
  const columns = columnsOfSelection(info);
  columnsByFieldNode.set(info.fieldNodes[0]!, { fieldNodes: info.fieldNodes, columns });
  return columns;
}

function columnsOfSelection(info: GraphQLResolveInfo): TicketListColumns {
  const selected = selectedFields(info.fieldNodes, info.fragments);
  const node = mergeSelections(selected.get('nodes'), selected.get('edges')?.get('node'));
  const objectType = (name: string) => info.schema.getType(name) as GraphQLObjectType;
  const stage = node.get('stage');
  const customer = node.get('customer');
  return {
    ticket: columnsRead(objectType('Ticket'), tickets, node),
    stage: stage ? columnsRead(objectType('Stage'), stages, stage) : false,
    customer: customer ? columnsRead(objectType('Customer'), customers, customer) : false,
  };
}

/** A cursor this API did not give out is the caller's mistake: a clear GraphQL error, not a masked one. */
async function withCursorErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UserInputError) throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_CURSOR' } });
    throw error;
  }
}

type FilterArg = {
  teamId?: string | number | null;
  stageId?: string | number | null;
  priority?: number | null;
  channel?: TicketRow['channel'] | null;
  slaFailed?: boolean | null;
  slaDeadlineBefore?: Date | null;
};

function filterOf(filter: FilterArg | null | undefined): TicketFilterValues {
  const where: TicketFilterValues = {};
  if (filter?.teamId != null) where.teamId = idOf(String(filter.teamId), 'Team') ?? NO_ROW;
  if (filter?.stageId != null) where.stageId = idOf(String(filter.stageId), 'Stage') ?? NO_ROW;
  if (filter?.priority != null) where.priority = filter.priority;
  if (filter?.channel != null) where.channel = filter.channel;
  if (filter?.slaFailed != null) where.slaFailed = filter.slaFailed;
  if (filter?.slaDeadlineBefore != null) where.slaDeadlineBefore = filter.slaDeadlineBefore;
  return where;
}

const ticketPayload = (name: string) =>
  payloadType<TicketRow, 'ticket'>(
    name,
    `Result of ${name[0]!.toLowerCase()}${name.slice(1, -'Payload'.length)}.`,
    'ticket',
    Ticket,
    'The ticket as it is now, when the mutation succeeded.',
  );

const CreateTicketInput = builder.inputType('CreateTicketInput', {
  description: 'A ticket created through the API.',
  fields: (t) => ({
    teamId: t.id({ required: true, description: 'Global ID of the team that will own it.' }),
    title: t.string({ required: true, description: 'Short summary, at most 300 characters.' }),
    description: t.string({ description: 'What the customer wrote; also the first chatter message.' }),
    priority: t.field({ type: TicketPriority, description: 'Defaults to LOW.' }),
    customerEmail: t.string({ description: 'The customer, found or created by this address.' }),
    customerName: t.string({ description: "The customer's name, kept when the customer is new." }),
  }),
});

const SetTicketPriorityInput = builder.inputType('SetTicketPriorityInput', {
  description: 'A new priority for a ticket.',
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    priority: t.field({ type: TicketPriority, required: true, description: 'The new priority.' }),
  }),
});

const MoveTicketToStageInput = builder.inputType('MoveTicketToStageInput', {
  description: "Moves a ticket within its team's pipeline.",
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    stageId: t.id({ required: true, description: "Global ID of a stage of the ticket's team." }),
  }),
});

const AddTicketNoteInput = builder.inputType('AddTicketNoteInput', {
  description: 'An internal note on the chatter.',
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    body: t.string({ required: true, description: 'The note, as plain text.' }),
  }),
});

const AssignTicketInput = builder.inputType('AssignTicketInput', {
  description: 'Gives a ticket to an agent, or takes it back.',
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    agentId: t.id({ description: 'Global ID of the agent; null to unassign.' }),
  }),
});

const SetTicketTagsInput = builder.inputType('SetTicketTagsInput', {
  description: "Replaces a ticket's tags.",
  fields: (t) => ({
    ticketId: t.id({ required: true, description: 'Global ID of the ticket.' }),
    tags: t.stringList({ required: true, description: 'Tag names; new ones are created.' }),
  }),
});

builder.mutationFields((t) => ({
  createTicket: t.field({
    type: ticketPayload('CreateTicketPayload'),
    description: 'Creates a ticket in the first stage of a team, on the API channel.',
    args: { input: t.arg({ type: CreateTicketInput, required: true, description: 'The new ticket.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await createTicket(ctx.db, {
          teamId: requireIdOf(String(input.teamId), 'Team', 'teamId'),
          title: input.title,
          description: input.description,
          priority: input.priority,
          channel: 'API',
          customer: input.customerEmail == null ? null : { email: input.customerEmail, name: input.customerName },
        }),
      })),
  }),
  setTicketPriority: t.field({
    type: ticketPayload('SetTicketPriorityPayload'),
    description: 'Changes the priority of a ticket.',
    args: { input: t.arg({ type: SetTicketPriorityInput, required: true, description: 'Ticket and priority.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await setTicketPriority(ctx.db, { ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'), priority: input.priority }),
      })),
  }),
  moveTicketToStage: t.field({
    type: ticketPayload('MoveTicketToStagePayload'),
    description: "Moves a ticket to another stage of its team's pipeline.",
    args: { input: t.arg({ type: MoveTicketToStageInput, required: true, description: 'Ticket and stage.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await moveTicketToStage(ctx.db, {
          ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'),
          stageId: requireIdOf(String(input.stageId), 'Stage', 'stageId'),
        }),
      })),
  }),
  addTicketNote: t.field({
    type: ticketPayload('AddTicketNotePayload'),
    description: "Adds an internal note to a ticket's chatter, signed by the agent of the caller's token.",
    args: { input: t.arg({ type: AddTicketNoteInput, required: true, description: 'Ticket and note.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await addTicketNote(ctx.db, {
          ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'),
          body: input.body,
          author: staffAuthor(ctx.principal),
        }),
      })),
  }),
  assignTicket: t.field({
    type: ticketPayload('AssignTicketPayload'),
    description: 'Assigns a ticket to an agent, or unassigns it.',
    args: { input: t.arg({ type: AssignTicketInput, required: true, description: 'Ticket and agent.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await assignTicket(ctx.db, {
          ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'),
          agentId: input.agentId == null ? null : requireIdOf(String(input.agentId), 'Agent', 'agentId'),
        }),
      })),
  }),
  setTicketTags: t.field({
    type: ticketPayload('SetTicketTagsPayload'),
    description: "Replaces a ticket's tags.",
    args: { input: t.arg({ type: SetTicketTagsInput, required: true, description: 'Ticket and tags.' }) },
    resolve: (_root, { input }, ctx) =>
      withUserErrors(async () => ({
        ticket: await setTicketTags(ctx.db, { ticketId: requireIdOf(String(input.ticketId), 'Ticket', 'ticketId'), tags: input.tags }),
      })),
  }),
}));

/** The team a subscriber asked for, as the events' filter key; an id of another type matches no team. */
function teamKey(teamId: string | number | null | undefined): number | null {
  return teamId == null ? null : (idOf(String(teamId), 'Team') ?? NO_ROW);
}

const TicketEventEdge = builder.objectRef<EventEdge<ListedTicket>>('TicketEventEdge').implement({
  description: 'A ticket event: the ticket as it is now, and the cursor to resume the subscription after it.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
    node: t.field({ type: Ticket, description: 'The ticket.', resolve: (edge) => edge.node }),
  }),
});

const AFTER_DESCRIPTION = `Resume after this cursor: first the events committed since, in order, then live ones. Cursors last ${EVENT_RETENTION_DAYS} days (CURSOR_EXPIRED after).`;

builder.subscriptionFields((t) => ({
  ticketCreated: t.field({
    type: TicketEventEdge,
    description: 'A ticket was created, through any channel.',
    args: { teamId: t.arg.id({ description: 'Only tickets of this team.' }), after: t.arg.string({ description: AFTER_DESCRIPTION }) },
    subscribe: (_root, args, ctx) => ctx.events.subscribe(ticketCreated, { key: teamKey(args.teamId), after: args.after }),
    resolve: (edge) => edge,
  }),
  ticketUpdated: t.field({
    type: TicketEventEdge,
    description: 'A ticket changed: priority, stage, chatter, assignee or tags.',
    args: { teamId: t.arg.id({ description: 'Only tickets of this team.' }), after: t.arg.string({ description: AFTER_DESCRIPTION }) },
    subscribe: (_root, args, ctx) => ctx.events.subscribe(ticketUpdated, { key: teamKey(args.teamId), after: args.after }),
    resolve: (edge) => edge,
  }),
}));
