import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openPostgres, type Database } from '../../src/db/client.js';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';
import { ADMIN_TOKEN, freePort, MAIL_DOMAIN, spawnServer, type ServerProcess } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { startRelay, type TestRelay } from './relay.js';
import { outboundMail, queueMail, untilStatus } from './support.js';

// Several instances need a shared PostgreSQL.
const available = await postgresForTests('outbox instance tests');

const FAST = { OUTBOUND_RETRY_BASE_SECONDS: '0.05', OUTBOUND_LEASE_MS: '1500', OUTBOUND_POLL_INTERVAL_MS: '200' };

describe.runIf(available)('the outbox with several instances on one PostgreSQL', () => {
  let database: TestDatabase;
  let direct: Database;
  let relay: TestRelay;
  let env: Record<string, string>;
  const apps: App[] = [];
  const processes: ServerProcess[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase();
    relay = await startRelay();
    env = { ...database.env, ...FAST, PORT: '0', SMTP_PORT: '0', MAIL_DOMAIN, INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', SMTP_RELAY_URL: relay.url };
    direct = openPostgres(database.env.DATABASE_URL!, { max: 4 });
  });
  afterAll(async () => {
    // A process killed already has its signalCode set and will not exit again.
    await Promise.all(processes.filter((p) => p.child.signalCode === null).map((p) => p.stop('SIGKILL')));
    await Promise.all(apps.map((app) => app.stop()));
    await relay?.close();
    await direct?.close();
    await database?.drop();
  });

  it('two instances send each mail once', async () => {
    const config = loadConfig(env);
    apps.push(await startApp(config), await startApp(config));
    // The relay answers slowly enough that both instances have mail in flight at once.
    relay.answer = () => 'accept';
    const queued: Array<{ id: number; messageId: string }> = [];
    for (let i = 0; i < 60; i++) queued.push(await queueMail(direct.db, config, null, { subject: `Mail ${i}` }));
    await waitFor(async () => (await Promise.all(queued.map((q) => outboundMail(direct.db, q.id)))).every((row) => row.status === 'SENT'), { timeout: 60_000, what: 'every mail SENT' });
    const copies = new Map<string, number>();
    for (const m of relay.received) copies.set(m.messageId!, (copies.get(m.messageId!) ?? 0) + 1);
    expect(queued.map((q) => copies.get(q.messageId))).toEqual(queued.map(() => 1));
    expect(relay.received).toHaveLength(60);
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  }, 90_000);

  it('kill -9 of the sending process in the middle of the SMTP transaction loses no mail: another instance sends it once its claim runs out, with the same Message-ID', async () => {
    const received = relay.received.length;
    relay.answer = ({ n }) => (n === received ? 'hold' : 'accept');
    const { PORT: _port, ...childEnv } = env;
    const child = await spawnServer(childEnv, await freePort());
    processes.push(child);
    const queued = await queueMail(direct.db, loadConfig(env), null, { subject: 'Sent through a crash' });
    // The child has sent DATA and waits for the relay's answer: it dies now.
    await waitFor(() => relay.received.length > received, { timeout: 60_000, what: 'the child sending the mail' });
    expect((await outboundMail(direct.db, queued.id)).status).toBe('SENDING');
    await child.stop('SIGKILL');
    relay.release();

    apps.push(await startApp(loadConfig(env)));
    const sent = await untilStatus(direct.db, queued.id, ['SENT'], 30_000);
    expect(sent.attempts).toBe(2);
    const copies = relay.received.filter((m) => m.messageId === queued.messageId);
    expect(copies.map((c) => c.answer)).toEqual(['hold', 'accept']);
  }, 120_000);
});
