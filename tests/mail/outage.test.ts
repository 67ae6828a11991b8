import net from 'node:net';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openPostgres, type Database } from '../../src/db/client.js';
import { inboundMails } from '../../src/mail/tables.js';
import { parseIncomingMail, quarantineUnstorableMail } from '../../src/mail/service.js';
import { createPostgresDatabase, postgresForTests, realPostgresUrl, withDatabase, type TestDatabase } from '../support/databases.js';
import { ADMIN_TOKEN, graphqlClient } from '../support/server.js';
import { deliver, mail, smtpDialogue } from '../support/smtp.js';
import { waitFor } from '../support/wait.js';

// The database going away under the SMTP listener needs a real PostgreSQL. CI always has one.
const available = await postgresForTests('mail outage tests');

const LOOKUP_TIMEOUT_MS = 3000;

function appConfig(database: TestDatabase, env: Record<string, string> = {}) {
  return loadConfig({
    ...database.env,
    PORT: '0',
    HOST: '127.0.0.1',
    SMTP_PORT: '0',
    INTAKE_ADMIN_TOKEN: ADMIN_TOKEN,
    MAIL_DOMAIN: 'intake.test',
    LOG_LEVEL: 'silent',
    SMTP_LOOKUP_TIMEOUT_MS: String(LOOKUP_TIMEOUT_MS),
    MAIL_RETRY_INTERVAL_MS: '200',
    ...env,
  });
}

async function teamAlias(app: App, name: string): Promise<string> {
  const { createTeam } = await graphqlClient(`${app.http.url}/graphql`, ADMIN_TOKEN).request<any>(`mutation ($n: String!) { createTeam(input: { name: $n }) { team { emailAlias { address } } } }`, { n: name });
  return createTeam.team.emailAlias.address;
}

/**
 * A TCP hop between the server and PostgreSQL that a test can cut, as a failover does: the open
 * connections are reset and new ones refused until it is back.
 */
async function failoverProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await listen();
  return {
    port: () => port,
    async down() {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
      await closed;
    },
    up: listen,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}

