import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { encodeCursor } from '../../src/events/hub.js';
import { idOf } from '../../src/graphql/user-errors.js';
import { createTicket } from '../../src/tickets/service.js';
import { postgresForTests } from '../support/databases.js';
import { startOutageHarness, type OutageHarness } from '../support/outage.js';
import { ADMIN_TOKEN, graphqlClient, subscribe, wsClient } from '../support/server.js';

// Terminating the LISTEN connection needs a real PostgreSQL. CI always has one.
const available = await postgresForTests('LISTEN reconnect tests');

describe.runIf(available)('a dropped LISTEN connection', () => {
  let app: App;
  let admin: postgres.Sql;
  let writer: Database;
  let name: string;

  let harness: OutageHarness | undefined;

  beforeAll(async () => {
    harness = await startOutageHarness();
    ({ app, admin, writer, name } = harness);
  }, 60_000);

  afterAll(async () => {
    await harness?.stop();
  });

  const listenerBackends = () => admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${name} and application_name = 'intake-listen'`;

  it('catches up from the log after the reconnect: every ticket committed meanwhile, exactly once', async () => {
    const client = graphqlClient(`${app.http.url}/graphql`, ADMIN_TOKEN);
    const { createTeam } = await client.request<any>(`mutation { createTeam(input: { name: "Outage" }) { team { id } } }`);
    const teamId = createTeam.team.id;
    const create = (title: string) => client.request(`mutation ($t: ID!, $title: String!) { createTicket(input: { teamId: $t, title: $title }) { ticket { id } } }`, { t: teamId, title });
    const socket = wsClient(`${app.http.url.replace('http', 'ws')}/graphql`, ADMIN_TOKEN);
    const query = `subscription ($t: ID, $after: String) { ticketCreated(teamId: $t, after: $after) { cursor node { title } } }`;
    const titles = (events: any[]) => events.map((e) => e.ticketCreated.node.title);
    // A live subscriber (registered once it has its first event) and one resuming from the start.
    const live = subscribe(socket, query, { t: teamId });
    const resuming = subscribe(socket, query, { t: teamId, after: encodeCursor('ticketCreated', 0) });
    // The live one is registered once it hears a ticket: send until it does.
    let createdBefore = 0;
    while (live.events.length === 0) {
      await create(`before ${createdBefore++}`);
      await live.waitFor(1, 2000).catch(() => {});
    }
    const liveBefore = live.events.length;
    const resumingBefore = (await resuming.waitFor(createdBefore)).length;
    expect(resumingBefore).toBe(createdBefore);

    await admin.unsafe(`alter database "${name}" allow_connections false`);
    const terminated = await admin`select pg_terminate_backend(pid) as done from pg_stat_activity where datname = ${name} and application_name = 'intake-listen'`;
    // The hub's LISTEN connection, and live chat's typing relay has one of its own.
    expect(terminated.length).toBeGreaterThan(0);
    expect(terminated.every((r) => r.done)).toBe(true);
    while ((await listenerBackends()).length > 0);

    const teamKey = idOf(teamId, 'Team')!;
    for (const title of ['during 1', 'during 2', 'during 3']) await createTicket(writer.db, { teamId: teamKey, title, channel: 'API' });
    expect(await listenerBackends()).toEqual([]);
    await admin.unsafe(`alter database "${name}" allow_connections true`);

    await create('after');
    const missedAndLive = ['during 1', 'during 2', 'during 3', 'after'];
    expect(titles(await live.waitFor(liveBefore + 4)).slice(liveBefore)).toEqual(missedAndLive);
    expect(titles(await resuming.waitFor(resumingBefore + 4)).slice(resumingBefore)).toEqual(missedAndLive);
    // Nothing twice: one more ticket is the very next event on both.
    await create('final');
    expect(titles(await live.waitFor(liveBefore + 5)).slice(liveBefore)).toEqual([...missedAndLive, 'final']);
    expect(titles(await resuming.waitFor(resumingBefore + 5)).slice(resumingBefore)).toEqual([...missedAndLive, 'final']);
    await socket.dispose();
  });
});
