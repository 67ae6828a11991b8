import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';
import { encodeCursor } from '../../src/events/hub.js';
import { ADMIN_TOKEN, freePort, graphqlClient, spawnServer, subscribe, wsClient, type ServerProcess } from '../support/server.js';
import { probeUntil, waitFor } from '../support/wait.js';

// Several instances need a shared PostgreSQL. CI always has one; a newcomer without one is told.
const available = await postgresForTests('cross-instance tests');

describe.runIf(available)('two server processes, one PostgreSQL', () => {
  let database: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const env = { ...database.env, INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, MAIL_DOMAIN: 'intake.test' } as Record<string, string>;
    [a, b] = await Promise.all([spawnServer(env, await freePort()), spawnServer(env, await freePort())]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it('delivers ticketCreated to a subscriber on B for a ticket created through A', async () => {
    const adminA = graphqlClient(`${a.url}/graphql`, ADMIN_TOKEN);
    const { createTeam } = await adminA.request<any>(`mutation { createTeam(input: { name: "Shared" }) { team { id } } }`);
    const socket = wsClient(`${b.url.replace('http', 'ws')}/graphql`, ADMIN_TOKEN);
    const sub = subscribe(socket, `subscription ($t: ID) { ticketCreated(teamId: $t) { node { title team { name } } } }`, { t: createTeam.team.id });
    const create = (title: string) => adminA.request(`mutation ($t: ID!, $title: String!) { createTicket(input: { teamId: $t, title: $title }) { ticket { id } } }`, { t: createTeam.team.id, title });
    // B's subscriptions cannot be counted from here: a probe ticket arriving proves it listens.
    let probes = 0;
    await probeUntil(() => sub.events.length > 0, () => create(`probe ${++probes}`));
    await create('from A');
    await waitFor(() => sub.events.some((e) => e.ticketCreated.node.title === 'from A'), { what: 'the ticket created through A, on B' });
    expect(sub.errors).toEqual([]);
    expect(sub.events.filter((e) => !e.ticketCreated.node.title.startsWith('probe')).map((e) => e.ticketCreated.node)).toEqual([{ title: 'from A', team: { name: 'Shared' } }]);
    await socket.dispose();
  });

  it('resumes on A with a cursor handed out by B: the missed tickets in order, then live ones', async () => {
    const adminA = graphqlClient(`${a.url}/graphql`, ADMIN_TOKEN);
    const adminB = graphqlClient(`${b.url}/graphql`, ADMIN_TOKEN);
    const { createTeam } = await adminA.request<any>(`mutation { createTeam(input: { name: "Resumed" }) { team { id } } }`);
    const teamId = createTeam.team.id;
    const create = (client: typeof adminA, title: string) => client.request(`mutation ($t: ID!, $title: String!) { createTicket(input: { teamId: $t, title: $title }) { ticket { id } } }`, { t: teamId, title });
    const query = `subscription ($t: ID, $after: String) { ticketCreated(teamId: $t, after: $after) { cursor node { title } } }`;
    const titles = (events: any[]) => events.map((e) => e.ticketCreated.node.title);

    const onB = wsClient(`${b.url.replace('http', 'ws')}/graphql`, ADMIN_TOKEN);
    // From the start of the stream: a fresh team's subscriber misses nothing, so it needs no wait.
    const first = subscribe(onB, query, { t: teamId, after: encodeCursor('ticketCreated', 0) });
    await create(adminA, 'seen on B');
    const [seen] = await first.waitFor(1);
    await onB.dispose();

    await create(adminA, 'missed 1');
    await create(adminB, 'missed 2');
    const onA = wsClient(`${a.url.replace('http', 'ws')}/graphql`, ADMIN_TOKEN);
    const resumed = subscribe(onA, query, { t: teamId, after: seen.ticketCreated.cursor });
    expect(titles(await resumed.waitFor(2))).toEqual(['missed 1', 'missed 2']);
    await create(adminB, 'live from B');
    expect(titles(await resumed.waitFor(3))).toEqual(['missed 1', 'missed 2', 'live from B']);
    await onA.dispose();
  });
});
