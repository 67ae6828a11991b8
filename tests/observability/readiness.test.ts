import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppModule } from '../../src/app-module.js';
import { INTAKE_MODULES } from '../../src/modules.js';
import { postgresForTests } from '../support/databases.js';
import { startOutageHarness, type OutageHarness } from '../support/outage.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

async function readyz(url: string): Promise<{ status: number; body: { status: string; failing: string[]; checks: Record<string, string> } }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: await response.json() };
}

describe('/readyz', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A job that cannot finish a round, beside the app's own (the SLA breach watch among them).
    const stuck: AppModule = {
      name: 'stuck-probe',
      jobs: [
        {
          name: 'stuck probe',
          intervalMs: () => 50,
          run: async () => {
            throw new Error('this job never succeeds');
          },
        },
      ],
    };
    server = await startTestServer({}, { modules: [...INTAKE_MODULES, stuck] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('names each check, and goes unready with the name of a job that has not finished a round for three intervals', async () => {
    const first = await readyz(server.url);
    // Within its first three intervals the stuck job still counts as on time.
    if (first.status === 200) {
      expect(first.body).toMatchObject({ status: 'ready', failing: [], checks: { database: 'ok', migrations: 'ok', listen: 'ok', 'job: SLA breach watch': 'ok' } });
    }
    let late = first;
    await waitFor(async () => (late = await readyz(server.url)).status === 503, { what: '/readyz to go unready' });
    expect(late.body).toMatchObject({ status: 'unready', failing: ['job: stuck probe'], checks: { database: 'ok', migrations: 'ok', listen: 'ok', 'job: SLA breach watch': 'ok' } });
    expect(late.body.checks['job: stuck probe']).toMatch(/^no round finished for \d+ s \(every 0\.05 s\)$/);
    // /healthz only says the process and its database live.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

// Stopping the database needs a real PostgreSQL. CI always has one.
const available = await postgresForTests('readiness outage tests');

describe.runIf(available)('/readyz through a database outage', () => {
  let harness: OutageHarness | undefined;
  beforeAll(async () => {
    harness = await startOutageHarness();
  }, 60_000);
  afterAll(async () => {
    await harness?.stop();
  });

  // The event hub's LISTEN connection (live chat's relays LISTEN on connections of their own).
  const hubListener = () =>
    harness!.admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${harness!.name} and application_name = 'intake-listen' and query = 'listen "intake_events"'`;

  it('is ready, unready naming the database while it refuses connections, and ready again once it is back', async () => {
    const { app, admin, name } = harness!;
    expect(await readyz(app.http.url)).toMatchObject({ status: 200, body: { status: 'ready', failing: [] } });

    await admin.unsafe(`alter database "${name}" allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and application_name in ('intake', 'intake-listen')`;
    let down = await readyz(app.http.url);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unready');
    expect(down.body.failing).toContain('database');
    // The LISTEN connection's end reaches the process on its own socket, maybe a moment later.
    await waitFor(async () => (down = await readyz(app.http.url)).body.failing.includes('listen'), { what: '/readyz to name the LISTEN connection' });
    expect(down.body.failing).toEqual(['database', 'listen']);
    expect(down.body.checks).toMatchObject({ database: 'unreachable', listen: 'down' });

    await admin.unsafe(`alter database "${name}" allow_connections true`);
    let back = down;
    await waitFor(async () => (back = await readyz(app.http.url)).status === 200, { what: '/readyz ready again', timeout: 20_000 });
    expect(back.body).toMatchObject({ status: 'ready', failing: [], checks: { database: 'ok', migrations: 'ok', listen: 'ok' } });
  });

  it('is unready naming the LISTEN connection while it is lost, the database answering, and ready once it listens again', async () => {
    const { app, admin, name } = harness!;
    expect((await readyz(app.http.url)).status).toBe(200);
    // The pool's connections stay; only the LISTEN connection goes and cannot come back yet.
    await admin.unsafe(`alter database "${name}" allow_connections false`);
    const [listener] = await hubListener();
    expect(listener).toBeDefined();
    await admin`select pg_terminate_backend(${listener!.pid}::int)`;
    let lost = await readyz(app.http.url);
    await waitFor(async () => (lost = await readyz(app.http.url)).status === 503, { what: '/readyz to see the LISTEN connection gone' });
    expect(lost.body).toMatchObject({ status: 'unready', failing: ['listen'], checks: { database: 'ok', listen: 'down' } });

    await admin.unsafe(`alter database "${name}" allow_connections true`);
    await waitFor(async () => (await hubListener()).length === 1, { what: 'the LISTEN connection back' });
    let back = lost;
    await waitFor(async () => (back = await readyz(app.http.url)).status === 200, { what: '/readyz ready again' });
    expect(back.body.checks.listen).toBe('ok');
  });
});
