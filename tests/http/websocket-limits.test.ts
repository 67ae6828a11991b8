import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from 'graphql-request';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN_TOKEN, startTestServer, subscribe, type TestServer } from '../support/server.js';

/** A raw graphql-ws socket: open, and acknowledged when a token (or null for none) is given. */
async function rawSocket(url: string, options: { token?: string | null; from?: string; forwardedFor?: string; autoPong?: boolean } = {}) {
  const socket = new WebSocket(url, 'graphql-transport-ws', {
    localAddress: options.from,
    headers: options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {},
    autoPong: options.autoPong ?? true,
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const pings: number[] = [];
  socket.on('ping', () => pings.push(Date.now()));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  if (options.token !== undefined) {
    const acknowledged = new Promise<void>((resolve) => socket.on('message', (data) => JSON.parse(String(data)).type === 'connection_ack' && resolve()));
    socket.send(JSON.stringify({ type: 'connection_init', payload: options.token ? { authorization: `Bearer ${options.token}` } : {} }));
    await acknowledged;
  }
  return { socket, closed, pings };
}

/** The HTTP status a refused upgrade answered with. */
function refusedStatus(url: string, from: string, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { localAddress: from, headers: { 'x-forwarded-for': forwardedFor } });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the socket was accepted'));
    });
  });
}

/** Runs a query over an open raw socket and resolves with its first result. */
function query(socket: WebSocket, id: string, text: string): Promise<any> {
  return new Promise((resolve) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.id === id && message.type === 'next') resolve(message.payload);
    });
    socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: text } }));
  });
}

describe('graphql-ws limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3', WS_MAX_SOCKETS_PER_CLIENT: '3', WS_ANONYMOUS_GRACE_MS: '300', TRUSTED_PROXIES: '127.0.0.2' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a subscribe past the per-socket cap with an error, and keeps the socket and its subscriptions', async () => {
    const client = server.wsClient();
    const open = [1, 2, 3].map(() => subscribe(client, 'subscription { ticketCreated { node { title } } }'));
    const extra = subscribe(client, 'subscription { ticketCreated { node { title } } }');
    await expect(extra.waitFor(1)).rejects.toThrow(/TOO_MANY_SUBSCRIPTIONS|At most 3 operations/);
    const { createTeam } = await server.client().request<any>(gql`mutation { createTeam(input: { name: "Socket Desk" }) { team { id } } }`);
    await server.client().request(gql`mutation ($t: ID!) { createTicket(input: { teamId: $t, title: "Seen by all three", customerEmail: "ws@example.com" }) { ticket { id } } }`, { t: createTeam.team.id });
    for (const sub of open) expect(await sub.waitFor(1)).toEqual([{ ticketCreated: { node: { title: 'Seen by all three' } } }]);
    open.forEach((sub) => sub.dispose());
  });

  // Each case connects from its own loopback address (127.0.0.2 is the trusted proxy), so sockets
  // closed by an earlier case cannot still count against it.
  it('refuses the upgrade past the per-address cap, counting forwarded clients apart only behind the trusted proxy', async () => {
    const viaProxy = await Promise.all([1, 2, 3].map(() => rawSocket(server.wsUrl, { token: ADMIN_TOKEN, from: '127.0.0.2', forwardedFor: '198.51.100.9, 203.0.113.1' })));
    expect(await refusedStatus(server.wsUrl, '127.0.0.2', '203.0.113.1')).toBe(429);
    const otherClient = await rawSocket(server.wsUrl, { token: ADMIN_TOKEN, from: '127.0.0.2', forwardedFor: '203.0.113.2' });

    const direct = await Promise.all(['203.0.113.3', '203.0.113.4', '203.0.113.5'].map((forwardedFor) => rawSocket(server.wsUrl, { token: ADMIN_TOKEN, from: '127.0.0.3', forwardedFor })));
    expect(await refusedStatus(server.wsUrl, '127.0.0.3', '203.0.113.6')).toBe(429);

    await Promise.all([...viaProxy, otherClient, ...direct].map(({ socket, closed }) => (socket.close(), closed)));
  });

  it('closes a socket that sends a client a message only servers send (next) with 4400, as a bad request', async () => {
    const { socket, closed } = await rawSocket(server.wsUrl, { token: ADMIN_TOKEN, from: '127.0.0.4' });
    socket.send(JSON.stringify({ id: '1', type: 'next', payload: { data: { x: 1 } } }));
    expect(await closed).toEqual({ code: 4400, reason: expect.stringMatching(/next/) });
  });

  it('closes a socket without a token after its grace period, and keeps an authenticated one open', async () => {
    const agent = await rawSocket(server.wsUrl, { token: ADMIN_TOKEN });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      createClient({ url: server.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => {}, on: { closed: (event: any) => resolve({ code: event.code, reason: event.reason }) } });
    });
    expect(await closed).toEqual({ code: 4401, reason: expect.stringMatching(/Authentication required/) });
    // The agent's socket opened first: had its grace not been lifted, it would have closed before.
    expect(agent.socket.readyState).toBe(WebSocket.OPEN);
    expect(await query(agent.socket, 'q1', '{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    agent.socket.close();
    await agent.closed;
  });
});

describe('graphql-ws keepalive', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WS_PING_INTERVAL_MS: '300' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('drops a socket that stops answering pings, and keeps one that answers', async () => {
    const answering = await rawSocket(server.wsUrl, { token: ADMIN_TOKEN });
    const silent = await rawSocket(server.wsUrl, { token: ADMIN_TOKEN, autoPong: false });
    const { code } = await silent.closed;
    expect(code).toBe(1006);
    expect(silent.pings.length).toBeGreaterThanOrEqual(1);
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    expect(answering.pings.length).toBeGreaterThanOrEqual(1);
    expect(await query(answering.socket, 'q1', '{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    answering.socket.close();
    await answering.closed;
  });
});
