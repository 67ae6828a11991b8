import { sql } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { createTeam as createTeamService } from '../../src/teams/service.js';
import { suitePostgresUrl } from '../support/databases.js';
import { startOutageHarness, type OutageHarness } from '../support/outage.js';
import { createTeam } from '../support/fixtures.js';
import { graphqlClient, ADMIN_TOKEN, MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { smtpDialogue } from '../support/smtp.js';
import { waitFor } from '../support/wait.js';

/**
 * The team directory answers RCPT TO from memory (issue 24) and stays exact: a change through
 * this instance is seen by the next RCPT, one through another instance or SQL (with its
 * notification) once the notification arrives, and while the hub does not listen RCPT reads the
 * database again.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const alias = (localPart: string, domain = MAIL_DOMAIN) => `${localPart}@${domain}`;

/** The reply to one RCPT TO on a fresh SMTP session of `port`, and the statements `app` sent meanwhile. */
async function rcpt(to: string, { port = server.smtpPort, app = server.app, from = 'ann@example.com' } = {}): Promise<{ reply: string; statements: number }> {
  const smtp = await smtpDialogue(port);
  try {
    await smtp.send('EHLO client.example');
    await smtp.send(`MAIL FROM:<${from}>`);
    let statements = 0;
    const stop = app.database.watchStatements(() => statements++);
    try {
      return { reply: await smtp.send(`RCPT TO:<${to}>`), statements };
    } finally {
      stop();
    }
  } finally {
    smtp.close();
  }
}

async function updateTeam(input: Record<string, unknown>, client = server.client()) {
  const { updateTeam } = await client.request<any>(gql`mutation ($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id } userErrors { code } } }`, { input });
  expect(updateTeam.userErrors).toEqual([]);
}

/** RCPT TO answered from memory: a first one reads the directory, the next costs no statement. */
async function expectAnsweredFromMemory(to: string, options: Parameters<typeof rcpt>[1] = {}) {
  await rcpt(to, options);
  const warm = await rcpt(to, options);
  expect(warm.reply).toMatch(/^250/);
  expect(warm.statements).toBe(0);
}

describe('recipient checks from the team directory', () => {
  it('sees a change made through GraphQL on this instance at the very next RCPT', async () => {
    const team = await createTeam(server, 'Directory Desk');
    await expectAnsweredFromMemory(alias('directory-desk'));

    await updateTeam({ id: team.id, useEmailAlias: false });
    expect((await rcpt(alias('directory-desk'))).reply).toMatch(/^550 5\.1\.1 /);

    await updateTeam({ id: team.id, useEmailAlias: true, emailAlias: 'front-desk' });
    expect((await rcpt(alias('directory-desk'))).reply).toMatch(/^550 5\.1\.1 /);
    expect((await rcpt(alias('front-desk'))).reply).toMatch(/^250/);

    await updateTeam({ id: team.id, emailAliasContactPolicy: 'KNOWN_CUSTOMERS', emailAliasRefusalText: 'Known customers only' });
    expect((await rcpt(alias('front-desk'), { from: 'stranger@example.com' })).reply).toMatch(/^550 5\.7\.1 Known customers only/);
    await updateTeam({ id: team.id, emailAliasRefusalText: 'Write to sales instead' });
    expect((await rcpt(alias('front-desk'), { from: 'stranger@example.com' })).reply).toMatch(/^550 5\.7\.1 Write to sales instead/);
    await updateTeam({ id: team.id, emailAliasContactPolicy: 'EVERYONE' });
    expect((await rcpt(alias('front-desk'), { from: 'stranger@example.com' })).reply).toMatch(/^250/);
  });

  it('sees mail domains added and removed, and new teams, at the next RCPT', async () => {
    await expectAnsweredFromMemory(alias('front-desk'));
    expect((await rcpt(alias('postmaster', 'support.directory.example'))).reply).toMatch(/^550 5\.7\.1 .*relaying denied/);
    const { addMailDomain } = await server.client().request<any>(gql`mutation { addMailDomain(input: { domain: "support.directory.example" }) { userErrors { code } } }`);
    expect(addMailDomain.userErrors).toEqual([]);
    expect((await rcpt(alias('postmaster', 'support.directory.example'))).reply).toMatch(/^250/);
    const { removeMailDomain } = await server.client().request<any>(gql`mutation { removeMailDomain(input: { domain: "support.directory.example" }) { userErrors { code } } }`);
    expect(removeMailDomain.userErrors).toEqual([]);
    expect((await rcpt(alias('postmaster', 'support.directory.example'))).reply).toMatch(/^550 5\.7\.1 .*relaying denied/);

    await createTeam(server, 'Brand New Desk');
    expect((await rcpt(alias('brand-new-desk'))).reply).toMatch(/^250/);
  });

  it('sees a change made in SQL once its notification is sent', async () => {
    const team = await createTeam(server, 'Sql Desk');
    await expectAnsweredFromMemory(alias('sql-desk'));
    await server.app.database.db.execute(sql`update teams set use_email_alias = false where alias_local_part = 'sql-desk'`);
    await server.app.database.db.execute(sql`select pg_notify('intake_events', '{"type":"teamDirectoryChanged"}')`);
    await waitFor(async () => /^550/.test((await rcpt(alias('sql-desk'))).reply), { what: 'the SQL change seen at RCPT' });
    await updateTeam({ id: team.id, useEmailAlias: true });
    expect((await rcpt(alias('sql-desk'))).reply).toMatch(/^250/);
  });
});

describe.runIf(suitePostgresUrl)('recipient checks with two instances on one PostgreSQL', () => {
  let second: App;

  beforeAll(async () => {
    second = await startApp(server.app.config);
  });
  afterAll(async () => {
    await second?.stop();
  });

  it('sees a change made through the other instance once its notification arrives', async () => {
    const team = await createTeam(server, 'Shared Desk');
    await expectAnsweredFromMemory(alias('shared-desk'));
    await expectAnsweredFromMemory(alias('shared-desk'), { port: second.smtp.port, app: second });

    const other = graphqlClient(`${second.http.url}/graphql`, ADMIN_TOKEN);
    await updateTeam({ id: team.id, useEmailAlias: false }, other);
    // On the instance that made it: at once.
    expect((await rcpt(alias('shared-desk'), { port: second.smtp.port, app: second })).reply).toMatch(/^550 5\.1\.1 /);
    // On the other: when the notification arrives (milliseconds after commit).
    const changed = performance.now();
    await waitFor(async () => /^550/.test((await rcpt(alias('shared-desk'))).reply), { what: 'the other instance’s change seen at RCPT' });
    expect(performance.now() - changed).toBeLessThan(5000);

    await updateTeam({ id: team.id, useEmailAlias: true, emailAlias: 'shared-front' }, other);
    await waitFor(async () => /^250/.test((await rcpt(alias('shared-front'))).reply), { what: 'the new alias accepted by the other instance' });
    expect((await rcpt(alias('shared-desk'))).reply).toMatch(/^550 5\.1\.1 /);
  });
});

describe.runIf(suitePostgresUrl)('recipient checks while the hub does not listen', () => {
  let harness: OutageHarness | undefined;
  beforeAll(async () => {
    harness = await startOutageHarness();
  }, 60_000);
  afterAll(async () => {
    await harness?.stop();
  });

  it('reads the database for each RCPT while the LISTEN connection is lost, and answers from memory again once it is back', async () => {
    const { app, admin, name, writer } = harness!;
    await createTeamDirectly(app, 'Outage Desk');
    const options = { port: app.smtp.port, app };
    await expectAnsweredFromMemory('outage-desk@intake.test', options);
    // The pool's connections stay; only the hub's LISTEN connection goes and cannot come back yet.
    await admin.unsafe(`alter database "${name}" allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and application_name = 'intake-listen' and query = 'listen "intake_events"'`;
    await waitFor(() => !app.events.isListening(), { what: 'the hub to see its LISTEN connection gone' });
    // Changed elsewhere, its notification lost with the connection: read at the next RCPT all the same.
    await writer.db.execute(sql`update teams set use_email_alias = false where alias_local_part = 'outage-desk'`);
    await writer.db.execute(sql`select pg_notify('intake_events', '{"type":"teamDirectoryChanged"}')`);
    const during = await rcpt('outage-desk@intake.test', options);
    expect(during.reply).toMatch(/^550 5\.1\.1 /);
    expect(during.statements).toBeGreaterThan(0);
    await writer.db.execute(sql`update teams set use_email_alias = true where alias_local_part = 'outage-desk'`);
    expect((await rcpt('outage-desk@intake.test', options)).reply).toMatch(/^250/);

    await admin.unsafe(`alter database "${name}" allow_connections true`);
    await waitFor(() => app.events.isListening(), { timeout: 20_000, what: 'the LISTEN connection back' });
    await waitFor(async () => (await rcpt('outage-desk@intake.test', options)).statements === 0, { what: 'RCPT answered from memory again' });
    expect((await rcpt('outage-desk@intake.test', options)).reply).toMatch(/^250/);
  });
});

async function createTeamDirectly(app: App, name: string) {
  return createTeamService(app.database.db, app.config, { name });
}
