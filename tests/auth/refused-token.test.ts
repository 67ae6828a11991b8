import { createClient } from 'graphql-ws';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createToken } from '../support/fixtures.js';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { addOperators, createChatTeam, createOperator, goOnline, startChat } from '../livechat/support.js';

/**
 * A token that is sent but refused — unknown, revoked, malformed — is an UNAUTHENTICATED error
 * saying so, on every transport; only a request without a token is anonymous.
 */

let server: TestServer;
let revokedToken: string;
let refused: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  revokedToken = await createToken(server, 'AGENT', 'soon revoked');
  const { apiTokens } = await server.client().request<any>(gql`{ apiTokens { nodes { id name } } }`);
  const tokenId = apiTokens.nodes.find((t: { name: string }) => t.name === 'soon revoked').id;
  const { revokeApiToken } = await server.client().request<any>(gql`mutation ($t: ID!) { revokeApiToken(input: { tokenId: $t }) { userErrors { code } } }`, { t: tokenId });
  expect(revokeApiToken.userErrors).toEqual([]);
  refused = {
    unknown: 'Bearer intake_not-a-real-token',
    'unknown visitor token': 'Bearer intakev_not-a-real-token',
    revoked: `Bearer ${revokedToken}`,
    'not Bearer': 'Basic dXNlcjpwYXNz',
    'Bearer without a token': 'Bearer',
    'two words': 'Bearer a b',
  };
});
afterAll(async () => {
  await server?.stop();
});

async function post(authorization: string | null, query: string, accept = 'application/graphql-response+json') {
  const res = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...(authorization === null ? {} : { authorization }) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: accept === 'text/event-stream' ? await res.text() : await res.json() };
}

describe('a refused token over HTTP', () => {
  it('is 401 UNAUTHENTICATED saying the token was refused, also on public fields', async () => {
    for (const [why, authorization] of Object.entries(refused)) {
      for (const query of ['{ viewer { name } }', '{ teams { id } }', 'mutation { startLiveChat(input: { channelId: "x", visitorName: "V" }) { userErrors { code } } }']) {
        const answer = await post(authorization, query);
        expect(answer.status, `${why}: ${query}`).toBe(401);
        expect(answer.wwwAuthenticate).toBe('Bearer error="invalid_token"');
        expect(answer.body.errors).toEqual([{ message: expect.stringMatching(/^Authentication failed: .*(unknown or revoked|not "Bearer <token>")/), extensions: { code: 'UNAUTHENTICATED' } }]);
        expect(answer.body.data ?? null).toBeNull();
      }
    }
  });

  it('leaves a request without a token anonymous: public fields answer, others ask for a token', async () => {
    for (const authorization of [null, '', '  ']) {
      expect(await post(authorization, '{ viewer { name } }')).toMatchObject({ status: 200, body: { data: { viewer: null } } });
      const closed = await post(authorization, '{ teams { id } }');
      expect(closed.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringMatching(/Authentication required for Query.teams/) })]);
    }
  });
});

describe('a refused token over SSE', () => {
  it('is answered 401 with the UNAUTHENTICATED error as the one event', async () => {
    for (const [why, authorization] of Object.entries(refused)) {
      const answer = await post(authorization, 'subscription { ticketCreated { cursor } }', 'text/event-stream');
      expect(answer.status, why).toBe(401);
      expect(answer.body).toContain('"code":"UNAUTHENTICATED"');
      expect(answer.body).toContain('Authentication failed');
    }
    const stream = sseSubscribe(server.graphqlUrl, 'intake_not-a-real-token', 'subscription { ticketCreated { cursor } }');
    expect((await stream.response).status).toBe(401);
    expect((await stream.waitFor(1))[0].errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await stream.close();
  });
});

describe('a refused token over graphql-ws', () => {
  function connect(connectionParams: Record<string, unknown>) {
    return new Promise<{ code: number; reason: string }>((resolve) => {
      createClient({
        url: server.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams,
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: () => {},
        on: { closed: (event: any) => resolve({ code: event.code, reason: event.reason }) },
      });
    });
  }

  it('closes the socket with 4401 and the reason, which graphql-ws clients do not retry', async () => {
    for (const [why, authorization] of Object.entries(refused)) {
      const closed = await connect({ authorization });
      expect(closed, why).toEqual({ code: 4401, reason: expect.stringMatching(/^Unauthorized: (the bearer token is unknown or revoked|the Authorization header is not "Bearer <token>")$/) });
    }
  });

  it('fails a subscription of a client with a refused token instead of running it anonymously', async () => {
    const sub = subscribe(server.wsClient('intake_not-a-real-token'), 'subscription { ticketCreated { cursor } }');
    await expect(sub.waitFor(1)).rejects.toThrow(/subscription failed/);
    expect(sub.events).toEqual([]);
    expect(sub.errors).toEqual([expect.objectContaining({ code: 4401, reason: 'Unauthorized: the bearer token is unknown or revoked' })]);
  });
});

describe('visitors and the public operations', () => {
  it('still work: a chat started without a token, then its visitor token over HTTP and graphql-ws', async () => {
    const { channelId } = await createChatTeam(server, 'Refusals Team');
    const ann = await createOperator(server, 'Refusals Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Welcome' });
    expect(chat.userErrors).toEqual([]);
    const { liveChatSession } = await server.client(chat.visitorToken).request<any>(gql`query ($id: ID!) { liveChatSession(id: $id) { visitorName } }`, { id: chat.session.id });
    expect(liveChatSession).toEqual({ visitorName: 'Welcome' });
    const visitor = subscribe(server.wsClient(chat.visitorToken), 'subscription ($s: ID!) { chatMessageAdded(sessionId: $s) { node { body } } }', { s: chat.session.id });
    expect((await visitor.waitFor(1))[0].chatMessageAdded.node.body).toBe('How may I help you?');
    visitor.dispose();
    online.feed.dispose();
  });
});
