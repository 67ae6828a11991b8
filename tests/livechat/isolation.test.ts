import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTicket } from '../support/fixtures.js';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, createChatTeam, createOperator, goOnline, request, send, startChat, USER_ERRORS } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LIVECHAT_SESSIONS_PER_HOUR: '6', LIVECHAT_MESSAGES_PER_MINUTE: '4' });
});
afterAll(async () => {
  await server?.stop();
});

const errorCode = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'NO ERROR';
  } catch (error: any) {
    return error.response?.errors?.[0]?.extensions?.code ?? String(error);
  }
};

describe('visitor isolation', () => {
  it('a visitor token reads and writes its own session only', async () => {
    const { team, channelId } = await createChatTeam(server, 'Iso Team');
    const ann = await createOperator(server, 'Iso Ann');
    const outsider = await createOperator(server, 'Iso Outsider');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    const mine = await startChat(server, { channelId, visitorName: 'Mine' });
    const theirs = await startChat(server, { channelId, visitorName: 'Theirs' });
    await send(server, ann.token, { sessionId: theirs.session.id, body: 'secret note', operatorOnly: true });
    await createTicket(server, { teamId: team.id, title: 'Private ticket' });
    const token = mine.visitorToken;

    expect(await errorCode(request(server, token, `query ($id: ID!) { liveChatSession(id: $id) { id } }`, { id: theirs.session.id }))).toBe('FORBIDDEN');
    expect(await errorCode(request(server, token, `query { tickets(first: 5) { nodes { title } } }`))).toBe('FORBIDDEN');
    expect(await errorCode(request(server, token, `query ($id: ID!) { liveChatChannel(id: $id) { name } }`, { id: channelId }))).toBe('FORBIDDEN');
    expect(await errorCode(request(server, token, `query { teams { name } }`))).toBe('FORBIDDEN');
    // Through its own session, the channel's private parts stay closed.
    for (const field of ['sessions(first: 5) { edges { node { id } } }', 'operators { connected }', 'team { name }', 'satisfaction { rated }']) {
      expect(await errorCode(request(server, token, `query ($id: ID!) { liveChatSession(id: $id) { channel { ${field} } } }`, { id: mine.session.id }))).toBe('FORBIDDEN');
    }
    expect(await errorCode(request(server, token, `query ($id: ID!) { liveChatSession(id: $id) { tickets { title } } }`, { id: mine.session.id }))).toBe('FORBIDDEN');
    // Public widget options remain readable.
    const own = await request(server, token, `query ($id: ID!) { liveChatSession(id: $id) { visitorName channel { name buttonText } } }`, { id: mine.session.id });
    expect(own.liveChatSession).toEqual({ visitorName: 'Mine', channel: { name: 'Iso Team', buttonText: 'Have a Question? Chat with us.' } });

    // Writing into another session, rating it, closing it: the visitorOf scope refuses the field.
    expect(await errorCode(request(server, token, `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: theirs.session.id, body: 'hi' } }))).toBe('FORBIDDEN');
    expect(await errorCode(request(server, token, `mutation ($input: RateLiveChatInput!) { rateLiveChat(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: theirs.session.id, rating: 'DISSATISFIED' } }))).toBe('FORBIDDEN');
    expect(await errorCode(request(server, token, `mutation ($input: CloseLiveChatInput!) { closeLiveChat(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: theirs.session.id } }))).toBe('FORBIDDEN');
    expect((await request(server, ann.token, `query ($id: ID!) { liveChatSession(id: $id) { status } }`, { id: theirs.session.id })).liveChatSession.status).not.toBe('CLOSED');
    // An agent who is not an operator of the channel is no better placed.
    expect(await errorCode(request(server, outsider.token, `query ($id: ID!) { liveChatSession(id: $id) { id } }`, { id: theirs.session.id }))).toBe('FORBIDDEN');
    expect((await send(server, outsider.token, { sessionId: theirs.session.id, body: 'hi' })).userErrors[0].code).toBe('NOT_FOUND');

    // Subscriptions: another session's messages, its changes, and the channel feed are refused.
    const socket = server.wsClient(token);
    for (const [query, variables] of [
      [`subscription ($id: ID!) { chatMessageAdded(sessionId: $id) { cursor } }`, { id: theirs.session.id }],
      [`subscription ($id: ID) { liveChatSessionChanged(sessionId: $id) { id } }`, { id: theirs.session.id }],
      [`subscription ($id: ID) { liveChatSessionChanged(channelId: $id) { id } }`, { id: channelId }],
    ] as const) {
      const sub = subscribe(socket, query, variables);
      await expect(sub.waitFor(1)).rejects.toThrow(/FORBIDDEN|Forbidden/);
    }
    online.feed.dispose();
  });
});

describe('rate limits', () => {
  it('sessions per client address and messages per session answer RATE_LIMITED with when to retry', async () => {
    const { channelId } = await createChatTeam(server, 'Rate Team');
    const ann = await createOperator(server, 'Rate Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    // The isolation test above started two sessions from this address: four are left.
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await startChat(server, { channelId, visitorName: `R${i}` }));
    const refused = results.filter((r) => r.userErrors.length > 0);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/retry in \d+ seconds/) });

    const chat = results[0]!;
    for (let i = 0; i < 4; i++) expect((await send(server, chat.visitorToken, { sessionId: chat.session.id, body: `m${i}` })).userErrors).toEqual([]);
    const tooMany = await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'one too many' });
    expect(tooMany.userErrors[0]).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/retry in \d+ seconds/) });
    online.feed.dispose();
  });
});
