import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSupportedNode, MINIMUM_NODE } from '../../bin/node-version.mjs';
import { createTestDatabase, root } from '../support/databases.js';
import { freePort, spawnServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
/** The Node npm brings (package.json), which npm scripts run on. */
const pinnedMajor = pkg.devDependencies.node!.split('.')[0]!;
/** The Node the suite runs on: npm's, unless CI runs it on another on purpose. */
const expectedMajor = process.env.INTAKE_TEST_NODE_MAJOR ?? pinnedMajor;

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('the Node runtime', () => {
  it(`runs the tests, and the servers they start, on Node ${expectedMajor}`, async () => {
    expect(process.version).toMatch(new RegExp(`^v${expectedMajor}\\.`));
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const server = await spawnServer({ ...database.env, INTAKE_ADMIN_TOKEN: 'runtime-token', LOG_LEVEL: 'info' } as Record<string, string>, await freePort());
    cleanups.push(async () => void (await server.stop('SIGKILL')));
    await waitFor(() => logLine(server.output(), 'started') !== undefined, { what: 'the started log line' });
    expect(logLine(server.output(), 'started')!.node).toMatch(new RegExp(`^v${expectedMajor}\\.`));
  }, 90_000);

  it('declares the minimum Node the server checks for', () => {
    expect(pkg.engines.node).toBe(`>=${MINIMUM_NODE.replace(/\.0$/, '')}`);
  });

  // The machine's own Node (Debian's) stands in for an operator's outdated one; npm's comes first on PATH in tests.
  const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((node) => {
    const run = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    return run.status === 0 && !isSupportedNode(run.stdout.trim());
  });
  it.skipIf(!oldNode)(`refuses an older Node (${oldNode ?? 'none on this machine'}) with one line saying what is needed and how to get it`, () => {
    for (const args of [['bin/intake.mjs', 'start'], ['--import', 'tsx', 'src/main.ts', 'migrate']]) {
      const run = spawnSync(oldNode!, args, { cwd: root, encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', INTAKE_DATA_DIR: path.join(root, 'tests/.tmp/never-created') } });
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`Intake needs Node.js ${MINIMUM_NODE} or newer`);
      expect(lines[0]).toContain('install Node 24 LTS');
    }
  });
});

describe('npm start under a supervisor', () => {
  for (const target of ['npm alone', "npm's process group"] as const) {
    it(`ends in the server's graceful shutdown, with no server process left, on SIGTERM to ${target}`, async () => {
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const port = await freePort();
      let output = '';
      // detached: npm leads a process group of its own, as under a service manager.
      const npm = spawn('npm', ['start'], {
        cwd: root,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...database.env, HOST: '127.0.0.1', PORT: String(port), SMTP_PORT: '0', LOG_LEVEL: 'info', INTAKE_ADMIN_TOKEN: 'npm-token' },
      });
      npm.stdout!.on('data', (d) => (output += d));
      npm.stderr!.on('data', (d) => (output += d));
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
      const killLeftover = (pid: number | undefined) => void (pid && isAlive(pid) && process.kill(pid, 'SIGKILL'));
      cleanups.push(() => killLeftover(npm.pid));
      await waitFor(() => logLine(output, 'started') !== undefined || npm.exitCode !== null, { timeout: 60_000, what: 'the server started by npm start' });
      const serverPid = logLine(output, 'started')?.pid as number | undefined;
      cleanups.push(() => killLeftover(serverPid));
      expect(serverPid, output).toBeTypeOf('number');
      expect(serverPid).not.toBe(npm.pid);
      // Whatever node the PATH has, npm start runs the one npm brought.
      expect(logLine(output, 'started')!.node).toMatch(new RegExp(`^v${pinnedMajor}\\.`));
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

      process.kill(target === 'npm alone' ? npm.pid! : -npm.pid!, 'SIGTERM');
      const code = await exited;
      await waitFor(() => !isAlive(serverPid!), { what: 'the server process gone' });
      expect(logLine(output, 'shutting down')).toMatchObject({ signal: 'SIGTERM' });
      expect(logLine(output, 'stopped'), output).toMatchObject({ signal: 'SIGTERM' });
      expect(logLine(output, 'shutdown deadline passed, exiting')).toBeUndefined();
      expect(code).toBe(0);
    }, 90_000);
  }
});

function logLine(output: string, msg: string): Record<string, unknown> | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.msg === msg) return entry;
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
