import { and, eq, gte, inArray, isNull, lt, lte, sql, type AnyColumn, type Placeholder, type SQL } from 'drizzle-orm';
import { inTransaction, queryRows, runsTransactionsSideBySide, type DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { ADVISORY_LOCKS } from '../db/locks.js';
import { publishEvents } from '../events/hub.js';
import { ErrorCollector, fail, optionalText, requiredText } from '../errors.js';
import { findTeam, stagesOf } from '../teams/service.js';
import { countTicketsForSla, stageChangesByTicket, tagIdsByTicket, ticketsForSla } from '../tickets/list.js';
import { TICKET_UPDATED, type TicketRow } from '../tickets/service.js';
import { DEFAULT_CALENDAR, isValidTime, isValidTimezone, type WorkingCalendar, type WorkingInterval } from './calendar.js';
import { evaluateSla, policyMatches, type StagePeriod } from './policy.js';
import { slaPolicies, teamCalendars, ticketSlaStatuses } from './tables.js';

export type SlaPolicyRow = typeof slaPolicies.$inferSelect;
export type TicketSlaStatusRow = typeof ticketSlaStatuses.$inferSelect;

/** The ticket-list condition for tickets (by `ticketId`, the id column of the query) with a FAILED SLA, or without one. */
export function failedSlaCondition(ticketId: AnyColumn, failed: boolean): SQL {
  const exists = sql`exists (select 1 from ${ticketSlaStatuses} where ${ticketSlaStatuses.ticketId} = ${ticketId} and ${ticketSlaStatuses.status} = 'FAILED')`;
  return failed ? exists : sql`not ${exists}`;
}

/** The ticket-list condition for tickets with an unreached SLA deadline before `deadline` (an ISO 8601 time, or a placeholder for one). */
export function slaDeadlineBeforeCondition(ticketId: AnyColumn, deadline: string | Placeholder): SQL {
  return sql`exists (select 1 from ${ticketSlaStatuses} where ${ticketSlaStatuses.ticketId} = ${ticketId} and ${ticketSlaStatuses.reachedAt} is null and ${ticketSlaStatuses.deadline} < ${deadline}::timestamptz)`;
}

export async function calendarOf(db: DbOrTx, teamId: number): Promise<WorkingCalendar> {
  const [row] = await db.select().from(teamCalendars).where(eq(teamCalendars.teamId, teamId));
  return row ? { timezone: row.timezone, intervals: row.intervals, holidays: row.holidays } : DEFAULT_CALENDAR;
}

/** The calendars of several teams, in the order given, in one query (Team.workingHours across a list). */
export async function calendarsOf(db: DbOrTx, teamIds: number[]): Promise<WorkingCalendar[]> {
  const rows = teamIds.length ? await db.select().from(teamCalendars).where(isAnyOf(teamCalendars.teamId, teamIds)) : [];
  const byTeam = new Map(rows.map((row) => [row.teamId, { timezone: row.timezone, intervals: row.intervals, holidays: row.holidays }]));
  return teamIds.map((id) => byTeam.get(id) ?? DEFAULT_CALENDAR);
}

export async function setWorkingHours(
  db: DbOrTx,
  input: { teamId: number; timezone: string; intervals: WorkingInterval[]; holidays: string[] },
): Promise<WorkingCalendar> {
  const errors = new ErrorCollector();
  if (!isValidTimezone(input.timezone)) errors.add('timezone', 'INVALID_TIMEZONE', 'timezone must be an IANA time zone such as Europe/Brussels.');
  if (input.intervals.length > 100) errors.add('intervals', 'TOO_MANY', 'At most 100 working intervals.');
  input.intervals.forEach((i, n) => {
    if (!Number.isInteger(i.weekday) || i.weekday < 1 || i.weekday > 7) errors.add(['intervals', String(n), 'weekday'], 'INVALID_WEEKDAY', 'weekday must be 1 (Monday) to 7 (Sunday).');
    if (!isValidTime(i.start) || !isValidTime(i.end, true) || i.end <= i.start) {
      errors.add(['intervals', String(n)], 'INVALID_INTERVAL', 'start and end must be "HH:MM" with end after start (end may be "24:00").');
    }
  });
  if (input.holidays.length > 1000) errors.add('holidays', 'TOO_MANY', 'At most 1000 holidays.');
  input.holidays.forEach((d, n) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`))) errors.add(['holidays', String(n)], 'INVALID_DATE', 'holidays are dates "YYYY-MM-DD".');
  });
  errors.throwIfAny();
  if (!(await findTeam(db, input.teamId))) fail('teamId', 'NOT_FOUND', 'No team has this id.');
  const calendar = { timezone: input.timezone, intervals: input.intervals, holidays: [...new Set(input.holidays)].sort() };
  await db
    .insert(teamCalendars)
    .values({ teamId: input.teamId, ...calendar })
    .onConflictDoUpdate({ target: teamCalendars.teamId, set: { ...calendar, updatedAt: new Date() } });
  return calendar;
}

export interface SlaPolicyInput {
  name?: string | null;
  description?: string | null;
  priorities?: number[] | null;
  tagIds?: number[] | null;
  customerIds?: number[] | null;
  targetStageId?: number | null;
  excludedStageIds?: number[] | null;
  hours?: number | null;
  active?: boolean | null;
}

async function validatePolicy(db: DbOrTx, teamId: number, input: SlaPolicyInput, creating: boolean) {
  const errors = new ErrorCollector();
  const values: Partial<typeof slaPolicies.$inferInsert> = {};
  if (creating || input.name != null) values.name = requiredText(errors, 'name', input.name, 120);
  if (input.description != null) values.description = optionalText(errors, 'description', input.description, 2000);
  if (input.hours != null || creating) {
    if (input.hours == null || !(input.hours > 0) || input.hours > 100_000) errors.add('hours', 'INVALID_HOURS', 'hours must be more than 0 and at most 100000.');
    else values.hours = input.hours;
  }
  if (input.priorities != null) values.priorities = [...new Set(input.priorities)].sort();
  if (input.tagIds != null) values.tagIds = [...new Set(input.tagIds)];
  if (input.customerIds != null) values.customerIds = [...new Set(input.customerIds)];
  if (input.active != null) values.active = input.active;
  const teamStages = await stagesOf(db, teamId);
  const ofTeam = new Set(teamStages.map((s) => s.id));
  if (input.targetStageId != null) {
    if (!ofTeam.has(input.targetStageId)) errors.add('targetStageId', 'STAGE_OF_OTHER_TEAM', "targetStageId must be a stage of the policy's team.");
    else values.targetStageId = input.targetStageId;
  } else if (creating) errors.add('targetStageId', 'REQUIRED', 'targetStageId is required.');
  if (input.excludedStageIds != null) {
    if (input.excludedStageIds.some((id) => !ofTeam.has(id))) errors.add('excludedStageIds', 'STAGE_OF_OTHER_TEAM', "excludedStageIds must be stages of the policy's team.");
    else values.excludedStageIds = [...new Set(input.excludedStageIds)];
  }
  errors.throwIfAny();
  return values;
}

export async function createSlaPolicy(db: DbOrTx, input: SlaPolicyInput & { teamId: number }): Promise<SlaPolicyRow> {
  if (!(await findTeam(db, input.teamId))) fail('teamId', 'NOT_FOUND', 'No team has this id.');
  const values = await validatePolicy(db, input.teamId, input, true);
  const [policy] = await db
    .insert(slaPolicies)
    .values({ priorities: [], tagIds: [], customerIds: [], excludedStageIds: [], ...values, teamId: input.teamId } as typeof slaPolicies.$inferInsert)
    .returning();
  return policy!;
}

export async function updateSlaPolicy(db: DbOrTx, input: SlaPolicyInput & { id: number }): Promise<SlaPolicyRow> {
  const [current] = await db.select().from(slaPolicies).where(eq(slaPolicies.id, input.id));
  if (!current) fail('id', 'NOT_FOUND', 'No SLA policy has this id.');
  const values = await validatePolicy(db, current.teamId, input, false);
  const [policy] = await db.update(slaPolicies).set(values).where(eq(slaPolicies.id, current.id)).returning();
  return policy!;
}

export async function deleteSlaPolicy(db: DbOrTx, input: { id: number }): Promise<number> {
  const [deleted] = await db.delete(slaPolicies).where(eq(slaPolicies.id, input.id)).returning({ id: slaPolicies.id });
  if (!deleted) fail('id', 'NOT_FOUND', 'No SLA policy has this id.');
  return deleted.id;
}

/** What SLA evaluation needs of a team, loaded once per team for bulk work. */
interface TeamSlaContext {
  useSla: boolean;
  policies: SlaPolicyRow[];
  calendar: WorkingCalendar;
  /** A stage's place in the team's order; unknown stages come last. */
  sequenceOf: (stageId: number) => number;
}

async function teamSlaContext(db: DbOrTx, teamId: number, policies?: SlaPolicyRow[]): Promise<TeamSlaContext> {
  const [team, teamPolicies, teamStages, calendar] = await Promise.all([
    findTeam(db, teamId),
    policies ?? db.select().from(slaPolicies).where(eq(slaPolicies.teamId, teamId)),
    stagesOf(db, teamId),
    calendarOf(db, teamId),
  ]);
  const sequence = new Map(teamStages.map((s) => [s.id, s.sequence]));
  return { useSla: team?.useSla ?? false, policies: teamPolicies, calendar, sequenceOf: (id) => sequence.get(id) ?? Number.MAX_SAFE_INTEGER };
}

interface TicketSlaFacts {
  id: number;
  priority: number;
  customerId: number | null;
  createdAt: Date;
  tagIds: number[];
  changes: Array<{ stageId: number; enteredAt: Date }>;
}

type SlaUpsert = Omit<typeof ticketSlaStatuses.$inferInsert, 'id'>;

/** What a ticket without tags, stage changes or statuses has; shared, never written to. */
const NONE: never[] = [];

interface SlaPlan {
  upserts: SlaUpsert[];
  stale: number[];
}

function statusOfPolicy(statuses: TicketSlaStatusRow[], policyId: number): TicketSlaStatusRow | undefined {
  for (const status of statuses) if (status.policyId === policyId) return status;
  return undefined;
}

function stagePeriods(changes: TicketSlaFacts['changes']): StagePeriod[] {
  const periods: StagePeriod[] = [];
  for (let i = 0; i < changes.length; i++) periods.push({ stageId: changes[i]!.stageId, since: changes[i]!.enteredAt, until: changes[i + 1]?.enteredAt ?? null });
  return periods;
}

/**
 * Adds to `plan` the statuses a ticket should have: one per matching policy, unreached ones
 * recomputed, reached ones kept as they were, unreached ones of policies that no longer match
 * removed. Returns whether its statuses change (for subscribers). Bulk recomputation runs this
 * per ticket: it allocates no more than the rows it plans.
 */
function planTicketSla(ctx: TeamSlaContext, ticket: TicketSlaFacts, existing: TicketSlaStatusRow[], now: Date, plan: SlaPlan): boolean {
  let changed = false;
  let periods: StagePeriod[] | undefined;
  for (const policy of ctx.policies) {
    const current = existing.length ? statusOfPolicy(existing, policy.id) : undefined;
    if (!ctx.useSla || !policyMatches(policy, ticket)) {
      if (current && !current.reachedAt) {
        plan.stale.push(current.id);
        changed = true;
      }
      continue;
    }
    periods ??= stagePeriods(ticket.changes);
    const evaluation = evaluateSla({ policy, calendar: ctx.calendar, createdAt: ticket.createdAt, periods, sequenceOf: ctx.sequenceOf, now });
    if (current?.reachedAt && evaluation.reachedAt) continue;
    plan.upserts.push({ ticketId: ticket.id, policyId: policy.id, deadline: evaluation.deadline, reachedAt: evaluation.reachedAt, status: evaluation.status, paused: evaluation.paused });
    if (!current || current.status !== evaluation.status || current.deadline.getTime() !== evaluation.deadline.getTime()) changed = true;
  }
  return changed;
}

/** A PostgreSQL array literal of values that need no quoting (numbers, enum labels, ISO times, NULL). */
function arrayLiteral(values: Array<string | number>): string {
  return `{${values.join(',')}}`;
}

/**
 * Writes a plan in two statements whatever its size. The rows travel as one array literal per
 * column, each a text parameter, unnested side by side: thousands of bound parameters cost
 * more to describe and bind than to write, and PostgreSQL reads arrays about five times faster
 * than the same rows as JSON (json_to_recordset was a fifth of a bulk recompute's database time).
 */
async function writeSlaPlan(tx: DbOrTx, upserts: SlaUpsert[], stale: number[]): Promise<void> {
  if (upserts.length) {
    const ticketIds: number[] = [];
    const policyIds: number[] = [];
    const deadlines: string[] = [];
    const reachedAts: string[] = [];
    const statuses: string[] = [];
    const paused: string[] = [];
    for (const u of upserts) {
      ticketIds.push(u.ticketId);
      policyIds.push(u.policyId);
      deadlines.push(u.deadline.toISOString());
      reachedAts.push(u.reachedAt ? u.reachedAt.toISOString() : 'NULL');
      statuses.push(u.status);
      paused.push(u.paused ? 't' : 'f');
    }
    await tx.execute(sql`
      insert into ticket_sla_statuses (ticket_id, policy_id, deadline, reached_at, status, paused)
      select * from unnest(
        ${arrayLiteral(ticketIds)}::text::int[], ${arrayLiteral(policyIds)}::text::int[], ${arrayLiteral(deadlines)}::text::timestamptz[],
        ${arrayLiteral(reachedAts)}::text::timestamptz[], ${arrayLiteral(statuses)}::text::sla_status[], ${arrayLiteral(paused)}::text::boolean[])
      on conflict (ticket_id, policy_id) do update
        set deadline = excluded.deadline, reached_at = excluded.reached_at, status = excluded.status, paused = excluded.paused`);
  }
  if (stale.length) await tx.execute(sql`delete from ticket_sla_statuses where id = any(${`{${stale.join(',')}}`}::text::int[])`);
}

/**
 * Plans the SLA statuses of a set of tickets in memory: the rows to write, the ones to drop, and
 * the tickets whose statuses changed (for subscribers).
 */
function planTickets(
  tickets: Array<Omit<TicketSlaFacts, 'tagIds' | 'changes'> & { teamId: number }>,
  read: { contextOf: Map<number, TeamSlaContext>; tags: Map<number, number[]>; changes: Map<number, Array<{ stageId: number; enteredAt: Date }>>; existing: TicketSlaStatusRow[] },
  now: Date,
): { upserts: SlaUpsert[]; stale: number[]; changed: Map<number, number> } {
  const existingByTicket = new Map<number, TicketSlaStatusRow[]>();
  for (const status of read.existing) {
    const list = existingByTicket.get(status.ticketId);
    if (list) list.push(status);
    else existingByTicket.set(status.ticketId, [status]);
  }
  const plan: SlaPlan = { upserts: [], stale: [] };
  const changed = new Map<number, number>();
  for (const ticket of tickets) {
    const facts = { id: ticket.id, priority: ticket.priority, customerId: ticket.customerId, createdAt: ticket.createdAt, tagIds: read.tags.get(ticket.id) ?? NONE, changes: read.changes.get(ticket.id) ?? NONE };
    if (planTicketSla(read.contextOf.get(ticket.teamId)!, facts, existingByTicket.get(ticket.id) ?? NONE, now, plan)) changed.set(ticket.id, ticket.teamId);
  }
  return { ...plan, changed };
}

/** Brings tickets' SLA statuses in line with their teams' policies (on every ticket write). */
export async function applySlaPolicies(tx: DbOrTx, written: TicketRow[], now = new Date()): Promise<void> {
  const policies = await tx.select().from(slaPolicies).where(inArray(slaPolicies.teamId, [...new Set(written.map((t) => t.teamId))]));
  // Statuses go with their policies (ON DELETE CASCADE): a team without policies has none to keep.
  if (policies.length === 0) return;
  const teamIds = [...new Set(policies.map((p) => p.teamId))];
  const concerned = written.filter((t) => teamIds.includes(t.teamId));
  const ids = concerned.map((t) => t.id);
  const [existing, tags, changes, contexts] = await Promise.all([
    tx.select().from(ticketSlaStatuses).where(inArray(ticketSlaStatuses.ticketId, ids)),
    tagIdsByTicket(tx, ids),
    stageChangesByTicket(tx, ids),
    Promise.all(teamIds.map((teamId) => teamSlaContext(tx, teamId, policies.filter((p) => p.teamId === teamId)))),
  ]);
  const contextOf = new Map(teamIds.map((teamId, i) => [teamId, contexts[i]!]));
  const plan = planTickets(concerned, { contextOf, tags, changes, existing }, now);
  await writeSlaPlan(tx, plan.upserts, plan.stale);
}

/** Batches of a recomputation in flight at once on a pool: one's statements run while the next is read and planned. */
const RECOMPUTE_BATCHES_IN_FLIGHT = 2;

/**
 * Recomputes the SLA statuses of many tickets after a policy or calendar change: a team's, the
 * given ones, or all. Works in batches, each its own transaction, one statement per kind of
 * row per batch; subscribers hear of the tickets whose statuses changed. On PostgreSQL two
 * batches run side by side, so the database writes one while the next is read and planned
 * (batches are disjoint id ranges); on an error no new batch starts, and the first error is
 * thrown once the batches in flight have settled.
 */
export async function recomputeSlaDeadlines(
  db: DbOrTx,
  input: { teamId?: number | null; ticketIds?: number[] | null; batchSize?: number; now?: Date; onProgress?: (done: number, total: number) => void },
): Promise<number> {
  if (input.teamId != null && !(await findTeam(db, input.teamId))) fail('teamId', 'NOT_FOUND', 'No team has this id.');
  const scope = { teamId: input.teamId ?? undefined, ticketIds: input.ticketIds ?? undefined };
  // Counted only for a progress report: a count is a scan of its own before the first batch.
  const total = input.onProgress ? await countTicketsForSla(db, scope) : 0;
  const contextOf = new Map<number, Promise<TeamSlaContext>>();
  const now = input.now ?? new Date();
  const inFlight = runsTransactionsSideBySide(db) ? RECOMPUTE_BATCHES_IN_FLIGHT : 1;
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let done = 0;
  let afterId = 0;
  input.onProgress?.(0, total);
  try {
    while (!failure) {
      const batch = await ticketsForSla(db, { ...scope, afterId, limit: input.batchSize ?? 5000 });
      if (batch.length === 0) break;
      afterId = batch.at(-1)!.id;
      const work = recomputeBatch(db, batch, contextOf, now).then(
        () => {
          done += batch.length;
          input.onProgress?.(done, total);
        },
        (error: unknown) => void (failure ??= { error }),
      );
      running.add(work);
      void work.then(() => running.delete(work));
      if (running.size >= inFlight) await Promise.race(running);
    }
  } finally {
    await Promise.all(running);
  }
  if (failure) throw failure.error;
  return done;
}

/** One batch of a recomputation (tickets in id order), in its own transaction. */
async function recomputeBatch(
  db: DbOrTx,
  batch: Array<Omit<TicketSlaFacts, 'tagIds' | 'changes'> & { teamId: number }>,
  contextOf: Map<number, Promise<TeamSlaContext>>,
  now: Date,
): Promise<void> {
  const ids = batch.map((t) => t.id);
  await inTransaction(db, async (tx) => {
    // Read through tx: on PGlite a query on db would wait for this very transaction. Each
    // team's context is read once and shared by the batches after it.
    for (const teamId of new Set(batch.map((t) => t.teamId))) {
      if (!contextOf.has(teamId)) contextOf.set(teamId, teamSlaContext(tx, teamId));
    }
    const [tags, changes, existing, contexts] = await Promise.all([
      tagIdsByTicket(tx, ids),
      stageChangesByTicket(tx, ids),
      // The batch is an id range: one range condition instead of thousands of parameters.
      tx.select().from(ticketSlaStatuses).where(and(gte(ticketSlaStatuses.ticketId, ids[0]!), lte(ticketSlaStatuses.ticketId, ids.at(-1)!))),
      Promise.all([...contextOf].map(async ([teamId, context]) => [teamId, await context] as const)),
    ]);
    const plan = planTickets(batch, { contextOf: new Map(contexts), tags, changes, existing }, now);
    await writeSlaPlan(tx, plan.upserts, plan.stale);
    if (plan.changed.size) await publishEvents(tx, TICKET_UPDATED, plan.changed);
  });
}

/**
 * Marks ongoing statuses whose deadline has passed as FAILED and tells subscribers. With
 * several instances only the one holding the advisory lock does it; the others skip the round.
 * Returns the tickets that changed.
 */
export async function failOverdueSlas(db: DbOrTx, now = new Date(), limit = 500): Promise<Array<{ ticketId: number; teamId: number }>> {
  return inTransaction(db, async (tx) => {
    const [lock] = await queryRows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${ADVISORY_LOCKS.slaBreachWatch}) as locked`);
    if (!lock?.locked) return [];
    const overdue = await tx
      .update(ticketSlaStatuses)
      .set({ status: 'FAILED' })
      .where(
        inArray(
          ticketSlaStatuses.id,
          tx
            .select({ id: ticketSlaStatuses.id })
            .from(ticketSlaStatuses)
            .where(and(eq(ticketSlaStatuses.status, 'ONGOING'), eq(ticketSlaStatuses.paused, false), isNull(ticketSlaStatuses.reachedAt), lt(ticketSlaStatuses.deadline, now)))
            .limit(limit),
        ),
      )
      .returning({ ticketId: ticketSlaStatuses.ticketId });
    const ticketIds = [...new Set(overdue.map((o) => o.ticketId))];
    if (ticketIds.length === 0) return [];
    const changed = await ticketsForSla(tx, { ticketIds, afterId: 0, limit: ticketIds.length });
    await publishEvents(tx, TICKET_UPDATED, new Map(changed.map((t) => [t.id, t.teamId])));
    return changed.map((t) => ({ ticketId: t.id, teamId: t.teamId }));
  });
}
