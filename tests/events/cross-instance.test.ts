import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';
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
    const sub = subscribe(socket, `subscription ($t: ID) { ticketCreated(teamId: $t) { title team { name } } }`, { t: createTeam.team.id });
    const create = (title: string) => adminA.request(`mutation ($t: ID!, $title: String!) { createTicket(input: { teamId: $t, title: $title }) { ticket { id } } }`, { t: createTeam.team.id, title });
    // B's subscriptions cannot be counted from here: a probe ticket arriving proves it listens.
    let probes = 0;
    await probeUntil(() => sub.events.length > 0, () => create(`probe ${++probes}`));
    await create('from A');
    await waitFor(() => sub.events.some((e) => e.ticketCreated.title === 'from A'), { what: 'the ticket created through A, on B' });
    expect(sub.errors).toEqual([]);
    expect(sub.events.filter((e) => !e.ticketCreated.title.startsWith('probe')).map((e) => e.ticketCreated)).toEqual([{ title: 'from A', team: { name: 'Shared' } }]);
    await socket.dispose();
  });
});
