import { GraphQLError, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { builder } from '../graphql/builder.js';
import type { Context } from '../graphql/context.js';
import { fieldPosition, loadInBatch } from '../graphql/batch.js';
import { columnsRead, mergeSelections, selectedFields } from '../graphql/selection.js';
import { idArgument } from '../graphql/global-id.js';
import { connectionTypeOptions, withCursorErrors } from '../graphql/user-errors.js';
import { Team } from '../teams/graphql.js';
import { stageJoin } from '../teams/service.js';
import { countTickets, countTicketsOfTeams, CURSOR_COLUMNS, listTickets, listTicketsOfTeams, ticketCursor, type ListedTicket, type TicketFilterValues, type TicketListColumns, type TicketPage, type TicketPageRequest, unsupportedTicketFilters } from './list.js';
import type { TicketRow } from './service.js';
import { customers, tickets } from './tables.js';
import { Ticket, TicketChannel, TicketPriority } from './ticket-graphql.js';

const TicketConnection = builder.connectionObject(
  { type: Ticket, name: 'TicketConnection', ...connectionTypeOptions('A page of tickets, highest priority first, then newest.') },
  { name: 'TicketEdge', description: 'A ticket in a list.' },
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
  const [unsupported] = unsupportedTicketFilters(ctx.db, filter);
  if (unsupported) {
    throw new GraphQLError(`filter.${unsupported} needs the SLA capability, which this server runs without.`, {
      extensions: { code: 'BAD_USER_INPUT', field: ['filter', unsupported] },
    });
  }
  const page = await listTickets(ctx.db, filter, args, ticketListColumns(info));
  return connectionOf(page, () => countTickets(ctx.db, filter));
}

/** A page as a connection; the count is a function, called only when totalCount is selected. */
function connectionOf(page: TicketPage, totalCount: () => Promise<number>) {
  return { edges: page.tickets.map((ticket) => new TicketEdge(ticket)), pageInfo: new TicketPageInfo(page), totalCount };
}

/** Where a page sits, its cursors made only when asked for, as an edge's are. */
class TicketPageInfo {
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  constructor(private readonly page: TicketPage) {
    this.hasNextPage = page.hasNextPage;
    this.hasPreviousPage = page.hasPreviousPage;
  }
  get startCursor() {
    const first = this.page.tickets[0];
    return first ? ticketCursor(first) : null;
  }
  get endCursor() {
    const last = this.page.tickets.at(-1);
    return last ? ticketCursor(last) : null;
  }
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

builder.queryFields((t) => ({
  ticket: t.drizzleField({
    type: Ticket,
    nullable: true,
    description: 'One ticket by ID or by number (give exactly one of them), or null.',
    args: {
      id: t.arg.id({ description: 'Global ID of the ticket.' }),
      number: t.arg.int({ description: 'The ticket\'s number, the one customers quote ("#42" is 42).' }),
    },
    resolve: (query, _root, args, ctx) => {
      if ((args.id == null) === (args.number == null)) {
        throw new GraphQLError('ticket needs exactly one of `id` and `number`.', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      if (args.number != null) {
        // Numbers are int4 serials from 1: another Int names no ticket.
        return args.number >= 1 ? ctx.db.query.tickets.findFirst(query({ where: { number: args.number } })) : null;
      }
      return ctx.db.query.tickets.findFirst(query({ where: { id: idArgument(args.id!, 'Ticket', ['id']) } }));
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
  const edges = selected.get('edges');
  const pageInfo = selected.get('pageInfo');
  const node = mergeSelections(selected.get('nodes'), edges?.get('node'));
  const objectType = (name: string) => info.schema.getType(name) as GraphQLObjectType;
  const stage = node.get('stage');
  const customer = node.get('customer');
  // A cursor is the ticket's place in the order: read only when an edge's or the page's is shown.
  const cursors = edges?.has('cursor') || pageInfo?.has('startCursor') || pageInfo?.has('endCursor');
  const ticket = columnsRead(objectType('Ticket'), tickets, node);
  return {
    ticket: ticket && cursors ? [...ticket, ...CURSOR_COLUMNS] : ticket,
    stage: stage ? columnsRead(objectType('Stage'), stageJoin(tickets.stageId).table, stage) : false,
    customer: customer ? columnsRead(objectType('Customer'), customers, customer) : false,
  };
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
  if (filter?.teamId != null) where.teamId = idArgument(filter.teamId, 'Team', ['filter', 'teamId']);
  if (filter?.stageId != null) where.stageId = idArgument(filter.stageId, 'Stage', ['filter', 'stageId']);
  if (filter?.priority != null) where.priority = filter.priority;
  if (filter?.channel != null) where.channel = filter.channel;
  if (filter?.slaFailed != null) where.slaFailed = filter.slaFailed;
  if (filter?.slaDeadlineBefore != null) where.slaDeadlineBefore = filter.slaDeadlineBefore;
  return where;
}
