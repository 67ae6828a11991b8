import { and, asc, desc, eq, gt, gte, inArray, lte, sql, type Placeholder } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { idArray, isAnyOf } from '../db/columns.js';
import { defineKeyset, pageOf, pickColumns, PreparedShapes, type PageRequest } from '../db/keyset.js';
import { fail } from '../errors.js';
import { stageJoin, type StageRow } from '../teams/service.js';
import type { CustomerRow } from './customers.js';
import type { TicketChannel, TicketRow } from './service.js';
import { slaTicketFilterOf, type SlaTicketFilter } from './sla-filter.js';
import { customers, tags, tickets, ticketStageChanges, ticketTags } from './tables.js';

/** The stage and customer a list query loaded with a ticket, so resolving them costs nothing. */
export const LOADED_STAGE = Symbol('loaded stage');
export const LOADED_CUSTOMER = Symbol('loaded customer');
export type ListedTicket = TicketRow & { [LOADED_STAGE]?: StageRow; [LOADED_CUSTOMER]?: CustomerRow | null };

/** The ticket list's order, highest priority first, then newest: the index (priority, created_at, id). */
const ticketKeyset = defineKeyset({
  prefix: 't',
  direction: 'desc',
  parts: [
    { name: 'priority', column: tickets.priority, kind: 'int', sqlType: 'smallint', max: 3 },
    { name: 'createdAt', column: tickets.createdAt, kind: 'time' },
    { name: 'id', column: tickets.id, kind: 'int', sqlType: 'int', max: 2_147_483_647 },
  ],
});

/** Opaque to clients: the ticket's place in the order (priority, creation, id). */
export function ticketCursor(ticket: Pick<TicketRow, 'priority' | 'createdAt' | 'id'>): string {
  return ticketKeyset.cursorOf(ticket);
}

export type TicketPageRequest = PageRequest;

/**
 * The columns a ticket list reads, table by table, so that a page showing five fields of fifty
 * tickets does not fetch and decode all of them. Left out: every column of that table. `false`: the
 * table is not joined, and a ticket resolves its stage or customer itself if asked.
 */
export interface TicketListColumns {
  ticket?: readonly string[];
  stage?: readonly string[] | false;
  customer?: readonly string[] | false;
}

/**
 * Ticket columns of a ticket's cursor (its place in the order), beside its id which every list
 * reads: a list asks for them when a cursor is shown. What stage and customer resolve from, each
 * field names itself (`readsColumns`).
 */
export const CURSOR_COLUMNS = ['priority', 'createdAt'] as const;

type ListedRow = { ticket: TicketRow; stage?: StageRow; customer?: CustomerRow | null };

/** Tickets joined with what every ticket view shows (or what `columns` asks for): rows for withLoaded. */
function selectTicketsWithStageAndCustomer(db: DbOrTx, columns: TicketListColumns = {}) {
  const fields = { ticket: pickColumns(tickets, columns.ticket && [...new Set(['id', ...columns.ticket])]) } as {
    ticket: typeof tickets;
    stage: ReturnType<typeof stageJoin>['table'];
    customer: typeof customers;
  };
  const stage = stageJoin(tickets.stageId);
  if (columns.stage !== false) fields.stage = pickColumns(stage.table, columns.stage && ['id', ...columns.stage]);
  if (columns.customer !== false) fields.customer = pickColumns(customers, columns.customer && ['id', ...columns.customer]);
  const query = db.select(fields).from(tickets).$dynamic();
  if (columns.stage !== false) query.innerJoin(stage.table, stage.on);
  if (columns.customer !== false) query.leftJoin(customers, eq(customers.id, tickets.customerId));
  return query;
}

function buildTicketList(db: DbOrTx, filter: TicketFilterShape, columns: TicketListColumns, withCursor: boolean, backward: boolean, limit: number) {
  return selectTicketsWithStageAndCustomer(db, columns)
    .where(and(ticketFilterSql(db, filter), withCursor ? ticketKeyset.position(backward) : undefined))
    .orderBy(...ticketKeyset.order(backward))
    // A literal limit: with LIMIT $n PostgreSQL cannot cost a generic plan and re-plans every call.
    .limit(sql.raw(String(limit)) as unknown as number)
    .prepare('ticket_list');
}

