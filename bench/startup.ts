import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensurePgliteTemplate } from '../src/db/pglite-template.js';
import { npmStartArgs } from '../tests/support/npm-start.js';
import { dropDatabase, freshDatabase, report, root } from './support.js';

const DB = 'intake_bench_startup';

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * CPU time (user + system, all threads) a live process has used so far, from /proc (Linux), or
 * null elsewhere. On a shared machine wall time swings with the neighbours' load; the work done
 * does not, so each figure carries both.
 */
function cpuMsOf(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of stat(5), counted from the state field (3).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** USER_HZ: what Linux counts those fields in, 100 on every common build. */
const CLOCK_TICKS = 100;

/**
 * Runs `npm start`'s command and returns the milliseconds from spawning node to the first 200 of
 * /healthz (polled every 10 ms) and the CPU time the server used until then, then stops the
 * server with SIGTERM and waits for it to exit.
 */
async function timeToHealthy(env: Record<string, string>): Promise<{ ms: number; cpuMs: number | null }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, npmStartArgs(), {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), SMTP_PORT: '0', LOG_LEVEL: 'error', INTAKE_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ok) return { ms: performance.now() - started, cpuMs: cpuMsOf(child.pid) };
      if (performance.now() - started > 60_000) throw new Error('npm start did not become healthy within 60 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * PGlite's own start-up, the floor under Intake's on the embedded database: a bare node process
 * that imports PGlite, opens it (`new PGlite` + one query) and exits. Returns the whole process
 * time and, inside it, the open alone.
 */
async function pgliteFloor(dataDir: string): Promise<{ processMs: number; openMs: number; cpuMs: number }> {
  const script = `
    const { PGlite } = await import('@electric-sql/pglite');
    const started = performance.now();
    const db = new PGlite(${JSON.stringify(dataDir)});
    await db.query('select 1');
    const { user, system } = process.cpuUsage();
    process.stdout.write(JSON.stringify({ openMs: performance.now() - started, cpuMs: (user + system) / 1000 }));
    await db.close();`;
  const started = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the PGlite floor script exited with ${code}`);
  return { processMs: performance.now() - started, ...(JSON.parse(output) as { openMs: number; cpuMs: number }) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]!);
};

/**
 * Time to healthy of `npm start`: the first start on an empty database (migrations, demo team,
 * admin token) and a later start on the same data, on PGlite and on PostgreSQL, beside PGlite's
 * own floor (in memory, a fresh directory, an existing one). Each round runs every contender
 * once, one after the other, so a busy machine weighs on all alike; the median of the rounds is
 * reported, every round beside it.
 */
export async function benchStartup(rounds: number) {
  const names = ['pglite_first', 'pglite_later', 'postgres_first', 'postgres_later', 'floor_memory', 'floor_fresh_dir', 'floor_existing_dir'] as const;
  const contenders = Object.fromEntries(names.map((name) => [name, { ms: [] as number[], cpuMs: [] as number[], openMs: [] as number[] }])) as Record<
    (typeof names)[number],
    { ms: number[]; cpuMs: number[]; openMs: number[] }
  >;
  const record = (name: (typeof names)[number], figure: { ms: number; cpuMs: number | null; openMs?: number }) => {
    contenders[name].ms.push(figure.ms);
    if (figure.cpuMs !== null) contenders[name].cpuMs.push(figure.cpuMs);
    if (figure.openMs !== undefined) contenders[name].openMs.push(figure.openMs);
  };
  // Made once per install and version (any earlier start or test run made it): not part of a first start.
  await ensurePgliteTemplate();
  for (let round = 0; round < rounds; round++) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'intake-bench-startup-'));
    const floorDir = mkdtempSync(path.join(os.tmpdir(), 'intake-bench-pglite-'));
    try {
      record('pglite_first', await timeToHealthy({ DATABASE_URL: '', INTAKE_DATA_DIR: dataDir }));
      record('pglite_later', await timeToHealthy({ DATABASE_URL: '', INTAKE_DATA_DIR: dataDir }));
      const url = await freshDatabase(DB);
      record('postgres_first', await timeToHealthy({ DATABASE_URL: url, INTAKE_DATA_DIR: dataDir }));
      record('postgres_later', await timeToHealthy({ DATABASE_URL: url, INTAKE_DATA_DIR: dataDir }));
      for (const [name, dir] of [['memory', 'memory://'], ['fresh_dir', floorDir], ['existing_dir', floorDir]] as const) {
        const floor = await pgliteFloor(dir);
        record(`floor_${name}`, { ms: floor.processMs, cpuMs: floor.cpuMs, openMs: floor.openMs });
      }
      if (process.env.BENCH_VERBOSE) {
        const last = Object.fromEntries(Object.entries(contenders).map(([k, v]) => [k, `${Math.round(v.ms.at(-1)!)} ms, cpu ${Math.round(v.cpuMs.at(-1) ?? NaN)}`]));
        process.stderr.write(`round ${round + 1}: ${JSON.stringify(last)}\n`);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(floorDir, { recursive: true, force: true });
    }
  }
  await dropDatabase(DB);
  const figure = (values: { ms: number[]; cpuMs: number[] }) => ({
    ms: median(values.ms),
    rounds: values.ms.map(Math.round),
    ...(values.cpuMs.length ? { cpu_ms: median(values.cpuMs), cpu_rounds: values.cpuMs.map(Math.round) } : {}),
  });
  for (const database of ['pglite', 'postgres'] as const) {
    for (const start of ['first', 'later'] as const) {
      const target = database === 'pglite' ? { first: 3000, later: 1500 }[start] : undefined;
      report({ bench: 'startup', database, start, figure: 'ms_to_healthy', ...figure(contenders[`${database}_${start}`]), ...(target ? { target_ms: target } : {}) });
    }
  }
  // The floor: a bare node process opening PGlite; open_ms is `new PGlite` + one query alone.
  for (const where of ['memory', 'fresh_dir', 'existing_dir'] as const) {
    const floor = contenders[`floor_${where}`];
    report({ bench: 'startup', database: 'pglite_floor', start: where, figure: 'ms_process', ...figure(floor), open_ms: median(floor.openMs) });
  }
}
