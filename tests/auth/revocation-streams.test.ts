import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from 'graphql-request';
import WebSocket from 'ws';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';
import { createTeam, createToken } from '../support/fixtures.js';
import { ADMIN_TOKEN, graphqlClient, startTestServer, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

const CREATED = 'subscription { ticketCreated { node { title } } }';

/** A graphql-ws socket with one subscription, its events and how it closed. */
async function socketSubscription(wsUrl: string, token: string, query: string) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const events: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const acknowledged = new Promise<void>((resolve) =>
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') resolve();
      if (message.type === 'next') events.push(message.payload);
    }),
  );
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await acknowledged;
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
  return { socket, events, closed };
}

async function tokenId(client: ReturnType<typeof graphqlClient>, name: string): Promise<string> {
  const { apiTokens } = await client.request<any>(gql`{ apiTokens(first: 100) { nodes { id name } } }`);
  return apiTokens.nodes.find((t: any) => t.name === name).id;
}

const revoke = (client: ReturnType<typeof graphqlClient>, id: string) =>
  client.request<any>(gql`mutation ($t: ID!) { revokeApiToken(input: { tokenId: $t }) { apiToken { revokedAt } userErrors { code } } }`, { t: id });

describe('a revoked token on the instance that revoked it', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The default cache of 30 s: whatever ends the streams here is the revocation itself.
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('ends its graphql-ws sockets and SSE streams at once: no ticketCreated after the revocation', async () => {
    const team = await createTeam(server, 'Revoked Desk');
    const token = await createToken(server, 'AGENT', 'leaving agent');
    const before = server.app.events.activeSubscriptions();
    const ws = await socketSubscription(server.wsUrl, token, CREATED);
    const sse = sseSubscribe(server.graphqlUrl, token, CREATED);
    await waitFor(() => server.app.events.activeSubscriptions() === before + 2, { what: 'both subscriptions open' });
    const create = (title: string) => server.client().request(gql`mutation ($t: ID!, $title: String!) { createTicket(input: { teamId: $t, title: $title }) { ticket { id } } }`, { t: team.id, title });
    await create('before revocation');
    await waitFor(() => ws.events.length === 1 && sse.events.length === 1, { what: 'the first ticket on both streams' });

    expect((await revoke(server.client(), await tokenId(server.client(), 'leaving agent'))).revokeApiToken.userErrors).toEqual([]);
    expect(await ws.closed).toEqual({ code: 4401, reason: expect.stringMatching(/revoked/i) });
    await sse.ended;
    expect(sse.events.at(-1)).toEqual({ errors: [expect.objectContaining({ message: expect.stringMatching(/revoked/i), extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })] });
    await waitFor(() => server.app.events.activeSubscriptions() === before, { what: 'the subscriptions gone' });

    await create('after revocation');
    // A subscription that still listened would now get it: the admin's proves the event went out.
    const probe = sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, 'subscription { ticketCreated(after: null) { node { title } } }');
    await waitFor(() => server.app.events.activeSubscriptions() === before + 1, { what: 'the probe subscription' });
    await create('probe');
    await probe.waitFor(1);
    await probe.close();
    expect(ws.events.map((e) => e.data?.ticketCreated?.node.title)).toEqual(['before revocation']);
    expect(sse.events.filter((e) => e.data).map((e) => e.data.ticketCreated.node.title)).toEqual(['before revocation']);
  });
});

// Several instances need a shared PostgreSQL. CI always has one; a newcomer without one is told.
const available = await postgresForTests('token revocation across instances');

describe.runIf(available)('a token revoked through another instance', () => {
  const CACHE_MS = 1000;
  let database: TestDatabase;
  let a: App;
  let b: App;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const config = loadConfig({ ...database.env, PORT: '0', SMTP_PORT: '0', INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, MAIL_DOMAIN: 'intake.test', LOG_LEVEL: 'silent', TOKEN_CACHE_MS: String(CACHE_MS) });
    a = await startApp(config);
    b = await startApp(config);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it(`ends its streams on the other instance within TOKEN_CACHE_MS (${CACHE_MS} ms)`, async () => {
    const adminA = graphqlClient(`${a.http.url}/graphql`, ADMIN_TOKEN);
    const { createAgent } = await adminA.request<any>(gql`mutation { createAgent(input: { name: "Far Agent" }) { agent { id } } }`);
    const { createApiToken } = await adminA.request<any>(gql`mutation ($a: ID!) { createApiToken(input: { name: "far token", role: AGENT, agentId: $a }) { token apiToken { id } } }`, { a: createAgent.agent.id });
    const token = createApiToken.token as string;
    const ws = await socketSubscription(`${b.http.url.replace('http', 'ws')}/graphql`, token, CREATED);
    const sse = sseSubscribe(`${b.http.url}/graphql`, token, CREATED);
    await waitFor(() => b.events.activeSubscriptions() === 2, { what: 'both subscriptions open on B' });

    const revokedAt = Date.now();
    await revoke(adminA, createApiToken.apiToken.id);
    expect(await ws.closed).toEqual({ code: 4401, reason: expect.stringMatching(/revoked/i) });
    await sse.ended;
    const ms = Date.now() - revokedAt;
    await waitFor(() => b.events.activeSubscriptions() === 0, { what: 'the subscriptions gone on B' });
    // Logged for the report; the bound itself is the sweep's interval, not a timing assertion.
    console.info(`streams of a token revoked on A ended on B after ${ms} ms (TOKEN_CACHE_MS ${CACHE_MS})`);
  });
});
