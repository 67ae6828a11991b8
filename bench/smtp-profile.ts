import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import postgres from 'postgres';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createTeam } from '../src/teams/service.js';
import { smtpLoad } from './smtp-intake.js';
import { freshDatabase, root, startProcess, stopProcess } from './support.js';

/**
 * Where mail intake's time goes (issue 24): one Intake in this process, under the SMTP bench's
 * load from a child process, counting the statements drizzle sends per mail and per batch, and
 * sampling PostgreSQL's wait events of Intake's connections (pg_stat_statements needs a preload
 * the bench machine's server lacks). For the CPU shares, under the profiler:
 *   DATABASE_URL=postgres://… node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/smtp-profile.ts [seconds]
 *   tsx bench/cpu-shares.ts /tmp/prof/<file>.cpuprofile
 * Without DATABASE_URL it runs on PGlite (no wait events then). With INTAKE_WORKERS=2 the server
 * runs as `npm start` does, in worker processes of its own: wait events only, no statement count.
 * With `load` as first argument it is the load generator (10 SMTP connections to SMTP_PORT).
 */
if (process.argv[2] === 'load') {
  const run = await smtpLoad(Number(process.env.SMTP_PORT), Number(process.argv[3]));
  process.stdout.write(JSON.stringify({ mails: run.latencies.length, errors: run.errors, seconds: run.seconds }) + '\n');
  process.exit(0);
}

const seconds = Number(process.argv[2] || 15);
const url = process.env.DATABASE_URL ? await freshDatabase('intake_bench_profile') : undefined;
const config = loadConfig({
  ...process.env,
  ...(url ? { DATABASE_URL: url } : { DATABASE_URL: '', INTAKE_DATA_DIR: `/tmp/intake-profile-${process.pid}` }),
  PORT: '0',
  SMTP_PORT: '0',
  HOST: '127.0.0.1',
  MAIL_DOMAIN: 'bench.test',
  INTAKE_ADMIN_TOKEN: 'bench',
  LOG_LEVEL: 'error',
});
const workers = Number(process.env.INTAKE_WORKERS || 1);
// Several workers: the server as an operator runs it, the team made beforehand.
let server: ChildProcess | null = null;
let smtpPort: number;
let app: App | null = null;
if (workers > 1) {
  if (!url) throw new Error('INTAKE_WORKERS above 1 needs DATABASE_URL');
  const database = openPostgres(url, { max: 1 });
  await migrateDatabase(database, url);
  await createTeam(database.db, config, { name: 'Support' });
  await database.close();
  smtpPort = 2619;
  server = await startProcess('src/main.ts', ['start'], { DATABASE_URL: url, MAIL_DOMAIN: 'bench.test', INTAKE_ADMIN_TOKEN: 'bench', PORT: '4719', SMTP_PORT: String(smtpPort), INTAKE_WORKERS: String(workers) }, 'http://127.0.0.1:4719/healthz');
} else {
  app = await startApp(config);
  smtpPort = app.smtp.port;
  await createTeam(app.database.db, config, { name: 'Support' });
}

const kinds = new Map<string, number>();
let statements = 0;
const stop = (app?.database.watchStatements ?? (() => () => {}))((text) => {
  statements++;
  const words = text.replace(/\s+/g, ' ').trim().toLowerCase();
  const kind = /^(begin|commit)/.test(words)
    ? words.split(' ')[0]!
    : words.startsWith('with') ? `with … ${/\b(insert into|update|from) "?(\w+)/.exec(words.slice(20))?.[2] ?? ''}` : `${words.split(' ')[0]} ${/\b(into|update|from) "?(\w+)/.exec(words)?.[2] ?? ''}`;
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
});

// Wait events of Intake's backends, sampled every 20 ms from a connection of our own.
const waits = new Map<string, number>();
let samples = 0;
let sampling = true;
const admin = url ? postgres(url, { max: 1, onnotice: () => {} }) : null;
const sampler = (async () => {
  while (admin && sampling) {
    const rows = await admin`select state, wait_event_type, wait_event from pg_stat_activity where application_name = 'intake' and pid <> pg_backend_pid() and datname = current_database()`;
    samples++;
    for (const r of rows) {
      const key = r.state === 'idle' ? 'idle' : r.state === 'idle in transaction' ? 'idle in transaction (client side)' : `${r.state}: ${r.wait_event_type ?? 'CPU'}/${r.wait_event ?? '-'}`;
      waits.set(key, (waits.get(key) ?? 0) + 1);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
})();

// Round trips to PostgreSQL: each is at least one socket write (postgres.js coalesces the
// statements sent in one tick), and on loopback a write costs the sender the receiver's work too.
let databaseWrites = 0;
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (this: net.Socket, ...args: any[]) {
  if (this.remotePort === 5432) databaseWrites++;
  return (write as any).apply(this, args);
} as typeof write;
const cpuBefore = process.cpuUsage();

const loader = spawn(process.execPath, ['--import', 'tsx', 'bench/smtp-profile.ts', 'load', String(seconds)], { cwd: root, env: { ...process.env, SMTP_PORT: String(smtpPort) }, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
loader.stdout.on('data', (c) => (out += c));
await new Promise((resolve) => loader.once('exit', resolve));
const cpu = process.cpuUsage(cpuBefore);
sampling = false;
await sampler;
stop();
const load = JSON.parse(out);
const perMail = (n: number) => Math.round((n / load.mails) * 100) / 100;
process.stdout.write(
  JSON.stringify({
    database: url ? 'postgres' : 'pglite',
    workers,
    mails_per_s: Math.round(load.mails / load.seconds),
    mails: load.mails,
    ...(app && {
      transactions: kinds.get('begin') ?? 0,
      mails_per_transaction: Math.round((load.mails / (kinds.get('begin') || 1)) * 10) / 10,
      statements_per_mail: perMail(statements),
      database_writes_per_mail: perMail(databaseWrites - samples), // less the sampler's own, one per sample
      intake_cpu_ms_per_mail: perMail((cpu.user + cpu.system) / 1000),
      by_kind_per_mail: Object.fromEntries([...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, perMail(n)])),
    }),
    wait_samples_per_backend_state: Object.fromEntries([...waits].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, Math.round((n / samples) * 100) / 100])),
  }) + '\n',
);
await admin?.end({ timeout: 1 });
await app?.stop();
if (server) await stopProcess(server);
process.exit(0);
