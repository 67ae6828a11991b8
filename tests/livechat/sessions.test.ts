import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { addOperators, bodies, close, createChatTeam, createOperator, goOnline, request, SESSION_FIELDS, startChat, USER_ERRORS } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const VISITOR_FEED = `subscription ($sessionId: ID) { liveChatSessionChanged(sessionId: $sessionId) { ${SESSION_FIELDS} } }`;

describe('starting a chat', () => {
  it('NO_OPERATOR_AVAILABLE when nobody is online', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Empty');
    const ann = await createOperator(server, 'Empty Ann');
    await addOperators(server, channelId, [ann]);
    const result = await startChat(server, { channelId, visitorName: 'Vic' });
    expect(result).toMatchObject({ session: null, visitorToken: null, userErrors: [{ field: ['input', 'channelId'], code: 'NO_OPERATOR_AVAILABLE' }] });
  });

  it('opens with the welcome message authored by the operator, and gives the visitor its token and key', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Welcome');
    const ann = await createOperator(server, 'Welcome Ann');
    await addOperators(server, channelId, [ann]);
    const { feed } = await goOnline(server, channelId, ann);
    const started = await startChat(server, { channelId, visitorName: 'Vic', visitorEmail: 'vic@example.com', pageUrl: 'https://shop.example/cart', language: 'en' });
    expect(started.userErrors).toEqual([]);
    expect(started.session).toMatchObject({ status: 'OPEN', queuePosition: null, visitorName: 'Vic', operator: { name: 'Welcome Ann' }, messageCount: 1 });
    expect(started.visitorToken).toMatch(/^intakev_/);
    expect(started.sessionKey.length).toBeGreaterThan(20);
    const { liveChatSession } = await request(server, started.visitorToken, `query ($id: ID!) { liveChatSession(id: $id) { visitorEmail pageUrl language messages(first: 5) { edges { node { body author { kind name } } } } } }`, {
      id: started.session.id,
    });
    expect(liveChatSession).toEqual({
      visitorEmail: 'vic@example.com',
      pageUrl: 'https://shop.example/cart',
      language: 'en',
      messages: { edges: [{ node: { body: 'How may I help you?', author: { kind: 'OPERATOR', name: 'Welcome Ann' } } }] },
    });
    // The operator's feed heard of the new session.
    const [event] = await feed.waitFor(1);
    expect(event.liveChatSessionChanged).toMatchObject({ id: started.session.id, status: 'OPEN' });
    feed.dispose();
  });

  it('checks its input', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Input');
    const result = await startChat(server, { channelId, visitorEmail: 'not-mail', pageUrl: 'javascript:alert(1)', language: '??', visitorName: 'x'.repeat(121) });
    expect(result.userErrors.map((e) => e.code).sort()).toEqual(['INVALID_EMAIL', 'INVALID_LANGUAGE', 'INVALID_URL', 'TOO_LONG']);
  });
});

