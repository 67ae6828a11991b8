import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createTeam } from '../src/teams/service.js';
import { dropDatabase, freshDatabase, ratio, report, startProcess, stopProcess, takeTurns, type LoadResult, type LoadRun } from './support.js';

const DB = 'intake_bench_smtp';
const DOMAIN = 'bench.test';
/** The SMTP port of each contender. */
const PORTS = { intake: 2603, intakeWorkers: 2605, sink: 2604, floor: 2606, intakePglite: 2607 };

/**
 * Mail from many customers, as a helpdesk gets it: 20,000 senders, so that none comes near the
 * loop guard's default of 20 new tickets per sender in 120 minutes even in a long run.
 */
function message(i: number): string {
  const sender = i % 20_000;
  const body = `Hello, this is message ${i}. `.repeat(150).slice(0, 4000);
  return [
    `From: Customer ${sender} <customer${sender}@example.com>`,
    `To: support@${DOMAIN}`,
    `Subject: Bench message ${i}`,
    `Message-ID: <bench-${process.pid}-${Date.now()}-${i}@example.com>`,
    'Date: Sat, 21 Nov 2026 09:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

/** Creates the bench team through the API of a server that owns its database (PGlite). */
async function createTeamOver(graphqlUrl: string, token: string) {
  const res = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'mutation { createTeam(input: { name: "Support" }) { team { id } } }' }),
  });
  const body = (await res.json()) as { data?: { createTeam?: { team?: { id: string } } } };
  if (!body.data?.createTeam?.team) throw new Error(`creating the bench team on PGlite failed: ${JSON.stringify(body)}`);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

async function waitForPort(port: number, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await listening(port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** 10 SMTP connections, each sending its next 4 KB mail as soon as the previous got its reply. */
export async function smtpLoad(port: number, seconds: number): Promise<LoadRun> {
  const connections = 10;
  const latencies: number[] = [];
  let errors = 0;
  const started = Date.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity });
      while (Date.now() < end) {
        const sent = performance.now();
        try {
          await transport.sendMail({ envelope: { from: 'sender@example.com', to: `support@${DOMAIN}` }, raw: message(counter++) });
          latencies.push(performance.now() - sent);
        } catch {
          errors++;
        }
      }
      transport.close();
    }),
  );
  return { latencies, errors, seconds: (Date.now() - started) / 1000 };
}

let counter = 0;

/** SMTP intake on PostgreSQL (commit before 250) vs a sink that parses and stores nothing. */
export async function benchSmtpIntake(seconds: number) {
  const url = await freshDatabase(DB);
  const database = openPostgres(url, { max: 2 });
  await migrateDatabase(database, url);
  await createTeam(database.db, { mailDomain: DOMAIN }, { name: 'Support' });
  await database.close();

  const intakeEnv = { DATABASE_URL: url, MAIL_DOMAIN: DOMAIN, INTAKE_ADMIN_TOKEN: 'bench' };
  const servers: ChildProcess[] = [];
  let pgliteDir: string | undefined;
  let results;
  try {
    // A server left over from an earlier run would be measured in place of the new one.
    for (const port of Object.values(PORTS)) if (await listening(port)) throw new Error(`port ${port} is taken: stop what listens there`);
    servers.push(await startProcess('src/main.ts', ['start'], { ...intakeEnv, PORT: '4703', SMTP_PORT: String(PORTS.intake) }, ''));
    servers.push(await startProcess('src/main.ts', ['start'], { ...intakeEnv, PORT: '4705', SMTP_PORT: String(PORTS.intakeWorkers), INTAKE_WORKERS: '2' }, ''));
    servers.push(await startProcess('bench/smtp-sink.ts', [], { SMTP_PORT: String(PORTS.sink) }, ''));
    servers.push(await startProcess('bench/smtp-store-floor.ts', [], { DATABASE_URL: url, SMTP_PORT: String(PORTS.floor) }, ''));
    // The embedded database, in a fresh folder: one process, no DATABASE_URL.
    const pgliteEnv = { DATABASE_URL: '', INTAKE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'intake-bench-smtp-')), MAIL_DOMAIN: DOMAIN, INTAKE_ADMIN_TOKEN: 'bench' };
    pgliteDir = pgliteEnv.INTAKE_DATA_DIR;
    // Kept in `servers` before it is ready, so that it is stopped whatever happens; the embedded
    // database's first start (a copy of the migrated template) is slow on a busy machine.
    servers.push(await startProcess('src/main.ts', ['start'], { ...pgliteEnv, PORT: '4707', SMTP_PORT: String(PORTS.intakePglite) }, ''));
    await waitForPort(4707, 180_000);
    await createTeamOver('http://127.0.0.1:4707/graphql', 'bench');
    for (const port of Object.values(PORTS)) await waitForPort(port);
    const measure = (port: number) => (s: number) => smtpLoad(port, s);
    results = await takeTurns(
      { intake: measure(PORTS.intake), intakeWorkers: measure(PORTS.intakeWorkers), sink: measure(PORTS.sink), floor: measure(PORTS.floor), intakePglite: measure(PORTS.intakePglite) },
      seconds,
    );
  } finally {
    await Promise.all(servers.map(stopProcess));
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
  }
  const { intake, intakeWorkers, sink, floor, intakePglite } = results;
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);

  const base = { bench: 'smtp_intake_4kb_postgres', connections: 10, seconds };
  const reportRun = (labels: Record<string, unknown>, run: LoadResult, errors: number) => {
    report({ ...base, ...labels, figure: 'messages_per_s', intake: run.rps, baseline: sink.rps, ratio: ratio(run.rps, sink.rps), target_ratio: 0.5, errors });
    report({ ...base, ...labels, figure: 'latency_p50_ms', intake: run.p50, baseline: sink.p50 });
    report({ ...base, ...labels, figure: 'latency_p99_ms', intake: run.p99, baseline: sink.p99 });
  };
  reportRun({}, intake, intake.errors + sink.errors);
  reportRun({ intake_workers: 2 }, intakeWorkers, intakeWorkers.errors);
  // Issue 24's targets: Intake against the floor of the same run (≥ 0.6), two workers above one.
  report({ ...base, figure: 'share_of_store_floor', intake: ratio(intake.rps, floor.rps), intake_workers_2: ratio(intakeWorkers.rps, floor.rps), target_ratio: 0.6 });
  report({ bench: 'smtp_intake_4kb_pglite', connections: 10, seconds, figure: 'messages_per_s', intake: intakePglite.rps, baseline: floor.rps, baseline_is: 'store floor on PostgreSQL', ratio: ratio(intakePglite.rps, floor.rps), errors: intakePglite.errors });
  // The floor of any commit-before-250 intake on this machine (bench/smtp-store-floor.ts): what
  // the sink's rate becomes once each raw mail is committed, before any routing or ticket.
  const floorBase = { bench: 'smtp_store_floor_4kb_postgres', connections: 10, seconds };
  report({ ...floorBase, figure: 'messages_per_s', floor: floor.rps, baseline: sink.rps, ratio: ratio(floor.rps, sink.rps), intake_share_of_floor: ratio(intake.rps, floor.rps), errors: floor.errors });
  report({ ...floorBase, figure: 'latency_p50_ms', floor: floor.p50, baseline: sink.p50 });
}