// Lists are the hottest read: each shape (filter, page, columns) runs as a prepared statement.
const preparedTicketLists = new PreparedShapes<ReturnType<typeof buildTicketList>>();

/**
 * One page of a ticket list, highest priority first, then newest: one query that joins stage and
 * customer, keyset-paginated on the index order (priority, created_at, id).
 */
export async function listTickets(db: DbOrTx, filter: TicketFilterValues, page: TicketPageRequest, columns: TicketListColumns = {}) {
  const plan = ticketKeyset.plan(page);
  const withCursor = plan.cursor !== null;
  // Before the cache: a shape prepared on a handle with SLA is no answer for one without.
  slaConditionsOf(db, filter);
  const given = FILTER_PARAMETERS.filter((name) => filter[name] !== undefined);
  const shapeKey = `${given.join()}:${filter.slaFailed}:${withCursor}:${plan.backward}:${plan.size}:${columnsKey(columns)}`;
  const query = preparedTicketLists.get(db, shapeKey, () => {
    const shape: TicketFilterShape = { slaFailed: filter.slaFailed };
    for (const name of given) shape[name] = sql.placeholder(name);
    return buildTicketList(db, shape, columns, withCursor, plan.backward, plan.size + 1);
  });
  const rows = (await query.execute({
    ...filter,
    slaDeadlineBefore: filter.slaDeadlineBefore?.toISOString(),
    ...ticketKeyset.parameters(plan.cursor),
  })) as ListedRow[];
  const listed = pageOf(rows, plan);
  return { tickets: listed.rows.map(withLoaded), hasNextPage: listed.hasNextPage, hasPreviousPage: listed.hasPreviousPage };
}

const columnsKeys = new WeakMap<TicketListColumns, string>();

function columnsKey(columns: TicketListColumns): string {
  let known = columnsKeys.get(columns);
  if (known === undefined) {
    const key = (names: readonly string[] | false | undefined) => (names === undefined ? '*' : names === false ? '-' : [...names].sort().join());
    known = `${key(columns.ticket)}/${key(columns.stage)}/${key(columns.customer)}`;
    columnsKeys.set(columns, known);
  }
  return known;
}

/** The ticket of a list row, carrying the stage and customer its query joined. */
function withLoaded(row: ListedRow): ListedTicket {
  const ticket: ListedTicket = row.ticket;
  if (row.stage !== undefined) ticket[LOADED_STAGE] = row.stage;
  if (row.customer !== undefined) ticket[LOADED_CUSTOMER] = row.customer;
  return ticket;
}

/**
 * One ticket with its stage and customer, in one query: what events carry, so the subscribers
 * of an instance share this one read instead of each resolving stage and customer again.
 */
export async function findListedTicket(db: DbOrTx, id: number): Promise<ListedTicket | undefined> {
  const [row] = await selectTicketsWithStageAndCustomer(db).where(eq(tickets.id, id));
  return row && withLoaded(row);
}

/** Several tickets as findListedTicket loads one, by id: what an event replay reads per batch. */
export async function findListedTickets(db: DbOrTx, ids: number[]): Promise<Map<number, ListedTicket>> {
  const rows = ids.length === 1 ? [await findListedTicket(db, ids[0]!)] : (await selectTicketsWithStageAndCustomer(db).where(inArray(tickets.id, ids))).map(withLoaded);
  return new Map(rows.flatMap((ticket) => (ticket ? [[ticket.id, ticket] as const] : [])));
}

export async function countTickets(db: DbOrTx, filter: TicketFilterValues): Promise<number> {
  return db.$count(tickets, ticketFilterSql(db, filter));
}

