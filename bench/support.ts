import { npmStartArgs } from '../tests/support/npm-start.js';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const adminUrl = process.env.BENCH_POSTGRES_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Drops and recreates a scratch database for one benchmark. */
export async function freshDatabase(name: string): Promise<string> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 1 });
  }
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Starts a TypeScript entry point as its own process (the load generator must not share its CPU
 * time), with the node flags `npm start` uses, so that Intake runs as an operator runs it.
 */
export async function startProcess(entry: string, args: string[], env: Record<string, string>, healthUrl: string, options: { openFiles?: number; nodeFlags?: string[] } = {}): Promise<ChildProcess> {
  // A server left over from an earlier run would answer the health check in this one's place.
  if (healthUrl && (await fetch(healthUrl).then((res) => res.ok).catch(() => false))) throw new Error(`${healthUrl} answers before ${entry} started: stop what listens there`);
  const argv = [process.execPath, ...(options.nodeFlags ?? []), ...npmStartArgs({ script: entry, args })];
  // Thousands of sockets need more open files than a login shell allows (up to the hard limit
  // where the machine forbids raising it); `exec` keeps the pid node's.
  const [command, ...rest] = options.openFiles ? ['sh', '-c', `{ ulimit -n ${options.openFiles} || ulimit -n $(ulimit -Hn); } 2>/dev/null; exec "$@"`, 'sh', ...argv] : argv;
  const child = spawn(command!, rest, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'error', SMTP_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
    if (!healthUrl) return child; // the caller waits for readiness itself
    try {
      if ((await fetch(healthUrl)).ok) return child;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${entry} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** What one load run saw: every latency, and how long it ran. */
export interface LoadRun {
  latencies: number[];
  errors: number;
  seconds: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** Completed requests (or messages) per second. */
  rps: number;
  p50: number;
  p99: number;
}

/** A figure over its baseline, to two decimals, as the JSON lines print it. */
export function ratio(figure: number, baseline: number): number {
  return Math.round((figure / baseline) * 100) / 100;
}

/** Requests per second and latency percentiles over all the runs together. */
export function summarize(runs: LoadRun[]): LoadResult {
  const latencies = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! * 100) / 100;
  return { requests: latencies.length, errors: runs.reduce((sum, run) => sum + run.errors, 0), rps: Math.round(latencies.length / seconds), p50: pct(50), p99: pct(99) };
}

/**
 * Measures each contender for `seconds` in all, in `rounds` turns taken one after the other
 * (A B C A B C …). The load generator, the servers and PostgreSQL share a small machine whose
 * speed drifts over a minute; taking turns lets that drift weigh on every contender alike.
 */
export async function takeTurns<K extends string>(contenders: Record<K, (seconds: number) => Promise<LoadRun>>, seconds: number, rounds = 4): Promise<Record<K, LoadResult>> {
  const runs = Object.fromEntries(Object.keys(contenders).map((name) => [name, [] as LoadRun[]])) as Record<K, LoadRun[]>;
  // Warm-up: V8 tiers up, graphql-jit compiles, pools fill, the heap grows. Measured round by round,
  // two seconds left the first round of Intake 15-20 % below the others; five do not.
  for (const name of Object.keys(contenders) as K[]) await contenders[name](5);
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(contenders) as K[]) {
      const run = await contenders[name](seconds / rounds);
      runs[name].push(run);
      // BENCH_VERBOSE=1 shows each round on stderr, to see how much the machine drifts.
      if (process.env.BENCH_VERBOSE) process.stderr.write(`round ${round + 1} ${name}: ${Math.round(run.latencies.length / run.seconds)}/s\n`);
    }
  }
  return Object.fromEntries(Object.entries<LoadRun[]>(runs).map(([name, list]) => [name, summarize(list)])) as Record<K, LoadResult>;
}

/**
 * Closed-loop load: `connections` keep-alive clients each send the next request as soon as the
 * previous answer is read, for `seconds`.
 */
export async function load(options: {
  url: string;
  body: string;
  /** The same for every request, or per connection (its index). */
  headers: Record<string, string> | ((connection: number) => Record<string, string>);
  connections: number;
  seconds: number;
  check: (body: string) => boolean;
}): Promise<LoadRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + options.seconds * 1000;
  const headersOf = typeof options.headers === 'function' ? options.headers : () => options.headers as Record<string, string>;
  const one = (connection: number) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body), ...headersOf(connection) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - started);
            if (res.statusCode !== 200 || !options.check(Buffer.concat(chunks).toString())) errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(options.body);
    });
  const started = Date.now();
  await Promise.all(
    Array.from({ length: options.connections }, async (_, connection) => {
      while (Date.now() < end) await one(connection);
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  agent.destroy();
  return { latencies, errors, seconds };
}

/** One JSON line per figure, with the baseline measured in the same run beside it. */
/** `inFlight` loops each calling `one` again as soon as it settles, for `seconds`: every latency and error. */
export async function closedLoop(inFlight: number, seconds: number, one: () => Promise<void>): Promise<LoadRun> {
  const latencies: number[] = [];
  let errors = 0;
  const started = Date.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        try {
          await one();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies, errors, seconds: (Date.now() - started) / 1000 };
}

export function report(figure: Record<string, unknown>) {
  process.stdout.write(JSON.stringify(figure) + '\n');
}
