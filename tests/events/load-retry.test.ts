import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { encodeCursor } from '../../src/events/hub.js';
import { idOf } from '../../src/graphql/user-errors.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createTicket } from '../../src/tickets/service.js';
import { postgresForTests } from '../support/databases.js';
import { startOutageHarness, type OutageHarness } from '../support/outage.js';
import { ADMIN_TOKEN, graphqlClient, subscribe, wsClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';

// The database refusing the load of an event's rows needs a real PostgreSQL. CI always has one.
const available = await postgresForTests('event load retry tests');

/** The app's own logger, also telling the test which messages it wrote. */
function recordingLogger(messages: string[]): Logger {
  const inner = createLogger('silent');
  const record = (msg: string) => void messages.push(msg);
  return {
    debug: (msg, fields) => (record(msg), inner.debug(msg, fields)),
    info: (msg, fields) => (record(msg), inner.info(msg, fields)),
    warn: (msg, fields) => (record(msg), inner.warn(msg, fields)),
    error: (msg, fields) => (record(msg), inner.error(msg, fields)),
    child: () => recordingLogger(messages),
  };
}

describe.runIf(available)('an event whose rows cannot be loaded', () => {
  let app: App;
  let admin: postgres.Sql;
  let writer: Database;
  let name: string;
  const logged: string[] = [];

  let harness: OutageHarness | undefined;

  beforeAll(async () => {
    harness = await startOutageHarness({ log: recordingLogger(logged) });
    ({ app, admin, writer, name } = harness);
  }, 60_000);

  afterAll(async () => {
    await harness?.stop();
  });

  it('is retried until the database answers, not skipped: live subscribers and resuming ones get it, in order', async () => {
    const client = graphqlClient(`${app.http.url}/graphql`, ADMIN_TOKEN);
    const { createTeam } = await client.request<any>(`mutation { createTeam(input: { name: "Refused" }) { team { id } } }`);
    const teamId = createTeam.team.id;
    const create = (title: string) => client.request(`mutation ($t: ID!, $title: String!) { createTicket(input: { teamId: $t, title: $title }) { ticket { id } } }`, { t: teamId, title });
    const socket = wsClient(`${app.http.url.replace('http', 'ws')}/graphql`, ADMIN_TOKEN);
    const query = `subscription ($t: ID, $after: String) { ticketCreated(teamId: $t, after: $after) { cursor node { title } } }`;
    const titles = (events: any[]) => events.map((e) => e.ticketCreated.node.title);
    const live = subscribe(socket, query, { t: teamId, after: encodeCursor('ticketCreated', 0) });
    await create('before');
    const [before] = await live.waitFor(1);

    // The LISTEN connection stays; the pool's connections go, and new ones are refused.
    const writerPid = (await writer.rows<{ pid: number }>(sql`select pg_backend_pid() as pid`))[0]!.pid;
    await admin.unsafe(`alter database "${name}" allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and application_name = 'intake' and pid <> ${writerPid}`;
    const failuresBefore = logged.filter((m) => m.startsWith('event delivery failed')).length;
    await createTicket(writer.db, { teamId: idOf(teamId, 'Team')!, title: 'refused', channel: 'API' });
    // The hub heard of it and could not load the ticket.
    await waitFor(() => logged.filter((m) => m.startsWith('event delivery failed')).length > failuresBefore, { what: 'a failed load of the event' });
    await admin.unsafe(`alter database "${name}" allow_connections true`);

    await create('after');
    expect(titles(await live.waitFor(3))).toEqual(['before', 'refused', 'after']);
    // A subscriber resuming after the cursor before the outage gets the same, and the cursor
    // handed out for 'after' comes after 'refused'.
    const resumed = subscribe(socket, query, { t: teamId, after: before.ticketCreated.cursor });
    expect(titles(await resumed.waitFor(2))).toEqual(['refused', 'after']);
    const afterRefused = subscribe(socket, query, { t: teamId, after: live.events[1].ticketCreated.cursor });
    expect(titles(await afterRefused.waitFor(1))).toEqual(['after']);
    expect(live.errors).toEqual([]);
    await socket.dispose();
  });
});