export interface TicketPage {
  tickets: ListedTicket[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * The same page of several teams' ticket lists (Team.tickets across a list of teams) in one
 * query: each team's page is picked through its own index order by a lateral subquery, then
 * joined with stage and customer as listTickets does. Teams without tickets get an empty page.
 */
export async function listTicketsOfTeams(db: DbOrTx, teamIds: number[], page: TicketPageRequest, columns: TicketListColumns = {}): Promise<Map<number, TicketPage>> {
  const plan = ticketKeyset.plan(page);
  const { size, backward, cursor } = plan;
  const direction = backward ? sql`asc` : sql`desc`;
  const position = cursor
    ? sql`and (t.priority, t.created_at, t.id) ${backward ? sql`>` : sql`<`} (${cursor.priority}::smallint, ${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::int)`
    : sql``;
  const picked = sql`select p.id from unnest(${idArray(teamIds)}) as team(id) cross join lateral (
    select t.id from tickets t where t.team_id = team.id ${position}
    order by t.priority ${direction}, t.created_at ${direction}, t.id ${direction} limit ${sql.raw(String(size + 1))}) p`;
  const rows = teamIds.length
    ? ((await selectTicketsWithStageAndCustomer(db, { ...columns, ticket: columns.ticket && [...columns.ticket, 'teamId', ...CURSOR_COLUMNS] }).where(
        sql`${tickets.id} in (${picked})`,
      )) as ListedRow[])
    : [];
  const byTeam = new Map<number, ListedTicket[]>(teamIds.map((id) => [id, []]));
  for (const row of rows) byTeam.get(row.ticket.teamId)?.push(withLoaded(row));
  const pages = new Map<number, TicketPage>();
  for (const [teamId, listed] of byTeam) {
    // The page query returned them unordered: put them in the plan's direction, as pageOf expects.
    listed.sort((a, b) => b.priority - a.priority || b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id);
    if (backward) listed.reverse();
    const { rows: pageRows, hasNextPage, hasPreviousPage } = pageOf(listed, plan);
    pages.set(teamId, { tickets: pageRows, hasNextPage, hasPreviousPage });
  }
  return pages;
}

/** Number of tickets of each team, in one grouped query. */
export async function countTicketsOfTeams(db: DbOrTx, teamIds: number[]): Promise<Map<number, number>> {
  const rows = teamIds.length
    ? await db.select({ teamId: tickets.teamId, count: sql<number>`count(*)::int` }).from(tickets).where(isAnyOf(tickets.teamId, teamIds)).groupBy(tickets.teamId)
    : [];
  return new Map(teamIds.map((id) => [id, Number(rows.find((r) => r.teamId === id)?.count ?? 0)]));
}

/** Scope of bulk work over tickets: one team, given tickets, or all. */
export interface TicketScope {
  teamId?: number;
  ticketIds?: number[];
}

function scopeSql(scope: TicketScope) {
  return and(
    scope.teamId === undefined ? undefined : eq(tickets.teamId, scope.teamId),
    scope.ticketIds === undefined ? undefined : inArray(tickets.id, scope.ticketIds.length ? scope.ticketIds : [-1]),
  );
}

export async function countTicketsForSla(db: DbOrTx, scope: TicketScope): Promise<number> {
  return db.$count(tickets, scopeSql(scope));
}

/** A page of tickets in id order, with what SLA evaluation reads. */
export async function ticketsForSla(db: DbOrTx, scope: TicketScope & { afterId: number; limit: number }) {
  return db
    .select({ id: tickets.id, teamId: tickets.teamId, priority: tickets.priority, customerId: tickets.customerId, createdAt: tickets.createdAt })
    .from(tickets)
    .where(and(scopeSql(scope), gt(tickets.id, scope.afterId)))
    .orderBy(asc(tickets.id))
    .limit(scope.limit);
}

/** Rows of tickets whose ids lie between the first and last of `ticketIds` (given in order). */
function idRange(column: typeof ticketTags.ticketId | typeof ticketStageChanges.ticketId, ticketIds: number[]) {
  return and(gte(column, ticketIds[0] ?? 0), lte(column, ticketIds.at(-1) ?? -1));
}

/** Tag ids per ticket, for a batch of tickets in id order. */
export async function tagIdsByTicket(db: DbOrTx, ticketIds: number[]): Promise<Map<number, number[]>> {
  const rows = await db.select().from(ticketTags).where(idRange(ticketTags.ticketId, ticketIds));
  const map = new Map<number, number[]>();
  for (const r of rows) map.set(r.ticketId, [...(map.get(r.ticketId) ?? []), r.tagId]);
  return map;
}

/** Stage changes per ticket, oldest first, for a batch of tickets in id order. */
export async function stageChangesByTicket(db: DbOrTx, ticketIds: number[]): Promise<Map<number, Array<{ stageId: number; enteredAt: Date }>>> {
  const rows = await db
    .select({ ticketId: ticketStageChanges.ticketId, stageId: ticketStageChanges.stageId, enteredAt: ticketStageChanges.enteredAt })
    .from(ticketStageChanges)
    .where(idRange(ticketStageChanges.ticketId, ticketIds))
    .orderBy(asc(ticketStageChanges.id));
  const map = new Map<number, Array<{ stageId: number; enteredAt: Date }>>();
  for (const r of rows) {
    let list = map.get(r.ticketId);
    if (!list) map.set(r.ticketId, (list = []));
    list.push({ stageId: r.stageId, enteredAt: r.enteredAt });
  }
  return map;
}

export interface TicketFilterValues {
  teamId?: number;
  stageId?: number;
  priority?: number;
  channel?: TicketChannel;
  slaFailed?: boolean;
  slaDeadlineBefore?: Date;
}

/** Filter values that a prepared list takes as parameters (slaFailed changes the query's shape). */
const FILTER_PARAMETERS = ['teamId', 'stageId', 'priority', 'channel', 'slaDeadlineBefore'] as const;

/** A ticket filter whose values may be placeholders of a prepared statement. */
export type TicketFilterShape = { [K in keyof TicketFilterValues]?: K extends 'slaFailed' ? TicketFilterValues[K] : TicketFilterValues[K] | Placeholder };

/** SLA filters that db's app cannot answer, by filter field name: it runs without the SLA capability. */
export function unsupportedTicketFilters(db: DbOrTx, filter: TicketFilterShape): Array<'slaFailed' | 'slaDeadlineBefore'> {
  if (slaTicketFilterOf(db)) return [];
  return (['slaFailed', 'slaDeadlineBefore'] as const).filter((name) => filter[name] !== undefined);
}

/** The SLA conditions db's app supplies, if the filter asks for any; failing rather than ignoring the filter when there are none. */
function slaConditionsOf(db: DbOrTx, filter: TicketFilterShape): SlaTicketFilter | undefined {
  const [unsupported] = unsupportedTicketFilters(db, filter);
  if (unsupported) fail(['filter', unsupported], 'INVALID_VALUE', `${unsupported} needs the SLA capability, which this server runs without.`);
  return slaTicketFilterOf(db);
}

/**
 * The SQL condition of a ticket filter, for the list and its count alike. `table` is the
 * (aliased) tickets table of the query it goes in. SLA conditions come from SLA, through db.
 */
export function ticketFilterSql(db: DbOrTx, filter: TicketFilterShape, table: typeof tickets = tickets) {
  const sla = slaConditionsOf(db, filter);
  const deadline = filter.slaDeadlineBefore instanceof Date ? filter.slaDeadlineBefore.toISOString() : filter.slaDeadlineBefore;
  return and(
    filter.teamId === undefined ? undefined : eq(table.teamId, filter.teamId),
    filter.stageId === undefined ? undefined : eq(table.stageId, filter.stageId),
    filter.priority === undefined ? undefined : eq(table.priority, filter.priority),
    filter.channel === undefined ? undefined : eq(table.channel, filter.channel),
    filter.slaFailed === undefined ? undefined : sla!.failed(table.id, filter.slaFailed),
    deadline === undefined ? undefined : sla!.deadlineBefore(table.id, deadline),
  );
}
/** A team's tickets whose title or a tag contains every word (case-insensitive), newest first. */
export async function searchTeamTickets(db: DbOrTx, input: { teamId: number; words: string[]; limit: number }): Promise<TicketRow[]> {
  const like = (word: string) => `%${word.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const matches = input.words.map(
    (word) =>
      sql`(lower(${tickets.title}) like ${like(word)} or exists (select 1 from ${ticketTags} tt join ${tags} g on g.id = tt.tag_id where tt.ticket_id = ${tickets.id} and g.name_key like ${like(word)}))`,
  );
  return db
    .select()
    .from(tickets)
    .where(and(eq(tickets.teamId, input.teamId), ...matches))
    .orderBy(desc(tickets.number))
    .limit(input.limit);
}