describe('assignment', () => {
  it('returning visitor gets its previous operator; then language; then fewest open sessions', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Assign');
    const ann = await createOperator(server, 'Assign Ann');
    const bea = await createOperator(server, 'Assign Bea');
    const cid = await createOperator(server, 'Assign Cid');
    await addOperators(server, channelId, [ann, bea, cid]);
    const feeds = [await goOnline(server, channelId, ann, ['en']), await goOnline(server, channelId, bea, ['fr']), await goOnline(server, channelId, cid, ['en'])];

    // Language: the French speaker, although everyone is free.
    const french = await startChat(server, { channelId, visitorName: 'Fleur', language: 'fr-BE' });
    expect(french.session.operator.name).toBe('Assign Bea');
    // Fewest open sessions: Ann and Cid have none, Bea one; Ann (never assigned, lower id) first.
    const first = await startChat(server, { channelId, visitorName: 'One' });
    expect(first.session.operator.name).toBe('Assign Ann');
    const second = await startChat(server, { channelId, visitorName: 'Two' });
    expect(second.session.operator.name).toBe('Assign Cid');
    // Everyone has one now: idle longest is Bea (assigned first).
    const third = await startChat(server, { channelId, visitorName: 'Three' });
    expect(third.session.operator.name).toBe('Assign Bea');
    // Returning visitor of Cid goes to Cid although Ann has fewer sessions.
    const back = await startChat(server, { channelId, visitorName: 'Two again', previousSessionKey: second.sessionKey });
    expect(back.session.operator.name).toBe('Assign Cid');
    feeds.forEach((f) => f.feed.dispose());
  });

  it('waits in line at the cap, sees its position change live, and is assigned when a place frees', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Queue');
    await server.client().request(`mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId, maxSessionsPerOperator: 1 } });
    const ann = await createOperator(server, 'Queue Ann');
    await addOperators(server, channelId, [ann]);
    const { feed } = await goOnline(server, channelId, ann);

    const served = await startChat(server, { channelId, visitorName: 'First' });
    expect(served.session).toMatchObject({ status: 'OPEN', operator: { name: 'Queue Ann' } });
    const second = await startChat(server, { channelId, visitorName: 'Second' });
    expect(second.session).toMatchObject({ status: 'WAITING', queuePosition: 1, operator: null, messageCount: 0 });
    const third = await startChat(server, { channelId, visitorName: 'Third' });
    expect(third.session).toMatchObject({ status: 'WAITING', queuePosition: 2 });

    const thirdFeed = subscribe(server.wsClient(third.visitorToken), VISITOR_FEED, { sessionId: third.session.id });
    const secondFeed = subscribe(server.wsClient(second.visitorToken), VISITOR_FEED, { sessionId: second.session.id });
    // Subscriptions are registered before the first close: wait for the server's word, a session read through the socket's token.
    await request(server, third.visitorToken, `query ($id: ID!) { liveChatSession(id: $id) { id } }`, { id: third.session.id });
    await new Promise((r) => setTimeout(r, 300));

    expect((await close(server, ann.token, served.session.id)).userErrors).toEqual([]);
    const [secondOpen] = await secondFeed.waitFor(1);
    expect(secondOpen.liveChatSessionChanged).toMatchObject({ status: 'OPEN', queuePosition: null, operator: { name: 'Queue Ann' } });
    const [thirdMoved] = await thirdFeed.waitFor(1);
    expect(thirdMoved.liveChatSessionChanged).toMatchObject({ status: 'WAITING', queuePosition: 1 });
    expect(await bodies(server, second.visitorToken, second.session.id)).toEqual(['How may I help you?']);

    await close(server, second.visitorToken, second.session.id);
    const events = await thirdFeed.waitFor(2);
    expect(events[1].liveChatSessionChanged).toMatchObject({ status: 'OPEN', operator: { name: 'Queue Ann' } });
    feed.dispose();
    thirdFeed.dispose();
    secondFeed.dispose();
  });

  it('a visitor leaving the line moves those behind it up', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Line');
    await server.client().request(`mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId, maxSessionsPerOperator: 1 } });
    const ann = await createOperator(server, 'Line Ann');
    await addOperators(server, channelId, [ann]);
    const { feed } = await goOnline(server, channelId, ann);
    await startChat(server, { channelId, visitorName: 'Served' });
    const ahead = await startChat(server, { channelId, visitorName: 'Ahead' });
    const behind = await startChat(server, { channelId, visitorName: 'Behind' });
    expect(behind.session.queuePosition).toBe(2);
    const behindFeed = subscribe(server.wsClient(behind.visitorToken), VISITOR_FEED, { sessionId: behind.session.id });
    await new Promise((r) => setTimeout(r, 300));
    await close(server, ahead.visitorToken, ahead.session.id);
    const [moved] = await behindFeed.waitFor(1);
    expect(moved.liveChatSessionChanged).toMatchObject({ status: 'WAITING', queuePosition: 1 });
    behindFeed.dispose();
    feed.dispose();
  });

  it('a waiting visitor is served as soon as an operator comes online', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Late');
    await server.client().request(`mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId, maxSessionsPerOperator: 1 } });
    const ann = await createOperator(server, 'Late Ann');
    const bob = await createOperator(server, 'Late Bob');
    await addOperators(server, channelId, [ann, bob]);
    const { feed } = await goOnline(server, channelId, ann);
    await startChat(server, { channelId, visitorName: 'Busy' });
    const waiting = await startChat(server, { channelId, visitorName: 'Patient' });
    expect(waiting.session.status).toBe('WAITING');
    const bobOnline = await goOnline(server, channelId, bob);
    // Bob's presence is recorded before the transaction that serves the line commits: wait for
    // the session's row to say so, then check who serves it.
    const read = async () => (await request(server, waiting.visitorToken, `query ($id: ID!) { liveChatSession(id: $id) { status operator { name email } } }`, { id: waiting.session.id })).liveChatSession;
    await waitFor(async () => (await read()).status === 'OPEN', { what: 'the waiting session served' });
    // Visitors see the operator's name, never its email.
    expect(await read()).toEqual({ status: 'OPEN', operator: { name: 'Late Bob', email: null } });
    feed.dispose();
    bobOnline.feed.dispose();
  });
});

describe('closing and transfer', () => {
  it('says who left, refuses new messages with SESSION_CLOSED, transfers only to operators', async () => {
    const { channelId } = await createChatTeam(server, 'Chat Close');
    const ann = await createOperator(server, 'Close Ann');
    const bob = await createOperator(server, 'Close Bob');
    const eve = await createOperator(server, 'Close Eve');
    await addOperators(server, channelId, [ann, bob]);
    const online = [await goOnline(server, channelId, ann), await goOnline(server, channelId, bob)];

    const chat = await startChat(server, { channelId, visitorName: 'Quinn' });
    const owner = chat.session.operator.name === 'Close Ann' ? ann : bob;
    const other = owner === ann ? bob : ann;
    const TRANSFER = `mutation ($input: TransferLiveChatInput!) { transferLiveChat(input: $input) { session { operator { name } } ${USER_ERRORS} } }`;
    const notOperator = (await request(server, owner.token, TRANSFER, { input: { sessionId: chat.session.id, agentId: eve.id } })).transferLiveChat;
    expect(notOperator.userErrors).toEqual([{ field: ['input', 'agentId'], code: 'NOT_AN_OPERATOR', message: expect.any(String) }]);
    const moved = (await request(server, owner.token, TRANSFER, { input: { sessionId: chat.session.id, agentId: other.id } })).transferLiveChat;
    expect(moved).toEqual({ session: { operator: { name: other.name } }, userErrors: [] });

    const closed = await close(server, other.token, chat.session.id);
    expect(closed.session.status).toBe('CLOSED');
    expect(closed.session.closedAt).toEqual(expect.any(String));
    expect((await bodies(server, chat.visitorToken, chat.session.id)).slice(-2)).toEqual([`${owner.name} transferred the conversation to ${other.name}.`, `${other.name} closed the conversation.`]);
    const refused = await request(server, chat.visitorToken, `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { message { id } ${USER_ERRORS} } }`, {
      input: { sessionId: chat.session.id, body: 'hello?' },
    });
    expect(refused.sendChatMessage.userErrors[0]).toMatchObject({ code: 'SESSION_CLOSED' });

    const left = await startChat(server, { channelId, visitorName: 'Ruth' });
    await close(server, left.visitorToken, left.session.id);
    expect((await bodies(server, left.visitorToken, left.session.id)).at(-1)).toBe('Visitor left the conversation.');
    online.forEach((o) => o.feed.dispose());
  });
});
