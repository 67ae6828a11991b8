import type { ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createTeam } from '../src/teams/service.js';
import { dropDatabase, freshDatabase, load, ratio, report, startProcess, stopProcess, takeTurns, type LoadResult } from './support.js';

const DB = 'intake_bench_tickets';
const TOKEN = 'bench-admin-token';
const QUERY = `query Top($teamId: ID!) { tickets(filter: { teamId: $teamId }, first: 50) { nodes { id number title priority createdAt stage { name } customer { name email } } } }`;

/**
 * A scratch database with 10,000 tickets (8,000 of the team measured), and the request the ticket
 * list benchmarks send: its body, its check, and the environment of a server over that database.
 */
export async function prepareTicketList(name = DB) {
  const url = await freshDatabase(name);
  const database = openPostgres(url, { max: 2 });
  await migrateDatabase(database, url);
  const team = await createTeam(database.db, { mailDomain: 'bench.test' }, { name: 'Bench' });
  const other = await createTeam(database.db, { mailDomain: 'bench.test' }, { name: 'Other' });
  await database.close();

  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`insert into customers (name, email, email_key) select 'Customer ' || i, 'c' || i || '@example.com', 'c' || i || '@example.com' from generate_series(1, 1000) i`;
  // 10,000 tickets: 8,000 for the team measured, 2,000 for another; mixed priorities and ages.
  await sql`
    insert into tickets (title, description, priority, channel, team_id, stage_id, customer_id, created_at)
    select 'Ticket ' || i, 'Something broke', (i * 7) % 4, 'EMAIL',
      case when i % 5 = 0 then ${other.id}::int else ${team.id}::int end,
      (select id from stages where team_id = case when i % 5 = 0 then ${other.id}::int else ${team.id}::int end order by sequence limit 1),
      1 + (i % 1000), now() - (i || ' minutes')::interval
    from generate_series(1, 10000) i`;
  await sql`analyze`;
  await sql.end();

  const teamId = Buffer.from(`Team:${team.id}`).toString('base64');
  const body = JSON.stringify({ query: QUERY, variables: { teamId } });
  const check = (text: string) => (JSON.parse(text).data?.tickets?.nodes?.length ?? 0) === 50;
  const env = (port: number, extra: Record<string, string> = {}) => ({ DATABASE_URL: url, PORT: String(port), INTAKE_ADMIN_TOKEN: TOKEN, ...extra });
  const measure = (port: number, path: string) => (seconds: number) =>
    load({ url: `http://127.0.0.1:${port}${path}`, body, headers: { authorization: `Bearer ${TOKEN}` }, connections: 10, check, seconds });
  return { url, env, measure };
}

/** The 50 highest-priority tickets of one team among 10,000, over HTTP: Intake vs node:http + SQL. */
export async function benchTicketList(seconds: number) {
  const { env, measure } = await prepareTicketList();
  const servers: ChildProcess[] = [];
  let results;
  try {
    servers.push(await startProcess('src/main.ts', ['start'], env(4701), 'http://127.0.0.1:4701/healthz'));
    // The same server as two worker processes (INTAKE_WORKERS=2): one Node process uses one core.
    servers.push(await startProcess('src/main.ts', ['start'], env(4703, { INTAKE_WORKERS: '2' }), 'http://127.0.0.1:4703/healthz'));
    servers.push(await startProcess('bench/baseline-server.ts', [], env(4702), 'http://127.0.0.1:4702/healthz'));
    // Every answer is checked to be the same 50 tickets while measuring.
    results = await takeTurns({ intake: measure(4701, '/graphql'), intakeWorkers: measure(4703, '/graphql'), baseline: measure(4702, '/') }, seconds);
  } finally {
    await Promise.all(servers.map(stopProcess));
  }
  const { intake, intakeWorkers, baseline } = results;
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);

  const base = { bench: 'ticket_list_top50_http_postgres', tickets: 10000, connections: 10, seconds };
  const reportRun = (labels: Record<string, unknown>, run: LoadResult, errors: number) => {
    report({ ...base, ...labels, figure: 'requests_per_s', intake: run.rps, baseline: baseline.rps, ratio: ratio(run.rps, baseline.rps), target_ratio: 0.6, errors });
    report({ ...base, ...labels, figure: 'latency_p50_ms', intake: run.p50, baseline: baseline.p50 });
    report({ ...base, ...labels, figure: 'latency_p99_ms', intake: run.p99, baseline: baseline.p99 });
  };
  reportRun({}, intake, intake.errors + baseline.errors);
  reportRun({ intake_workers: 2 }, intakeWorkers, intakeWorkers.errors);
}
