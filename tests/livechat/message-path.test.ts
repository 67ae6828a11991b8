import { decodeGlobalID } from '@pothos/plugin-relay';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suitePostgresUrl } from '../support/databases.js';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, request, startChat, type Operator } from './support.js';

// The send path as a visitor and operators see it: rate limit, idempotency keys, who may write
// what, and the cost of one message in statements.
let server: TestServer;
let channelId: string;
let ann: Operator;
let bob: Operator;
let online: Awaited<ReturnType<typeof goOnline>>;
const LIMIT = 3;

beforeAll(async () => {
  server = await startTestServer({ LIVECHAT_MESSAGES_PER_MINUTE: String(LIMIT), LIVECHAT_MAX_MESSAGE_CHARS: '5' });
  ({ channelId } = await createChatTeam(server, 'Message Path'));
  ann = await createOperator(server, 'Path Ann');
  bob = await createOperator(server, 'Path Bob');
  await addOperators(server, channelId, [ann, bob]);
  online = await goOnline(server, channelId, ann);
});
afterAll(async () => {
  online?.feed.dispose();
  await server?.stop();
});

const SEND = `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) {
  message { id body operatorOnly clientMessageId author { kind name } } userErrors { field code message retryAfterSeconds } } }`;

async function send(token: string, input: Record<string, unknown>) {
  const { sendChatMessage } = await request(server, token, SEND, { input });
  return sendChatMessage as { message: any; userErrors: any[] };
}

/** A chat assigned to Ann (the only one online). */
async function chat(name: string) {
  const started = await startChat(server, { channelId, visitorName: name });
  expect(started.session.operator.name).toBe('Path Ann');
  return { sessionId: started.session.id as string, visitor: started.visitorToken };
}

