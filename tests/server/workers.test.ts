import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresForTests, root, type TestDatabase } from '../support/databases.js';
import { ADMIN_TOKEN, freePort, graphqlClient, spawnServer, subscribe, wsClient, type ServerProcess } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';
import { probeUntil, waitFor as waitForFact } from '../support/wait.js';

const available = await postgresForTests('worker tests');

/**
 * Worker processes of a primary, including one that died and is not yet reaped: its `node`
 * children. (tsx also gives the primary `esbuild` children while its transform cache is cold.)
 * By command line, not process name: Node 24 names its main thread `MainThread`, and a reaped-late
 * worker shows that name in brackets.
 */
function workersOf(pid: number): number[] {
  const out = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\S+)/.exec(line))
    .filter((match) => match !== null && /(^|\/)node$|^\[(node|MainThread)\]$/.test(match[2]!))
    .map((match) => Number(match![1]));
}

/** GET /healthz on a connection of its own (fetch would reuse a pooled one). */
function healthOverNewConnection(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/healthz`, { agent: false, timeout: 5000 }, (res) => (res.resume(), resolve(res.statusCode)))
      .on('timeout', () => reject(new Error('no answer within 5 s')))
      .on('error', reject);
  });
}

const waitFor = (check: () => boolean) => waitForFact(check, { timeout: 20_000 });

describe.runIf(available)('INTAKE_WORKERS=2 on PostgreSQL', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let smtpPort: number;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    smtpPort = await freePort();
    const env = { ...database.env, INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, MAIL_DOMAIN: 'intake.test', INTAKE_WORKERS: '2', SMTP_PORT: String(smtpPort) } as Record<string, string>;
    server = await spawnServer(env, await freePort());
    await waitFor(() => server.output().includes('Intake is running'));
  }, 90_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await database?.drop();
  });

  it('runs two worker processes behind one port, prints the banner once, and serves HTTP, WebSocket and SMTP', async () => {
    expect(server.output()).toContain('Intake is running (PostgreSQL, 2 worker processes)');
    expect(server.output().match(/Intake is running/g)).toHaveLength(1);
    expect(workersOf(server.child.pid!)).toHaveLength(2);

    const admin = graphqlClient(`${server.url}/graphql`, ADMIN_TOKEN);
    const { teams } = await admin.request<any>(`{ teams { id emailAlias { address } } }`);
    const team = teams[0];
    // Each new connection may land on either worker; events reach subscribers on both.
    const sockets = [wsClient(`${server.url.replace('http', 'ws')}/graphql`, ADMIN_TOKEN), wsClient(`${server.url.replace('http', 'ws')}/graphql`, ADMIN_TOKEN)];
    const subs = sockets.map((s) => subscribe(s, `subscription { ticketCreated { node { title channel } } }`));
    // The workers' subscriptions cannot be counted from here: probe tickets of another team
    // reaching both subscribers prove they listen.
    const { createTeam: probeTeam } = await admin.request<any>(`mutation { createTeam(input: { name: "Probes" }) { team { id } } }`);
    await probeUntil(
      () => subs.every((sub) => sub.events.length > 0),
      () => admin.request(`mutation ($t: ID!) { createTicket(input: { teamId: $t, title: "probe" }) { ticket { id } } }`, { t: probeTeam.team.id }),
    );
    const sent = await deliver(smtpPort, { from: 'ann@example.com', to: team.emailAlias.address, raw: mail({ from: 'Ann <ann@example.com>', to: team.emailAlias.address, subject: 'Printer on fire' }) });
    expect(sent.ok).toBe(true);
    for (const sub of subs) {
      await waitFor(() => sub.events.some((e) => e.ticketCreated.node.title === 'Printer on fire'));
      expect(sub.events.filter((e) => e.ticketCreated.node.title !== 'probe').map((e) => e.ticketCreated.node)).toEqual([{ title: 'Printer on fire', channel: 'EMAIL' }]);
    }
    const { tickets } = await admin.request<any>(`query ($t: ID!) { tickets(first: 5, filter: { teamId: $t }) { nodes { title customer { email } } } }`, { t: team.id });
    expect(tickets.nodes).toEqual([{ title: 'Printer on fire', customer: { email: 'ann@example.com' } }]);
    await Promise.all(sockets.map((s) => s.dispose()));
  });

  it('replaces a worker that dies and keeps answering meanwhile', async () => {
    const [victim, survivor] = workersOf(server.child.pid!);
    process.kill(victim!, 'SIGKILL');
    // Connections the dead worker held are reset (their clients retry); once the primary has
    // reaped it, every new connection goes to the survivor until the replacement is up.
    await waitFor(() => !workersOf(server.child.pid!).includes(victim!));
    for (let i = 0; i < 5; i++) expect(await healthOverNewConnection(server.url)).toBe(200);
    await waitFor(() => {
      const now = workersOf(server.child.pid!);
      return now.length === 2 && now.includes(survivor!) && !now.includes(victim!);
    });
    expect(server.output()).toContain('worker exited, starting another');
  }, 60_000);

  it('stops every worker within 5 s on SIGTERM', async () => {
    const workers = workersOf(server.child.pid!);
    const { code, ms } = await server.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
    const alive = workers.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});

describe('INTAKE_WORKERS with the embedded database', () => {
  it('refuses to start: the embedded database belongs to one process', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), 'start'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: '', INTAKE_WORKERS: '2', INTAKE_DATA_DIR: path.join(root, 'tests/.tmp/never-created') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('INTAKE_WORKERS above 1 needs DATABASE_URL');
  });
});
