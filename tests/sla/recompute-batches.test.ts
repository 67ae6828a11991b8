import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { addWorkingTime } from '../../src/sla/calendar.js';
import { createSlaPolicy, recomputeSlaDeadlines, setWorkingHours } from '../../src/sla/service.js';
import { createTeam, stagesOf } from '../../src/teams/service.js';
import { createTicket, moveTicketToStage } from '../../src/tickets/service.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

const H = 3_600_000;
const CALENDAR = {
  timezone: 'Europe/Brussels',
  intervals: [1, 2, 3, 4, 5].flatMap((weekday) => [
    { weekday, start: '08:00', end: '12:00' },
    { weekday, start: '13:00', end: '17:00' },
  ]),
  holidays: ['2026-11-11', '2026-12-25', '2027-01-01'],
};

let database: TestDatabase;
let db: Database;
let teamId: number;
let ticketIds: number[];
beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.INTAKE_DATA_DIR });
  const team = await createTeam(db.db, { mailDomain: 'intake.test' }, { name: 'Batches' });
  teamId = team.id;
  const stages = await stagesOf(db.db, team.id);
  const stage = (name: string) => stages.find((s) => s.name === name)!.id;
  await setWorkingHours(db.db, { teamId, ...CALENDAR });
  await createSlaPolicy(db.db, { teamId, name: 'Low', priorities: [0, 1], hours: 40, targetStageId: stage('Solved') });
  await createSlaPolicy(db.db, { teamId, name: 'Urgent', priorities: [3], hours: 4, targetStageId: stage('Solved'), excludedStageIds: [stage('In Progress')] });
  // Tickets of every kind a batch meets: no policy, paused, reached, moved back, in any order.
  ticketIds = [];
  for (let i = 0; i < 11; i++) {
    const ticket = await createTicket(db.db, { teamId, title: `b${i}`, channel: 'API', priority: i % 4 });
    ticketIds.push(ticket.id);
    if (i % 3 === 1) await moveTicketToStage(db.db, { ticketId: ticket.id, stageId: stage('In Progress') });
    if (i % 5 === 2) await moveTicketToStage(db.db, { ticketId: ticket.id, stageId: stage('Solved') });
    if (i === 7) await moveTicketToStage(db.db, { ticketId: ticket.id, stageId: stage('In Progress') });
  }
  // Dated back over a weekend and a lunch break, so the calendar shapes every deadline.
  await db.rows(sql`update tickets set created_at = timestamptz '2026-11-20 14:30:00Z' + (id % 7) * interval '97 minutes' where team_id = ${teamId}`);
  await db.rows(sql`update ticket_stage_changes c set entered_at = t.created_at + (c.id - (select min(id) from ticket_stage_changes where ticket_id = c.ticket_id)) * interval '3 hours' from tickets t where t.id = c.ticket_id and t.team_id = ${teamId}`);
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

const NOW = new Date('2026-11-24T12:00:00Z');

async function statuses() {
  return db.rows<Record<string, unknown>>(
    sql`select ticket_id, policy_id, deadline, reached_at, status, paused from ticket_sla_statuses s join tickets t on t.id = s.ticket_id where t.team_id = ${teamId} order by ticket_id, policy_id`,
  );
}

describe('bulk recompute in batches', () => {
  it('writes the same statuses whatever the batch size, reports progress in order, and tells of every changed ticket once', async () => {
    const progress: Array<[number, number]> = [];
    // Stage moves told of their tickets too: only what the recompute adds counts.
    const [{ last }] = (await db.rows<{ last: number | null }>(sql`select max(id)::int as last from event_backlog`)) as [{ last: number | null }];
    expect(await recomputeSlaDeadlines(db.db, { teamId, batchSize: 2, now: NOW, onProgress: (done, total) => progress.push([done, total]) })).toBe(11);
    const inSmallBatches = await statuses();
    expect(progress[0]).toEqual([0, 11]);
    expect(progress.at(-1)).toEqual([11, 11]);
    expect(progress.map(([done]) => done)).toEqual([...progress.map(([done]) => done)].sort((a, b) => a - b));
    // Priority 2 matches no policy: 8 of the 11 tickets have a status, and each is told once.
    expect(new Set(inSmallBatches.map((s) => s.ticket_id)).size).toBe(8);
    const told = await db.rows<{ entity_id: number }>(
      sql`select entity_id from event_backlog where type = 'ticketUpdated' and id > ${last ?? 0}`,
    );
    expect(told.map((e) => e.entity_id).sort((a, b) => a - b)).toEqual([...new Set(inSmallBatches.map((s) => s.ticket_id as number))].sort((a, b) => a - b));

    await db.rows(sql`delete from ticket_sla_statuses`);
    expect(await recomputeSlaDeadlines(db.db, { teamId, batchSize: 1000, now: NOW })).toBe(11);
    expect(await statuses()).toEqual(inSmallBatches);

    // A LOW ticket never moved: creation plus 40 working hours of the Brussels calendar.
    const [low] = await db.rows<{ created_at: string | Date }>(sql`select created_at from tickets where id = ${ticketIds[0]!}`);
    const lowStatus = inSmallBatches.find((s) => s.ticket_id === ticketIds[0]);
    expect(new Date(lowStatus!.deadline as string).toISOString()).toBe(addWorkingTime(CALENDAR, new Date(low!.created_at), 40 * H).toISOString());
    expect(inSmallBatches.some((s) => s.paused === true)).toBe(true);
    expect(inSmallBatches.some((s) => s.status === 'REACHED' || s.status === 'FAILED')).toBe(true);
  });

  it('throws the error of a failing batch and keeps the batches written before it', async () => {
    await db.rows(sql`delete from ticket_sla_statuses`);
    const failing = ticketIds[4]!;
    await db.rows(
      sql.raw(`create function refuse_sla_status() returns trigger language plpgsql as $$ begin if new.ticket_id = ${failing} then raise exception 'refused for %', new.ticket_id; end if; return new; end $$`),
    );
    await db.rows(sql`create trigger refuse_sla_status before insert on ticket_sla_statuses for each row execute function refuse_sla_status()`);
    try {
      const error = await recomputeSlaDeadlines(db.db, { teamId, batchSize: 2, now: NOW }).then(
        () => undefined,
        (err: Error) => err,
      );
      // drizzle wraps the database's error in its own.
      expect((error?.cause as Error | undefined)?.message).toBe(`refused for ${failing}`);
      const written = new Set((await statuses()).map((s) => s.ticket_id));
      // Batches of two in id order: the failing ticket's batch rolled back whole, the ones before it committed.
      expect(written.has(failing)).toBe(false);
      expect(written.has(ticketIds[5]!)).toBe(false);
      expect(written.has(ticketIds[0]!)).toBe(true);
      expect(written.has(ticketIds[3]!)).toBe(true);
    } finally {
      await db.rows(sql`drop trigger refuse_sla_status on ticket_sla_statuses`);
      await db.rows(sql`drop function refuse_sla_status()`);
    }
  });
});
