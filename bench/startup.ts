import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
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
 * Runs `npm start`'s command and returns the milliseconds from spawning node to the first 200 of
 * /healthz (polled every 10 ms), then stops the server with SIGTERM and waits for it to exit.
 */
async function timeToHealthy(env: Record<string, string>): Promise<number> {
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
      if (ok) return performance.now() - started;
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
async function pgliteFloor(dataDir: string): Promise<{ processMs: number; openMs: number }> {
  const script = `
    const { PGlite } = await import('@electric-sql/pglite');
    const started = performance.now();
    const db = new PGlite(${JSON.stringify(dataDir)});
    await db.query('select 1');
    process.stdout.write(String(performance.now() - started));
    await db.close();`;
  const started = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the PGlite floor script exited with ${code}`);
  return { processMs: performance.now() - started, openMs: Number(output) };
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
  const contenders = {
    pglite_first: [] as number[],
    pglite_later: [] as number[],
    postgres_first: [] as number[],
    postgres_later: [] as number[],
    floor_memory: [] as number[],
    floor_fresh_dir: [] as number[],
    floor_existing_dir: [] as number[],
    floor_open_memory: [] as number[],
    floor_open_fresh_dir: [] as number[],
    floor_open_existing_dir: [] as number[],
  };
  for (let round = 0; round < rounds; round++) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'intake-bench-startup-'));
    const floorDir = mkdtempSync(path.join(os.tmpdir(), 'intake-bench-pglite-'));
    try {
      contenders.pglite_first.push(await timeToHealthy({ DATABASE_URL: '', INTAKE_DATA_DIR: dataDir }));
      contenders.pglite_later.push(await timeToHealthy({ DATABASE_URL: '', INTAKE_DATA_DIR: dataDir }));
      const url = await freshDatabase(DB);
      contenders.postgres_first.push(await timeToHealthy({ DATABASE_URL: url, INTAKE_DATA_DIR: dataDir }));
      contenders.postgres_later.push(await timeToHealthy({ DATABASE_URL: url, INTAKE_DATA_DIR: dataDir }));
      for (const [name, dir] of [['memory', 'memory://'], ['fresh_dir', floorDir], ['existing_dir', floorDir]] as const) {
        const floor = await pgliteFloor(dir);
        contenders[`floor_${name}`].push(floor.processMs);
        contenders[`floor_open_${name}`].push(floor.openMs);
      }
      if (process.env.BENCH_VERBOSE) process.stderr.write(`round ${round + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(contenders).map(([k, v]) => [k, Math.round(v.at(-1)!)])))}\n`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(floorDir, { recursive: true, force: true });
    }
  }
  await dropDatabase(DB);
  const figure = (values: number[]) => ({ ms: median(values), rounds: values.map(Math.round) });
  for (const database of ['pglite', 'postgres'] as const) {
    for (const start of ['first', 'later'] as const) {
      const target = database === 'pglite' ? { first: 3000, later: 1500 }[start] : undefined;
      report({ bench: 'startup', database, start, figure: 'ms_to_healthy', ...figure(contenders[`${database}_${start}`]), ...(target ? { target_ms: target } : {}) });
    }
  }
  // The floor: a bare node process opening PGlite; open_ms is `new PGlite` + one query alone.
  for (const where of ['memory', 'fresh_dir', 'existing_dir'] as const) {
    report({ bench: 'startup', database: 'pglite_floor', start: where, figure: 'ms_process', ...figure(contenders[`floor_${where}`]), open_ms: median(contenders[`floor_open_${where}`]) });
  }
}
