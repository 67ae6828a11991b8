import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { addOperators, close, createChatTeam, createOperator, goOnline, send, startChat } from './support.js';

/**
 * Visitor tokens are good while their session is open and LIVECHAT_VISITOR_TOKEN_DAYS after it
 * closed; then refused with 401 and deleted by the sweep. A removed session's token stops at once.
 * The days are a fraction here (about 2.6 s) and the token cache short, so expiry is seen quickly.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LIVECHAT_VISITOR_TOKEN_DAYS: '0.00003', TOKEN_CACHE_MS: '50', LIVECHAT_SWEEP_INTERVAL_MS: '200' });
});
afterAll(async () => {
  await server?.stop();
});

const SESSION = `query ($id: ID!) { liveChatSession(id: $id) { status } }`;

/** The raw HTTP answer to a visitor's read of its session. */
async function readAs(token: string, sessionId: string) {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SESSION, variables: { id: sessionId } }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const idOf = (globalId: string) => Number(Buffer.from(globalId, 'base64').toString().split(':')[1]);

async function tokensOf(sessionId: string): Promise<number> {
  const [row] = await server.app.database.rows<{ count: number }>(sql`select count(*)::int as count from visitor_tokens where session_id = ${idOf(sessionId)}`);
  return Number(row!.count);
}

describe('visitor tokens', () => {
  it('work while the session is open and for the period after it closed, then are refused with 401 and deleted', async () => {
    const { channelId } = await createChatTeam(server, 'Token Team');
    const ann = await createOperator(server, 'Token Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const open = await startChat(server, { channelId, visitorName: 'Olga' });
    const closed = await startChat(server, { channelId, visitorName: 'Carl' });
    await send(server, open.visitorToken, { sessionId: open.session.id, body: 'still here' });
    await send(server, closed.visitorToken, { sessionId: closed.session.id, body: 'bye soon' });

    await close(server, closed.visitorToken, closed.session.id);
    // Just closed: the visitor still reads its transcript.
    expect(await readAs(closed.visitorToken, closed.session.id)).toMatchObject({ status: 200, body: { data: { liveChatSession: { status: 'CLOSED' } } } });

    let refused: Awaited<ReturnType<typeof readAs>> | undefined;
    await waitFor(async () => (refused = await readAs(closed.visitorToken, closed.session.id)).status !== 200, { what: 'the closed session token expiring' });
    expect(refused!.status).toBe(401);
    expect(refused!.body.errors.map((e: any) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);

    // The open session's token is older than the period, and still good.
    expect(await readAs(open.visitorToken, open.session.id)).toMatchObject({ status: 200, body: { data: { liveChatSession: { status: 'OPEN' } } } });

    await waitFor(async () => (await tokensOf(closed.session.id)) === 0, { what: 'the sweep deleting the expired token' });
    expect(await tokensOf(open.session.id)).toBe(1);
    // Deleted, the token is still refused the same way.
    expect((await readAs(closed.visitorToken, closed.session.id)).status).toBe(401);
  });

  it("of a removed session stop working at once", async () => {
    const { channelId } = await createChatTeam(server, 'Token Removed');
    const ann = await createOperator(server, 'Removed Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Rémi' });
    expect((await readAs(chat.visitorToken, chat.session.id)).status).toBe(200);
    // What the sweep's empty-session removal does.
    await server.app.database.rows(sql`delete from live_chat_sessions where id = ${idOf(chat.session.id)}`);
    const answer = await readAs(chat.visitorToken, chat.session.id);
    expect(answer.status).toBe(401);
    expect(answer.body.errors.map((e: any) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('a removed session, while its token is still in the cache', () => {
  let cached: TestServer;
  beforeAll(async () => {
    // The default 30 s cache: the token still resolves to its visitor, only the session is gone.
    cached = await startTestServer({});
  });
  afterAll(async () => {
    await cached?.stop();
  });

  it('refuses the one-statement send with 401 as reads are, not with a NOT_FOUND userError', async () => {
    const { channelId } = await createChatTeam(cached, 'Token Removed Send');
    const ann = await createOperator(cached, 'Removed Send Ann');
    await addOperators(cached, channelId, [ann]);
    await goOnline(cached, channelId, ann);
    const chat = await startChat(cached, { channelId, visitorName: 'Rosa' });
    expect((await send(cached, chat.visitorToken, { sessionId: chat.session.id, body: 'hello' })).userErrors).toEqual([]);
    await cached.app.database.rows(sql`delete from live_chat_sessions where id = ${idOf(chat.session.id)}`);
    const response = await fetch(cached.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${chat.visitorToken}` },
      body: JSON.stringify({
        query: `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { id } userErrors { code } } }`,
        variables: { input: { sessionId: chat.session.id, body: 'still there?' } },
      }),
    });
    const body = (await response.json()) as any;
    expect(response.status).toBe(401);
    expect(body.errors.map((e: any) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});
