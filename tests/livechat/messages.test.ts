import { decodeGlobalID } from '@pothos/plugin-relay';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { typingRelayOf } from '../../src/livechat/typing.js';
import { waitFor } from '../support/wait.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, request, send, startChat, USER_ERRORS, type Operator } from './support.js';

let server: TestServer;
let channelId: string;
let ann: Operator;
let online: Awaited<ReturnType<typeof goOnline>>;
beforeAll(async () => {
  server = await startTestServer({ LIVECHAT_MAX_MESSAGE_CHARS: '50' });
  ({ channelId } = await createChatTeam(server, 'Chat Messages'));
  ann = await createOperator(server, 'Msg Ann');
  await addOperators(server, channelId, [ann]);
  online = await goOnline(server, channelId, ann);
});
afterAll(async () => {
  online?.feed.dispose();
  await server?.stop();
});

const ADDED = `subscription ($sessionId: ID!, $after: String) { chatMessageAdded(sessionId: $sessionId, after: $after) { cursor node { body operatorOnly author { kind name } } } }`;

describe('chat messages', () => {
  it('stores text verbatim without control characters, within the size limit', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Tess' });
    const sent = await send(server, chat.visitorToken, { sessionId: chat.session.id, body: '<b>bold</b>\u0007\u001b &amp;\ttab\r\nline' });
    expect(sent).toEqual({
      message: { id: expect.any(String), body: '<b>bold</b> &amp;\ttab\r\nline', operatorOnly: false, clientMessageId: null, author: { kind: 'VISITOR', name: 'Tess' } },
      userErrors: [],
    });
    expect((await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'x'.repeat(51) })).userErrors[0]).toMatchObject({ field: ['input', 'body'], code: 'TOO_LONG' });
    expect((await send(server, chat.visitorToken, { sessionId: chat.session.id, body: ' \u0007 ' })).userErrors[0]).toMatchObject({ field: ['input', 'body'], code: 'REQUIRED' });
    // NUL is refused before live chat sees it, like in every text input.
    expect((await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'a\u0000b' })).userErrors[0]).toMatchObject({ field: ['input', 'body'] });
    expect((await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'psst', operatorOnly: true })).userErrors[0]).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a retry with the same clientMessageId returns the stored message and stores one', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Ret' });
    const input = { sessionId: chat.session.id, body: 'only once', clientMessageId: 'c-1' };
    const [a, b] = await Promise.all([send(server, chat.visitorToken, input), send(server, chat.visitorToken, input)]);
    const c = await send(server, chat.visitorToken, input);
    expect(a.message.id).toBe(b.message.id);
    expect(c.message).toEqual(a.message);
    expect(a.message.clientMessageId).toBe('c-1');
    expect(await bodies(server, ann.token, chat.session.id)).toEqual(['How may I help you?', 'only once']);
  });

  it('operator-only messages never reach the visitor, by query or stream', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Nosy' });
    const visitorStream = subscribe(server.wsClient(chat.visitorToken), ADDED, { sessionId: chat.session.id });
    const operatorStream = subscribe(server.wsClient(ann.token), ADDED, { sessionId: chat.session.id });
    await visitorStream.waitFor(1);
    await operatorStream.waitFor(1);
    await send(server, ann.token, { sessionId: chat.session.id, body: 'internal: check the order', operatorOnly: true });
    await send(server, ann.token, { sessionId: chat.session.id, body: 'Let me check.' });
    const seenByOperator = await operatorStream.waitFor(3);
    const seenByVisitor = await visitorStream.waitFor(2);
    expect(seenByOperator.map((e) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'internal: check the order', 'Let me check.']);
    expect(seenByVisitor.map((e) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'Let me check.']);
    expect(await bodies(server, chat.visitorToken, chat.session.id)).toEqual(['How may I help you?', 'Let me check.']);
    const { liveChatSession } = await request(server, chat.visitorToken, `query ($id: ID!) { liveChatSession(id: $id) { messageCount } }`, { id: chat.session.id });
    expect(liveChatSession.messageCount).toBe(2);
    visitorStream.dispose();
    operatorStream.dispose();
  });

  it('a live stream that missed a notification reads the gap from the table, in order', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Gap' });
    const sessionId = chat.session.id;
    const stream = subscribe(server.wsClient(chat.visitorToken), ADDED, { sessionId });
    await stream.waitFor(1);
    // A message committed without its notification, as when the LISTEN connection drops.
    const id = Number(decodeGlobalID(sessionId).id);
    await server.app.database.rows(sql`
      with bumped as (update live_chat_sessions set last_seq = last_seq + 1 where id = ${id} returning id, last_seq)
      insert into live_chat_messages (session_id, seq, author_kind, author_name, body) select id, last_seq, 'OPERATOR', 'Msg Ann', 'never notified' from bumped`);
    await send(server, ann.token, { sessionId, body: 'notified' });
    expect((await stream.waitFor(3)).map((e) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'never notified', 'notified']);
    stream.dispose();
  });

  it('exactly once: a subscriber that drops resumes with its cursor, gets the missed messages, then live ones', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Resume' });
    const sessionId = chat.session.id;
    await send(server, chat.visitorToken, { sessionId, body: 'v1' });
    const firstSocket = server.wsClient(chat.visitorToken);
    const first = subscribe(firstSocket, ADDED, { sessionId });
    const replayed = await first.waitFor(2);
    expect(replayed.map((e) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'v1']);
    await send(server, ann.token, { sessionId, body: 'o1' });
    const [, , live] = await first.waitFor(3);
    expect(live.chatMessageAdded.node.body).toBe('o1');
    const cursor = live.chatMessageAdded.cursor;
    first.dispose();
    await firstSocket.dispose();

    for (const body of ['o2', 'o3']) await send(server, ann.token, { sessionId, body });
    await send(server, chat.visitorToken, { sessionId, body: 'v2' });

    const resumed = subscribe(server.wsClient(chat.visitorToken), ADDED, { sessionId, after: cursor });
    expect((await resumed.waitFor(3)).map((e) => e.chatMessageAdded.node.body)).toEqual(['o2', 'o3', 'v2']);
    // Live messages while the replay may still be reading: each arrives once, in order.
    await Promise.all(['o4', 'o5', 'o6'].map((body, i) => new Promise((r) => setTimeout(r, i * 5)).then(() => send(server, ann.token, { sessionId, body }))));
    const all = (await resumed.waitFor(6)).slice(0, 6);
    // A marker sent after the six: once it arrives, any duplicate of the six would have too.
    await send(server, ann.token, { sessionId, body: 'marker' });
    await resumed.waitFor(7);
    expect(resumed.events.map((e) => e.chatMessageAdded.node.body).slice(3).sort()).toEqual(['marker', 'o4', 'o5', 'o6']);
    expect(resumed.events).toHaveLength(7);
    const cursors = all.map((e) => e.chatMessageAdded.cursor);
    expect(new Set(cursors).size).toBe(6);
    resumed.dispose();
    await expect(
      new Promise((resolve, reject) => {
        const bad = subscribe(server.wsClient(chat.visitorToken), ADDED, { sessionId, after: 'garbage' });
        bad.waitFor(1).then(resolve, reject);
      }),
    ).rejects.toThrow(/INVALID_CURSOR|cursor/);
  });

  it('typing indicators travel live between visitor and operator', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Typer' });
    const TYPING = `subscription ($sessionId: ID!) { chatTyping(sessionId: $sessionId) { sessionId authorKind name typing } }`;
    const typing = typingRelayOf(server.app.events);
    const before = typing.activeSubscriptions();
    const operatorSees = subscribe(server.wsClient(ann.token), TYPING, { sessionId: chat.session.id });
    await waitFor(() => typing.activeSubscriptions() === before + 1, { what: 'typing subscription' });
    const { setChatTyping } = await request(server, chat.visitorToken, `mutation ($input: SetChatTypingInput!) { setChatTyping(input: $input) { ${USER_ERRORS} } }`, {
      input: { sessionId: chat.session.id, typing: true },
    });
    expect(setChatTyping.userErrors).toEqual([]);
    const [event] = await operatorSees.waitFor(1);
    expect(event.chatTyping).toEqual({ sessionId: chat.session.id, authorKind: 'VISITOR', name: 'Typer', typing: true });
    operatorSees.dispose();
  });
});
