import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import postgres from 'postgres';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createTeam } from '../src/teams/service.js';
import { freePort } from '../tests/support/server.js';
import { dropDatabase, freshDatabase, load, ratio, report, startProcess, stopProcess, takeTurns, type LoadResult } from './support.js';

// Per run: benches of other branches on the same PostgreSQL drop and recreate theirs by name.
const DB = `intake_bench_tickets_${process.pid}`;
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
  // Loads one server with the request, checking every answer is the same 50 tickets.
  const request = (port: number, path: string) => (seconds: number) =>
    load({ url: `http://127.0.0.1:${port}${path}`, body, headers: { authorization: `Bearer ${TOKEN}` }, connections: 10, check, seconds });
  return { url, env, request };
}

/** The 50 highest-priority tickets of one team among 10,000, over HTTP: Intake vs node:http + SQL. */
export async function benchTicketList(seconds: number) {
  const { env, request } = await prepareTicketList();
  // CPU time each server spent per answer, beside the rate: on a machine that other work loads,
  // the rate follows whatever else runs, while the CPU a request costs stays the server's own.
  const cpu = { intake: { us: 0, requests: 0 }, intakeWorkers: { us: 0, requests: 0 }, baseline: { us: 0, requests: 0 } };
  const measure = (name: keyof typeof cpu, server: () => ChildProcess, port: number, path: string) => async (seconds: number) => {
    const pids = processTree(server().pid!);
    const before = cpuMicroseconds(pids);
    const run = await request(port, path)(seconds);
    cpu[name].us += cpuMicroseconds(pids) - before;
    cpu[name].requests += run.latencies.length;
    return run;
  };
  const servers: ChildProcess[] = [];
  let results;
  try {
    // Free ports, not fixed ones: another bench (smtp-intake's server listens on 4703) may run beside this one.
    const [intakePort, workersPort, baselinePort] = [await freePort(), await freePort(), await freePort()];
    servers.push(await startProcess('src/main.ts', ['start'], env(intakePort), `http://127.0.0.1:${intakePort}/healthz`));
    // The same server as two worker processes (INTAKE_WORKERS=2): one Node process uses one core.
    servers.push(await startProcess('src/main.ts', ['start'], env(workersPort, { INTAKE_WORKERS: '2' }), `http://127.0.0.1:${workersPort}/healthz`));
    servers.push(await startProcess('bench/baseline-server.ts', [], env(baselinePort), `http://127.0.0.1:${baselinePort}/healthz`));
    // Every answer is checked to be the same 50 tickets while measuring.
    const [intakeServer, workersServer, baselineServer] = servers as [ChildProcess, ChildProcess, ChildProcess];
    results = await takeTurns(
      {
        intake: measure('intake', () => intakeServer, intakePort, '/graphql'),
        intakeWorkers: measure('intakeWorkers', () => workersServer, workersPort, '/graphql'),
        baseline: measure('baseline', () => baselineServer, baselinePort, '/'),
      },
      seconds,
    );
  } finally {
    await Promise.all(servers.map(stopProcess));
  }
  const { intake, intakeWorkers, baseline } = results;
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);

  const base = { bench: 'ticket_list_top50_http_postgres', tickets: 10000, connections: 10, seconds };
  const perRequest = (name: keyof typeof cpu) => (cpu[name].requests > 0 && cpu[name].us > 0 ? Math.round(cpu[name].us / cpu[name].requests) : null);
  const reportRun = (labels: Record<string, unknown>, run: LoadResult, errors: number, name: keyof typeof cpu) => {
    report({ ...base, ...labels, figure: 'requests_per_s', intake: run.rps, baseline: baseline.rps, ratio: ratio(run.rps, baseline.rps), target_ratio: 0.8, errors });
    report({ ...base, ...labels, figure: 'latency_p50_ms', intake: run.p50, baseline: baseline.p50 });
    report({ ...base, ...labels, figure: 'latency_p99_ms', intake: run.p99, baseline: baseline.p99 });
    const [used, floor] = [perRequest(name), perRequest('baseline')];
    // Linux only (/proc); elsewhere the figure is left out.
    if (used !== null && floor !== null) report({ ...base, ...labels, figure: 'server_cpu_us_per_request', intake: used, baseline: floor, ratio: ratio(floor, used) });
  };
  reportRun({}, intake, intake.errors + baseline.errors, 'intake');
  reportRun({ intake_workers: 2 }, intakeWorkers, intakeWorkers.errors, 'intakeWorkers');
}

/** A process and its descendants (INTAKE_WORKERS' workers are the primary's children), from /proc. */
function processTree(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const parentOf = new Map<number, number>();
  for (const entry of entries) {
    const stat = procStat(Number(entry));
    if (stat) parentOf.set(Number(entry), Number(stat[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  return tree;
}

/** The fields of /proc/<pid>/stat after the command name (state first), or null. */
function procStat(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** User and system CPU of the processes, in microseconds (USER_HZ is 100 on Linux). */
function cpuMicroseconds(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    const stat = procStat(pid);
    return stat ? sum + (Number(stat[11]) + Number(stat[12])) * 10_000 : sum;
  }, 0);
}
