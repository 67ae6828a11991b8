import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createApiToken } from '../../src/auth/service.js';
import { openPostgres, type Database } from '../../src/db/client.js';
import { createPostgresDatabase, postgresReachable, type TestDatabase } from '../support/databases.js';
import { ADMIN_TOKEN, freePort, graphqlClient, spawnServer, subscribe, wsClient, type ServerProcess } from '../support/server.js';
import { OPERATOR_FEED, USER_ERRORS, waitUntil } from './support.js';

// Several instances need a shared PostgreSQL.
const available = process.env.CI ? true : await postgresReachable();
if (!available) console.warn('live chat two-instance test skipped: no PostgreSQL at 127.0.0.1:5432 (set TEST_POSTGRES_URL)');

const ADDED = `subscription ($sessionId: ID!) { chatMessageAdded(sessionId: $sessionId) { cursor node { body author { kind } } } }`;

describe.runIf(available)('live chat across two server processes', () => {
  let database: TestDatabase;
  let direct: Database;
  let a: ServerProcess;
  let b: ServerProcess | undefined;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const env = { ...database.env, INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, MAIL_DOMAIN: 'intake.test' } as Record<string, string>;
    [a, b] = await Promise.all([spawnServer(env, await freePort()), spawnServer(env, await freePort())]);
    direct = openPostgres(database.env.DATABASE_URL!, { max: 2 });
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await direct?.close();
    await database?.drop();
  });

  it('a visitor on A and an operator on B chat both ways in order; killing B makes the channel unavailable within 60 s', async () => {
    const adminA = graphqlClient(`${a.url}/graphql`, ADMIN_TOKEN);
    const { createTeam } = await adminA.request<any>(`mutation { createTeam(input: { name: "Two Sites", useLiveChat: true }) { team { liveChatChannel { id } } } }`);
    const channelId = createTeam.team.liveChatChannel.id;
    const agent = await createAgent(direct.db, { name: 'Bea on B' });
    const { token } = await createApiToken(direct.db, { name: 'bea', role: 'AGENT', agentId: agent.id });
    await adminA.request(`mutation ($input: AddLiveChatOperatorsInput!) { addLiveChatOperators(input: $input) { ${USER_ERRORS} } }`, {
      input: { channelId, agentIds: [encodeGlobalID('Agent', String(agent.id))] },
    });

    const operatorB = graphqlClient(`${b!.url}/graphql`, token);
    await operatorB.request(`mutation { setOperatorStatus(input: { accepting: true }) { ${USER_ERRORS} } }`);
    const operatorSocket = wsClient(`${b!.url.replace('http', 'ws')}/graphql`, token);
    subscribe(operatorSocket, OPERATOR_FEED, { channelId });
    const availability = () => adminA.request<any>(`query ($id: ID!) { liveChatChannel(id: $id) { available } }`, { id: channelId }).then((r) => r.liveChatChannel.available as boolean);
    await waitUntil(availability, (up) => up);

    const { startLiveChat } = await graphqlClient(`${a.url}/graphql`, null).request<any>(
      `mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { id status } visitorToken ${USER_ERRORS} } }`,
      { input: { channelId, visitorName: 'Ada' } },
    );
    expect(startLiveChat.session.status).toBe('OPEN');
    const sessionId = startLiveChat.session.id;
    const visitorA = graphqlClient(`${a.url}/graphql`, startLiveChat.visitorToken);
    const visitorSocket = wsClient(`${a.url.replace('http', 'ws')}/graphql`, startLiveChat.visitorToken);
    const visitorSees = subscribe(visitorSocket, ADDED, { sessionId });
    const operatorSees = subscribe(operatorSocket, ADDED, { sessionId });
    await visitorSees.waitFor(1);
    await operatorSees.waitFor(1);

    const SEND = `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { id } ${USER_ERRORS} } }`;
    const expected = ['How may I help you?'];
    for (let i = 1; i <= 3; i++) {
      await visitorA.request(SEND, { input: { sessionId, body: `visitor ${i}` } });
      await operatorB.request(SEND, { input: { sessionId, body: `operator ${i}` } });
      expected.push(`visitor ${i}`, `operator ${i}`);
    }
    const onA = await visitorSees.waitFor(expected.length);
    const onB = await operatorSees.waitFor(expected.length);
    expect(onA.map((e) => e.chatMessageAdded.node.body)).toEqual(expected);
    expect(onB.map((e) => e.chatMessageAdded.node.body)).toEqual(expected);

    const killedAt = Date.now();
    await b!.stop('SIGKILL');
    // A killed process has no exit code to wait for in afterAll.
    b = undefined;
    await waitUntil(availability, (up) => !up, 60_000);
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    await visitorSocket.dispose();
  }, 120_000);
});