describe.runIf(available)('mail while the database is unavailable', () => {
  let database: TestDatabase;
  let app: App;
  let admin: postgres.Sql;
  let direct: Database;
  let name: string;

  beforeAll(async () => {
    database = await createPostgresDatabase(realPostgresUrl);
    name = new URL(database.env.DATABASE_URL!).pathname.slice(1);
    app = await startApp(appConfig(database));
    admin = postgres(realPostgresUrl, { max: 1, onnotice: () => {} });
    direct = openPostgres(database.env.DATABASE_URL!, { max: 1 });
    await direct.rows(sql`select 1`);
  }, 60_000);

  afterAll(async () => {
    await admin?.unsafe(`alter database "${name}" allow_connections true`);
    await direct?.close();
    await app?.stop();
    await admin?.end({ timeout: 1 });
    await database?.drop();
  });

  /** The server's pool loses its connections and cannot open new ones (the test's own stays). */
  async function refuseConnections() {
    const pid = (await direct.rows<{ pid: number }>(sql`select pg_backend_pid() as pid`))[0]!.pid;
    await admin.unsafe(`alter database "${name}" allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and application_name = 'intake' and pid <> ${pid}`;
  }

  it('answers 451 at DATA when the database refuses to store the mail, and quarantines nothing; the retry is stored once', async () => {
    const alias = await teamAlias(app, 'Refusing');
    const message = mail({ from: 'Rita <rita@example.com>', to: alias, subject: 'Stored later', messageId: 'refused-1@example.com' });
    const smtp = await smtpDialogue(app.smtp.port);
    try {
      expect(await smtp.send('EHLO sender.example')).toMatch(/^250/);
      expect(await smtp.send('MAIL FROM:<rita@example.com>')).toMatch(/^250/);
      expect(await smtp.send(`RCPT TO:<${alias}>`)).toMatch(/^250/);
      expect(await smtp.send('DATA')).toMatch(/^354/);
      await refuseConnections();
      const started = Date.now();
      expect(await smtp.data(message)).toMatch(/^451 /);
      expect(Date.now() - started).toBeLessThan(LOOKUP_TIMEOUT_MS + 1000);
    } finally {
      smtp.close();
      await admin.unsafe(`alter database "${name}" allow_connections true`);
    }
    expect(await direct.db.select().from(inboundMails).where(eq(inboundMails.status, 'QUARANTINED'))).toEqual([]);

    const retried = await deliver(app.smtp.port, { from: 'rita@example.com', to: alias, raw: message });
    expect(retried).toMatchObject({ ok: true });
    const stored = await direct.db.select({ status: inboundMails.status, subject: inboundMails.subject }).from(inboundMails).where(eq(inboundMails.messageId, 'refused-1@example.com'));
    expect(stored).toEqual([{ status: 'PROCESSED', subject: 'Stored later' }]);
  });

  it('reprocesses by itself a mail quarantined earlier for a transient failure, once the database answers', async () => {
    const alias = await teamAlias(app, 'Quarantined Earlier');
    const raw = mail({ from: 'Quinn <quinn@example.com>', to: alias, subject: 'Kept by mistake', messageId: 'kept-1@example.com' });
    const [team] = await direct.rows<{ id: number }>(sql`select id from teams where name = 'Quarantined Earlier'`);
    const parsed = await parseIncomingMail({ raw: Buffer.from(raw), envelope: { mailFrom: 'quinn@example.com', rcptTo: [alias] }, teamIds: [team!.id] });
    // What an earlier version kept when the database was refusing connections: its reason
    // began "could not be stored: " whatever the cause.
    const refused = Object.assign(new Error(`database "${name}" is not currently accepting connections`), { code: '55000' });
    await quarantineUnstorableMail(direct.db, parsed, refused);
    await direct.db.update(inboundMails).set({ reason: `could not be stored: ${refused.message}` }).where(eq(inboundMails.teamId, team!.id));

    await waitFor(
      async () => (await direct.db.select().from(inboundMails).where(eq(inboundMails.teamId, team!.id)))[0]?.status === 'PROCESSED',
      { what: 'the quarantined mail processed' },
    );
    const [row] = await direct.db.select().from(inboundMails).where(eq(inboundMails.teamId, team!.id));
    expect(row).toMatchObject({ status: 'PROCESSED', messageId: 'kept-1@example.com', messageKey: 'kept-1@example.com', subject: 'Kept by mistake', fromAddress: 'quinn@example.com' });
    const tickets = await direct.rows<{ title: string }>(sql`select title from tickets where id = ${row!.ticketId}`);
    expect(tickets).toEqual([{ title: 'Kept by mistake' }]);
    // The sender's own retry is now a duplicate, not a second ticket.
    expect(await deliver(app.smtp.port, { from: 'quinn@example.com', to: alias, raw })).toMatchObject({ ok: true });
    const records = await direct.db.select({ status: inboundMails.status }).from(inboundMails).where(eq(inboundMails.teamId, team!.id));
    expect(records.map((r) => r.status).sort()).toEqual(['DUPLICATE', 'PROCESSED']);
  });

  it('answers 451 within SMTP_LOOKUP_TIMEOUT_MS when storing waits on the database; the mail is stored once whatever came of the wait', async () => {
    const alias = await teamAlias(app, 'Stalled');
    const message = mail({ from: 'sam@example.com', to: alias, subject: 'Stalled', messageId: 'stalled-1@example.com' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // Another session holds the raw mail table: the store waits for it, as on a stalled database.
    const holder = direct.db.transaction(async (tx) => {
      await tx.execute(sql`lock table raw_mails in access exclusive mode`);
      locked();
      await released;
    });
    await isLocked;
    const started = Date.now();
    const stalled = await deliver(app.smtp.port, { from: 'sam@example.com', to: alias, raw: message });
    const waited = Date.now() - started;
    release();
    await holder;
    expect(stalled).toMatchObject({ ok: false, code: 451 });
    expect(waited).toBeLessThan(LOOKUP_TIMEOUT_MS + 2000);
    // The sender's retry: stored once, whether or not the stalled attempt committed meanwhile.
    expect(await deliver(app.smtp.port, { from: 'sam@example.com', to: alias, raw: message })).toMatchObject({ ok: true });
    const stored = await direct.db.select({ status: inboundMails.status }).from(inboundMails).where(eq(inboundMails.messageId, 'stalled-1@example.com'));
    expect(stored.filter((r) => r.status !== 'DUPLICATE')).toEqual([{ status: 'PROCESSED' }]);
  });

  it('answers DATA within SMTP_LOOKUP_TIMEOUT_MS once PostgreSQL is back after a failover', async () => {
    const proxy = await failoverProxy({ host: new URL(realPostgresUrl).hostname, port: Number(new URL(realPostgresUrl).port || 5432) });
    const viaProxy = new URL(withDatabase(realPostgresUrl, name));
    viaProxy.port = String(proxy.port());
    const behind = await startApp(appConfig(database, { DATABASE_URL: viaProxy.toString() }));
    try {
      const alias = await teamAlias(behind, 'Failover');
      expect(await deliver(behind.smtp.port, { from: 'fay@example.com', to: alias, raw: mail({ from: 'fay@example.com', to: alias, subject: 'before' }) })).toMatchObject({ ok: true });
      await proxy.down();
      // Senders keep trying while the database is away; each attempt fails at once (refused).
      for (let i = 0; i < 12; i++) {
        const attempt = await deliver(behind.smtp.port, { from: 'fay@example.com', to: alias, raw: mail({ from: 'fay@example.com', to: alias, subject: `during ${i}` }) });
        expect(attempt).toMatchObject({ ok: false, code: 451 });
      }
      await proxy.up();
      const smtp = await smtpDialogue(behind.smtp.port);
      try {
        expect(await smtp.send('EHLO sender.example')).toMatch(/^250/);
        expect(await smtp.send('MAIL FROM:<fay@example.com>')).toMatch(/^250/);
        let started = Date.now();
        expect(await smtp.send(`RCPT TO:<${alias}>`)).toMatch(/^250/);
        expect(Date.now() - started).toBeLessThan(LOOKUP_TIMEOUT_MS);
        expect(await smtp.send('DATA')).toMatch(/^354/);
        started = Date.now();
        expect(await smtp.data(mail({ from: 'fay@example.com', to: alias, subject: 'after' }))).toMatch(/^250 /);
        expect(Date.now() - started).toBeLessThan(LOOKUP_TIMEOUT_MS);
      } finally {
        smtp.close();
      }
    } finally {
      await behind.stop();
      await proxy.close();
    }
  }, 60_000);
});
