import postgres from 'postgres';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createSlaPolicy, recomputeSlaDeadlines, setWorkingHours } from '../src/sla/service.js';
import { createTeam, stagesOf } from '../src/teams/service.js';
import { dropDatabase, freshDatabase, ratio, report } from './support.js';

const DB = 'intake_bench_sla';
const TICKETS = Number(process.env.BENCH_SLA_TICKETS || 100_000);

/**
 * Bulk SLA recompute: 100,000 tickets, three policies, working hours with a lunch break and
 * holidays, on PostgreSQL. Baseline in the same run: PostgreSQL writing the same number of
 * status rows with wall-clock deadlines in one INSERT … SELECT (no calendar, no rules): the
 * floor of writing that many rows.
 */
export async function benchSlaRecompute() {
  const url = await freshDatabase(DB);
  const database = openPostgres(url, { max: 4 });
  await migrateDatabase(database, url);
  const team = await createTeam(database.db, { mailDomain: 'bench.test' }, { name: 'Bench' });
  const [newStage, , solved] = await stagesOf(database.db, team.id);
  await setWorkingHours(database.db, {
    teamId: team.id,
    timezone: 'Europe/Brussels',
    intervals: [1, 2, 3, 4, 5].flatMap((weekday) => [
      { weekday, start: '08:00', end: '12:00' },
      { weekday, start: '13:00', end: '17:00' },
    ]),
    holidays: ['2026-11-11', '2026-12-25', '2027-01-01'],
  });
  for (const [name, priorities, hours] of [['Low', [0, 1], 40], ['High', [2], 8], ['Urgent', [3], 4]] as const) {
    await createSlaPolicy(database.db, { teamId: team.id, name, priorities: [...priorities], hours, targetStageId: solved!.id });
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`
    insert into tickets (title, priority, channel, team_id, stage_id, created_at)
    select 'Ticket ' || i, i % 4, 'EMAIL', ${team.id}::int, ${newStage!.id}::int, now() - (i || ' minutes')::interval
    from generate_series(1, ${TICKETS}::int) i`;
  await sql`insert into ticket_stage_changes (ticket_id, stage_id, entered_at) select id, stage_id, created_at from tickets`;
  await sql`analyze`;

  const started = performance.now();
  const count = await recomputeSlaDeadlines(database.db, { teamId: team.id });
  const seconds = (performance.now() - started) / 1000;

  await sql`delete from ticket_sla_statuses`;
  const baseStarted = performance.now();
  await sql`
    insert into ticket_sla_statuses (ticket_id, policy_id, deadline, status)
    select t.id, p.id, t.created_at + make_interval(hours => p.hours::int), 'ONGOING'
    from tickets t join sla_policies p on p.team_id = t.team_id and p.priorities @> to_jsonb(t.priority::int)`;
  const baseSeconds = (performance.now() - baseStarted) / 1000;
  await sql.end();
  await database.close();
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);

  const rate = Math.round(count / seconds);
  const baseline = Math.round(TICKETS / baseSeconds);
  report({ bench: 'sla_recompute_postgres', tickets: count, policies: 3, figure: 'tickets_per_s', intake: rate, baseline, ratio: ratio(rate, baseline), target_tickets_per_s: 20_000 });
}
