import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directLinkHeaders } from '../../src/livechat/http-origins.js';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, createChatTeam, createOperator, goOnline, request, USER_ERRORS } from './support.js';

const SHOP = 'https://shop.example.com';
const EVIL = 'https://evil.example.net';

let server: TestServer;
let guarded: { channelId: string; key: string };
let open: { channelId: string; key: string };
beforeAll(async () => {
  server = await startTestServer({ WS_ANONYMOUS_GRACE_MS: '10000' });
  const channel = async (name: string, allowedOrigins: string[]) => {
    const { channelId } = await createChatTeam(server, name);
    const { updateLiveChatChannel } = await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { channel { key } ${USER_ERRORS} } }`, {
      input: { channelId, allowedOrigins },
    });
    return { channelId, key: updateLiveChatChannel.channel.key as string };
  };
  guarded = await channel('Cross Origin Guarded', [SHOP]);
  open = await channel('Cross Origin Open', []);
  const operator = await createOperator(server, 'Cross Origin Operator');
  await addOperators(server, guarded.channelId, [operator]);
  await goOnline(server, guarded.channelId, operator);
});
afterAll(async () => {
  await server?.stop();
});

/** A browser's fetch from a page of `origin`: the JSON POST a widget sends. */
async function post(origin: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, allowOrigin: response.headers.get('access-control-allow-origin'), body: (await response.json()) as any };
}

const WIDGET = `query ($key: String!) { liveChatWidget(channelKey: $key) { name } }`;
const START = `mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { id } visitorToken ${USER_ERRORS} } }`;
const LEAVE = `mutation ($input: LeaveLiveChatMessageInput!) { leaveLiveChatMessage(input: $input) { ticketNumber ${USER_ERRORS} } }`;

describe('CORS of the chat operations', () => {
  it("lets only the channel's allowed origins read liveChatWidget, startLiveChat and leaveLiveChatMessage", async () => {
    expect(await post(SHOP, WIDGET, { key: guarded.key })).toMatchObject({ status: 200, allowOrigin: SHOP, body: { data: { liveChatWidget: { name: 'Cross Origin Guarded' } } } });
    expect((await post(EVIL, WIDGET, { key: guarded.key })).allowOrigin).toBeNull();
    // The key written in the document rather than in a variable.
    expect((await post(EVIL, `{ liveChatWidget(channelKey: "${guarded.key}") { name } }`)).allowOrigin).toBeNull();
    // No list: any origin.
    expect((await post(EVIL, WIDGET, { key: open.key })).allowOrigin).toBe(EVIL);

    expect((await post(SHOP, START, { input: { channelId: guarded.channelId } })).allowOrigin).toBe(SHOP);
    expect((await post(EVIL, START, { input: { channelId: guarded.channelId } })).allowOrigin).toBeNull();
    const leave = { channelKey: guarded.key, name: 'Eve', email: 'eve@example.net', message: 'Hello' };
    expect((await post(EVIL, LEAVE, { input: leave })).allowOrigin).toBeNull();
    expect((await post(SHOP, LEAVE, { input: leave })).allowOrigin).toBe(SHOP);
  });

  it("governs every operation made with a visitor token by its session's channel", async () => {
    const started = await post(SHOP, START, { input: { channelId: guarded.channelId } });
    const { visitorToken, session } = started.body.data.startLiveChat;
    const SEND = `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { body } ${USER_ERRORS} } }`;
    expect(await post(SHOP, SEND, { input: { sessionId: session.id, body: 'from the shop' } }, visitorToken)).toMatchObject({ allowOrigin: SHOP, body: { data: { sendChatMessage: { userErrors: [] } } } });
    expect((await post(EVIL, SEND, { input: { sessionId: session.id, body: 'from elsewhere' } }, visitorToken)).allowOrigin).toBeNull();
    expect((await post(EVIL, `{ __typename }`, {}, visitorToken)).allowOrigin).toBeNull();
  });

  it('answers a preflight for any origin, and keeps the general rule for other operations', async () => {
    const preflight = await fetch(server.graphqlUrl, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).not.toBeNull();
    expect((await post(EVIL, `{ __typename }`)).allowOrigin).toBe(EVIL);
  });

  it('keeps CSRF protection: a request a form could send is refused, chat operations included', async () => {
    const response = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent(`{ liveChatWidget(channelKey: "${open.key}") { name } }`)}`, { headers: { origin: EVIL } });
    expect(response.status).toBe(403);
  });
});

/** A graphql-ws client whose socket a browser page of `origin` opened. */
function socketFrom(origin: string, token: string | null, onClosed?: (code: number) => void) {
  class BrowserSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { origin } });
    }
  }
  return createClient({
    url: server.wsUrl,
    webSocketImpl: BrowserSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event: any) => onClosed?.(event.code) },
  });
}

describe('WebSockets of the widget', () => {
  it("checks a visitor's socket at connection_init against its session's channel", async () => {
    const { visitorToken, session } = (await post(SHOP, START, { input: { channelId: guarded.channelId } })).body.data.startLiveChat;
    const MESSAGES = `subscription ($sessionId: ID!) { chatMessageAdded(sessionId: $sessionId) { node { body } } }`;
    const allowed = subscribe(socketFrom(SHOP, visitorToken), MESSAGES, { sessionId: session.id });
    expect((await allowed.waitFor(1)).length).toBe(1);
    allowed.dispose();

    let closedWith: number | null = null;
    const refused = subscribe(socketFrom(EVIL, visitorToken, (code) => (closedWith = code)), MESSAGES, { sessionId: session.id });
    await expect(refused.waitFor(1)).rejects.toThrow();
    expect(closedWith).toBe(4403);
  });

  it('checks an anonymous subscription at subscribe against the channel its key names', async () => {
    const AVAILABILITY = `subscription ($key: String!) { liveChatAvailability(channelKey: $key) }`;
    const allowed = subscribe(socketFrom(SHOP, null), AVAILABILITY, { key: guarded.key });
    expect(await allowed.waitFor(1)).toEqual([{ liveChatAvailability: true }]);
    allowed.dispose();
    const refused = subscribe(socketFrom(EVIL, null), AVAILABILITY, { key: guarded.key });
    await expect(refused.waitFor(1)).rejects.toThrow(/FORBIDDEN|allowedOrigins/);
    const anyOrigin = subscribe(socketFrom(EVIL, null), AVAILABILITY, { key: open.key });
    expect(await anyOrigin.waitFor(1)).toEqual([{ liveChatAvailability: false }]);
    anyOrigin.dispose();
  });
});

describe('the direct-link page', () => {
  it('may be framed only by the allowed origins', () => {
    expect(directLinkHeaders({ allowedOrigins: [SHOP, 'http://localhost:8080'] })).toEqual({ 'content-security-policy': `frame-ancestors 'self' ${SHOP} http://localhost:8080` });
    expect(directLinkHeaders({ allowedOrigins: [] })).toEqual({ 'content-security-policy': 'frame-ancestors *' });
  });
});