describe('the visitor rate limit', () => {
  it("counts the visitor's messages only: the operator is never blocked, and a refusal says when to retry", async () => {
    const { sessionId, visitor } = await chat('Flood');
    // Operators have no per-session limit, and their messages leave the visitor's allowance alone.
    for (let i = 0; i < LIMIT + 2; i++) expect((await send(ann.token, { sessionId, body: `a${i}` })).userErrors).toEqual([]);
    for (let i = 0; i < LIMIT; i++) expect((await send(visitor, { sessionId, body: `v${i}` })).userErrors).toEqual([]);
    const refused = await send(visitor, { sessionId, body: 'v!' });
    expect(refused.message).toBeNull();
    expect(refused.userErrors).toEqual([{ field: null, code: 'RATE_LIMITED', message: expect.stringMatching(/retry in \d+ seconds/), retryAfterSeconds: expect.any(Number) }]);
    expect(refused.userErrors[0].retryAfterSeconds).toBeGreaterThan(50);
    // The window, and at most one of its sixty slots (a slot counts while any part of it is in the window).
    expect(refused.userErrors[0].retryAfterSeconds).toBeLessThanOrEqual(61);
    // The visitor at its limit blocks nothing of the operator's.
    expect((await send(ann.token, { sessionId, body: 'ok' })).userErrors).toEqual([]);
    // Other userErrors have no retry time.
    expect((await send(ann.token, { sessionId, body: 'toolong' })).userErrors).toEqual([expect.objectContaining({ code: 'TOO_LONG', retryAfterSeconds: null })]);
  });

  it('slides: hits of the last minute count across a window edge', async () => {
    const { sessionId, visitor } = await chat('Edge');
    const id = Number(decodeGlobalID(sessionId).id);
    // The visitor's allowance used up twenty seconds ago, as a burst at the end of a fixed window would leave it.
    await server.app.database.rows(sql`insert into live_chat_rate_counters (key, window_start, hits)
      values (${`chat-messages:${id}`}, date_trunc('second', now() - interval '20 seconds'), ${LIMIT})`);
    const refused = await send(visitor, { sessionId, body: 'now' });
    expect(refused.userErrors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED' })]);
    expect(refused.userErrors[0].retryAfterSeconds).toBeGreaterThanOrEqual(35);
    expect(refused.userErrors[0].retryAfterSeconds).toBeLessThanOrEqual(42);
  });
});

describe('clientMessageId', () => {
  it("is the sender's own: a visitor reusing an operator's key gets its own message, never the operator's note", async () => {
    const { sessionId, visitor } = await chat('Probe');
    const note = await send(ann.token, { sessionId, body: 'VIP', operatorOnly: true, clientMessageId: 'm-17' });
    expect(note.userErrors).toEqual([]);
    const probe = await send(visitor, { sessionId, body: 'x', clientMessageId: 'm-17' });
    expect(probe.userErrors).toEqual([]);
    expect(probe.message).toMatchObject({ body: 'x', operatorOnly: false, clientMessageId: 'm-17', author: { kind: 'VISITOR' } });
    // Each side's retry returns its own message.
    expect((await send(ann.token, { sessionId, body: 'VIP', operatorOnly: true, clientMessageId: 'm-17' })).message).toEqual(note.message);
    expect((await send(visitor, { sessionId, body: 'x', clientMessageId: 'm-17' })).message).toEqual(probe.message);
    // Another operator's key space is its own too.
    expect((await send(bob.token, { sessionId, body: 'seen', operatorOnly: true, clientMessageId: 'm-17' })).message).toMatchObject({ body: 'seen', author: { name: 'Path Bob' } });
    expect(await bodies(server, ann.token, sessionId)).toEqual(['How may I help you?', 'VIP', 'x', 'seen']);
  });

  it('reused with another body is refused with INVALID_VALUE', async () => {
    const { sessionId, visitor } = await chat('Reuse');
    expect((await send(visitor, { sessionId, body: 'one', clientMessageId: 'k' })).userErrors).toEqual([]);
    const reused = await send(visitor, { sessionId, body: 'two', clientMessageId: 'k' });
    expect(reused.message).toBeNull();
    expect(reused.userErrors).toEqual([expect.objectContaining({ field: ['input', 'clientMessageId'], code: 'INVALID_VALUE' })]);
    expect(await bodies(server, ann.token, sessionId)).toEqual(['How may I help you?', 'one']);
  });

  it("is never shown to visitors on others' messages", async () => {
    const { sessionId, visitor } = await chat('Keys');
    await send(ann.token, { sessionId, body: 'hi', clientMessageId: 'op-1' });
    const { liveChatSession } = await request(server, visitor, `query ($id: ID!) { liveChatSession(id: $id) { messages(first: 10) { nodes { body clientMessageId } } } }`, { id: sessionId });
    expect(liveChatSession.messages.nodes).toEqual([
      { body: 'How may I help you?', clientMessageId: null },
      { body: 'hi', clientMessageId: null },
    ]);
    const stream = subscribe(server.wsClient(visitor), `subscription ($id: ID!) { chatMessageAdded(sessionId: $id) { node { body clientMessageId } } }`, { id: sessionId });
    expect((await stream.waitFor(2)).map((e) => e.chatMessageAdded.node)).toEqual([
      { body: 'How may I help you?', clientMessageId: null },
      { body: 'hi', clientMessageId: null },
    ]);
    stream.dispose();
  });

  it('is checked after the rate limit: a visitor cannot probe keys past its limit', async () => {
    const { sessionId, visitor } = await chat('Prober');
    for (let i = 0; i < LIMIT; i++) expect((await send(visitor, { sessionId, body: `p${i}`, clientMessageId: `k${i}` })).userErrors).toEqual([]);
    expect((await send(visitor, { sessionId, body: 'p0', clientMessageId: 'k0' })).userErrors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED' })]);
  });
});

describe('who writes what', () => {
  it("only the session's operator writes to the visitor; other operators of the channel add operator-only notes", async () => {
    const { sessionId } = await chat('Owned');
    const visible = await send(bob.token, { sessionId, body: 'hey' });
    expect(visible.message).toBeNull();
    expect(visible.userErrors).toEqual([expect.objectContaining({ field: ['input', 'sessionId'], code: 'FORBIDDEN' })]);
    expect((await send(bob.token, { sessionId, body: 'note', operatorOnly: true })).userErrors).toEqual([]);
    expect((await send(ann.token, { sessionId, body: 'hello' })).userErrors).toEqual([]);
    expect(await bodies(server, ann.token, sessionId)).toEqual(['How may I help you?', 'note', 'hello']);
  });

  it('counts the length in characters (code points)', async () => {
    const { sessionId, visitor } = await chat('Emoji');
    expect((await send(visitor, { sessionId, body: '😀😀😀😀😀' })).userErrors).toEqual([]);
    expect((await send(visitor, { sessionId, body: '😀😀😀😀😀😀' })).userErrors).toEqual([expect.objectContaining({ field: ['input', 'body'], code: 'TOO_LONG' })]);
  });
});

describe('one message, one statement', () => {
  it('a plain message of the visitor or the operator is one autocommitted statement, delivered with no further read', async () => {
    const { sessionId, visitor } = await chat('Cost');
    // The first call of each token fills the token cache; the second is the steady state.
    await send(visitor, { sessionId, body: 'warm' });
    await send(ann.token, { sessionId, body: 'warm' });
    const stream = subscribe(server.wsClient(ann.token), `subscription ($id: ID!) { chatMessageAdded(sessionId: $id) { node { body } } }`, { id: sessionId });
    await stream.waitFor(3);
    const statementsOf = async (token: string, body: string) => {
      const sent: string[] = [];
      const stop = server.app.database.watchStatements((statement) => sent.push(statement));
      const before = stream.events.length;
      try {
        expect((await send(token, { sessionId, body })).userErrors).toEqual([]);
        // Delivered to a subscriber of this instance within the count: no load of the row.
        await stream.waitFor(before + 1);
      } finally {
        stop();
      }
      return sent;
    };
    expect(await statementsOf(visitor, 'v')).toEqual([expect.stringMatching(/pg_notify/)]);
    expect(await statementsOf(ann.token, 'o')).toEqual([expect.stringMatching(/pg_notify/)]);
    expect(stream.events.slice(-2).map((e) => e.chatMessageAdded.node.body)).toEqual(['v', 'o']);
    stream.dispose();
  });
});

describe('starting a chat', () => {
  it("holds the channel's lock for two statements and the commit: the lock with the read it decides by, then the session with its token, welcome and notifications", async () => {
    await startChat(server, { channelId, visitorName: 'Warm' });
    const sent: string[] = [];
    const stop = server.app.database.watchStatements((statement) => sent.push(statement));
    try {
      const started = await startChat(server, { channelId, visitorName: 'Counted' });
      expect(started.userErrors).toEqual([]);
      expect(started.session.status).toBe('OPEN');
    } finally {
      stop();
    }
    // What else the server reads meanwhile, on other connections, once a start committed (the
    // commit is told when it returned): the operator's feed and the answers loading rows by id.
    const loadsById = /^select .* from "(agents|live_chat_sessions|live_chat_messages)" where .*("id" in|= any)/s;
    const ours = sent.filter((s) => !/^select "d0"\./.test(s) && !loadsById.test(s));
    const locked = ours.findIndex((s) => /from "live_chat_channels".*for update/s.test(s));
    expect(locked).toBeGreaterThan(-1);
    expect(ours.slice(locked + 1, locked + 4)).toEqual([
      expect.stringMatching(/'WAITING'.*from "live_chat_operators"/s),
      expect.stringMatching(/insert into "live_chat_sessions".*insert into "visitor_tokens".*insert into "live_chat_messages".*pg_notify/s),
      'commit',
    ]);
  });

  // Another connection holding the channel needs a real PostgreSQL (PGlite has one connection).
  it.runIf(suitePostgresUrl)('sends the read behind the lock without waiting for the lock: no round trip to the server once it is granted', async () => {
    const id = Number(decodeGlobalID(channelId).id);
    const sent: string[] = [];
    const stop = server.app.database.watchStatements((statement) => sent.push(statement));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let settled = false;
    try {
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const holder = server.app.database.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from live_chat_channels where id = ${id} for update`);
        holding();
        await released;
      });
      await held;
      const start = startChat(server, { channelId, visitorName: 'Behind the lock' }).finally(() => (settled = true));
      await waitFor(() => sent.some((s) => /'WAITING'.*from "live_chat_operators"/s.test(s)), { what: "the start's read, sent while another transaction holds the channel" });
      expect(settled).toBe(false);
      release();
      await holder;
      expect((await start).userErrors).toEqual([]);
    } finally {
      release();
      stop();
    }
  });
});
