import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, close, createChatTeam, createOperator, goOnline, request, send, startChat, USER_ERRORS } from './support.js';

/** Live chat follows the house conventions: cursors through the keyset helper, per-parent fields batched. */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const cursor = (text: string) => Buffer.from(text).toString('base64url');

/** The statements the server sends to the database while `run` runs. */
async function statementsDuring(run: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const stop = server.app.database.watchStatements((sql) => sent.push(sql));
  try {
    await run();
  } finally {
    stop();
  }
  return sent;
}

async function errorCodesOf(token: string, query: string, variables: Record<string, unknown>): Promise<string[]> {
  const answer = await server
    .client(token)
    .rawRequest<any>(query, variables)
    .then(
      (r) => r,
      (err) => err.response,
    );
  return (answer.errors ?? []).map((e: any) => e.extensions?.code);
}

describe('cursors of messages, sessions and ratings', () => {
  it('refuse a forged or out-of-range cursor with BAD_USER_INPUT (B6)', async () => {
    const { channelId } = await createChatTeam(server, 'Cursor Team');
    const ann = await createOperator(server, 'Cursor Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Cora' });
    await close(server, chat.visitorToken, chat.session.id);
    await request(server, chat.visitorToken, `mutation ($input: RateLiveChatInput!) { rateLiveChat(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: chat.session.id, rating: 'OKAY' } });

    const MESSAGES = `query ($id: ID!, $after: String, $before: String) { liveChatSession(id: $id) { messages(first: 5, after: $after, before: $before) { nodes { body } } } }`;
    for (const forged of [cursor('seq:9999999999'), cursor('seq:-1'), 'garbage']) {
      expect(await errorCodesOf(ann.token, MESSAGES, { id: chat.session.id, after: forged })).toEqual(['BAD_USER_INPUT']);
      expect(await errorCodesOf(chat.visitorToken, MESSAGES, { id: chat.session.id, before: forged })).toEqual(['BAD_USER_INPUT']);
    }
    const SESSIONS = `query ($id: ID!, $after: String) { liveChatChannel(id: $id) { sessions(first: 5, after: $after) { nodes { id } } } }`;
    expect(await errorCodesOf(ann.token, SESSIONS, { id: channelId, after: cursor('id:9999999999') })).toEqual(['BAD_USER_INPUT']);
    const RATINGS = `query ($id: ID!, $after: String) { liveChatChannel(id: $id) { ratings(first: 5, after: $after) { nodes { rating } } } }`;
    expect(await errorCodesOf(ann.token, RATINGS, { id: channelId, after: cursor('rating:1:9999999999') })).toEqual(['BAD_USER_INPUT']);
    expect(await errorCodesOf(ann.token, RATINGS, { id: channelId, after: cursor('rating:99999999999999999:1') })).toEqual(['BAD_USER_INPUT']);

    const stream = subscribe(server.wsClient(ann.token), `subscription ($sessionId: ID!, $after: String) { chatMessageAdded(sessionId: $sessionId, after: $after) { cursor } }`, {
      sessionId: chat.session.id,
      after: cursor('seq:9999999999'),
    });
    await stream.untilEnded();
    expect(stream.errors.flat().map((e: any) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);

    // Other bad arguments are the caller's mistake too, as everywhere else.
    expect(await errorCodesOf(ann.token, `query ($id: ID!) { liveChatChannel(id: $id) { satisfaction(days: 0) { rated } } }`, { id: channelId })).toEqual(['BAD_USER_INPUT']);
    const both = subscribe(server.wsClient(ann.token), `subscription ($channelId: ID, $sessionId: ID) { liveChatSessionChanged(channelId: $channelId, sessionId: $sessionId) { id } }`, {
      channelId,
      sessionId: chat.session.id,
    });
    await both.untilEnded();
    expect(both.errors.flat().map((e: any) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);

    // Cursors given out still page.
    const first = await request(server, ann.token, `query ($id: ID!) { liveChatSession(id: $id) { messages(first: 1) { pageInfo { endCursor } } } }`, { id: chat.session.id });
    const next = await request(server, ann.token, MESSAGES, { id: chat.session.id, after: first.liveChatSession.messages.pageInfo.endCursor });
    expect(next.liveChatSession.messages.nodes.map((n: any) => n.body)).toEqual(['Visitor left the conversation.']);
  });
});

describe('per-parent fields of live chat', () => {
  const CHANNEL = `query ($id: ID!) {
    liveChatChannel(id: $id) {
      team { name } available
      operators { agent { name email } openSessions }
      sessions(first: 50) { nodes { channel { name } operator { name } queuePosition tickets { title } rating { rating operator { name } session { visitorName } } messageCount } }
      ratings(first: 50) { nodes { operator { name } session { visitorName } } }
    }
  }`;

  /** A channel whose one operator takes one chat at a time: the first chat is open, the rest wait. */
  async function channelWith(prefix: string, sessions: number, operators: number) {
    const { channelId } = await createChatTeam(server, `${prefix} Team`);
    const staff = [];
    for (let i = 0; i < operators; i++) staff.push(await createOperator(server, `${prefix} Op${i}`));
    await addOperators(server, channelId, staff);
    const { updateLiveChatChannel } = await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, {
      input: { channelId, maxSessionsPerOperator: 1 },
    });
    expect(updateLiveChatChannel.userErrors).toEqual([]);
    await goOnline(server, channelId, staff[0]!);
    const chats = [];
    for (let i = 0; i < sessions; i++) chats.push(await startChat(server, { channelId, visitorName: `${prefix} V${i}` }));
    // One closed and rated, one with a ticket.
    await send(server, staff[0]!.token, { sessionId: chats[0]!.session.id, body: '/helpdesk From the chat' });
    await close(server, chats[0]!.visitorToken, chats[0]!.session.id);
    await request(server, chats[0]!.visitorToken, `mutation ($input: RateLiveChatInput!) { rateLiveChat(input: $input) { ${USER_ERRORS} } }`, {
      input: { sessionId: chats[0]!.session.id, rating: 'SATISFIED' },
    });
    await send(server, staff[0]!.token, { sessionId: chats[1]!.session.id, body: '/helpdesk Second' });
    return { channelId, token: staff[0]!.token };
  }

  it('cost the same number of statements for a few sessions and operators as for many', async () => {
    const few = await channelWith('Few', 3, 2);
    const many = await channelWith('Many', 8, 5);
    // Once each, so that both runs meet warm caches alike.
    await request(server, few.token, CHANNEL, { id: few.channelId });
    await request(server, many.token, CHANNEL, { id: many.channelId });

    let fewAnswer: any;
    let manyAnswer: any;
    const fewStatements = await statementsDuring(async () => (fewAnswer = await request(server, few.token, CHANNEL, { id: few.channelId })));
    const manyStatements = await statementsDuring(async () => (manyAnswer = await request(server, many.token, CHANNEL, { id: many.channelId })));
    // Agent rows a resolver read itself are read again by the drizzle plugin's model loader (once
    // per field position, batched per tick, so two positions may share one): bounded by the four
    // places an agent appears in the query, never by the number of rows.
    const refetch = (sql: string) => sql.includes('from "agents" as "d0"');
    expect(fewStatements.filter(refetch).length).toBeLessThanOrEqual(4);
    expect(manyStatements.filter(refetch).length).toBeLessThanOrEqual(4);
    expect(manyStatements.filter((sql) => !refetch(sql))).toHaveLength(fewStatements.filter((sql) => !refetch(sql)).length);
    // Each live chat field is one statement for the whole list.
    expect(manyStatements.filter((sql) => sql.includes('row_number() over'))).toHaveLength(1);
    expect(manyStatements.filter((sql) => sql.includes('from "live_chat_session_tickets"'))).toHaveLength(1);

    const sessions = manyAnswer.liveChatChannel.sessions.nodes;
    expect(sessions).toHaveLength(8);
    // Newest first: the six waiting ones in line order from the back, then the open one and the closed one.
    expect(sessions.map((s: any) => s.queuePosition)).toEqual([6, 5, 4, 3, 2, 1, null, null]);
    expect(sessions.map((s: any) => s.tickets.map((t: any) => t.title))).toEqual([[], [], [], [], [], [], ['Second'], ['From the chat']]);
    expect(sessions.at(-1).rating).toEqual({ rating: 'SATISFIED', operator: { name: 'Many Op0' }, session: { visitorName: 'Many V0' } });
    expect(new Set(sessions.map((s: any) => s.channel.name))).toEqual(new Set(['Many Team']));
    expect(manyAnswer.liveChatChannel.operators.map((o: any) => o.agent.name)).toEqual(['Many Op0', 'Many Op1', 'Many Op2', 'Many Op3', 'Many Op4']);
    expect(fewAnswer.liveChatChannel.sessions.nodes.map((s: any) => s.queuePosition)).toEqual([1, null, null]);
  });
});
