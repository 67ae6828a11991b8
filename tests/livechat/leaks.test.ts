import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { typingRelayOf } from '../../src/livechat/typing.js';
import { waitFor } from '../support/wait.js';
import { addOperators, close, createChatTeam, createOperator, goOnline, request, send, startChat, USER_ERRORS } from './support.js';

/**
 * What must not leak to visitors, anonymous callers or agents who are not (or no longer)
 * operators of a chat, and the limits that keep one visitor from holding a channel.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const ADDED = `subscription ($sessionId: ID!, $after: String) { chatMessageAdded(sessionId: $sessionId, after: $after) { cursor node { body } } }`;
const VISITOR_FEED = `subscription ($sessionId: ID) { liveChatSessionChanged(sessionId: $sessionId) { id status } }`;
const TYPING = `subscription ($sessionId: ID!) { chatTyping(sessionId: $sessionId) { authorKind name typing } }`;
const SET_TYPING = `mutation ($input: SetChatTypingInput!) { setChatTyping(input: $input) { ${USER_ERRORS} } }`;
const RATE = `mutation ($input: RateLiveChatInput!) { rateLiveChat(input: $input) { session { rating { rating } } ${USER_ERRORS} } }`;

/** The codes of the errors a subscription ended with (graphql-ws hands them over as a list). */
function codesOf(errors: unknown[]): string[] {
  return errors.flat().map((e: any) => e?.extensions?.code ?? e?.message ?? String(e));
}

async function startFrom(on: TestServer, address: string, channelId: string, visitorName = 'Vic') {
  const { startLiveChat } = await on
    .client(null)
    .request<any>(`mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { id status } visitorToken ${USER_ERRORS} } }`, { input: { channelId, visitorName } }, {
      'x-forwarded-for': address,
    });
  return startLiveChat as { session: { id: string; status: string } | null; visitorToken: string | null; userErrors: any[] };
}

describe("operators' emails", () => {
  it('are shown to staff only: not in the anonymous startLiveChat payload, not to the visitor (B1)', async () => {
    const { channelId } = await createChatTeam(server, 'Leak Mail');
    const ann = await createOperator(server, 'Mail Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const { startLiveChat } = await server
      .client(null)
      .request<any>(`mutation ($input: StartLiveChatInput!) { startLiveChat(input: $input) { session { id operator { name email } } visitorToken ${USER_ERRORS} } }`, {
        input: { channelId, visitorName: 'Anon' },
      });
    expect(startLiveChat.session.operator).toEqual({ name: 'Mail Ann', email: null });
    const SESSION = `query ($id: ID!) { liveChatSession(id: $id) { operator { name email } } }`;
    expect((await request(server, startLiveChat.visitorToken, SESSION, { id: startLiveChat.session.id })).liveChatSession.operator).toEqual({ name: 'Mail Ann', email: null });
    expect((await request(server, ann.token, SESSION, { id: startLiveChat.session.id })).liveChatSession.operator).toEqual({ name: 'Mail Ann', email: 'mail.ann@staff.test' });
  });
});

describe('LiveChatSession is authorised on the type', () => {
  it("refuses an agent who does not operate the channel, also through ticket { liveChatSession }", async () => {
    const { channelId } = await createChatTeam(server, 'Leak Desk');
    const ann = await createOperator(server, 'Desk Ann L');
    const outsider = await createOperator(server, 'Desk Outsider');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Paula' });
    const sessionId = chat.session.id;
    await send(server, ann.token, { sessionId, body: 'VIP: refund approved', operatorOnly: true });
    await send(server, ann.token, { sessionId, body: '/helpdesk Refund' });
    const { liveChatSession } = await request(server, ann.token, `query ($id: ID!) { liveChatSession(id: $id) { tickets { id } } }`, { id: sessionId });
    const ticketId = liveChatSession.tickets[0].id;

    const THROUGH_TICKET = `query ($id: ID!) { ticket(id: $id) { title liveChatSession { visitorName messages(first: 10) { nodes { body } } } } }`;
    const refused = await server
      .client(outsider.token)
      .rawRequest<any>(THROUGH_TICKET, { id: ticketId })
      .catch((err) => err.response);
    expect(refused.data?.ticket?.liveChatSession ?? null).toBeNull();
    // Each field asked of the session says so.
    expect(new Set(refused.errors.map((e: any) => e.extensions.code))).toEqual(new Set(['FORBIDDEN']));
    expect(JSON.stringify(refused.data)).not.toContain('refund approved');
    // The operator reads it whole.
    const allowed = await request(server, ann.token, THROUGH_TICKET, { id: ticketId });
    expect(allowed.ticket.liveChatSession.messages.nodes.map((n: any) => n.body)).toContain('VIP: refund approved');
  });
});

describe('an operator removed from a channel, or who leaves it', () => {
  for (const how of ['removed', 'leaves'] as const) {
    it(`stops receiving its streams at once when ${how === 'removed' ? 'an admin removes it' : 'it leaves'}: they end with FORBIDDEN`, async () => {
      const { channelId } = await createChatTeam(server, `Leak Gone ${how}`);
      const ann = await createOperator(server, `Gone Ann ${how}`);
      const bob = await createOperator(server, `Gone Bob ${how}`);
      await addOperators(server, channelId, [ann, bob]);
      const annOnline = await goOnline(server, channelId, ann);
      await goOnline(server, channelId, bob);
      const chat = await startChat(server, { channelId, visitorName: 'Vera' });
      const before = server.app.events.activeSubscriptions();
      const messages = subscribe(server.wsClient(bob.token), ADDED, { sessionId: chat.session.id });
      const bobFeed = subscribe(server.wsClient(bob.token), `subscription ($channelId: ID) { liveChatSessionChanged(channelId: $channelId) { id } }`, { channelId });
      await waitFor(() => server.app.events.activeSubscriptions() === before + 2, { what: "bob's two streams" });
      await messages.waitFor(1);

      if (how === 'removed') {
        const { removeLiveChatOperators } = await request(server, undefined as any, `mutation ($input: RemoveLiveChatOperatorsInput!) { removeLiveChatOperators(input: $input) { ${USER_ERRORS} } }`, {
          input: { channelId, agentIds: [bob.id] },
        });
        expect(removeLiveChatOperators.userErrors).toEqual([]);
      } else {
        const { leaveLiveChatChannel } = await request(server, bob.token, `mutation ($input: LeaveLiveChatChannelInput!) { leaveLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId } });
        expect(leaveLiveChatChannel.userErrors).toEqual([]);
      }
      await messages.untilEnded();
      await bobFeed.untilEnded();
      expect(codesOf(messages.errors)).toEqual(['FORBIDDEN']);
      expect(codesOf(bobFeed.errors)).toEqual(['FORBIDDEN']);
      // Nothing said after the removal reached bob; ann's feed goes on.
      await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'after the removal' });
      expect(messages.events.map((e: any) => e.chatMessageAdded.node.body)).not.toContain('after the removal');
      expect(annOnline.feed.errors).toEqual([]);
      annOnline.feed.dispose();
    });
  }
});

describe('typing indicators', () => {
  it('are refused on a closed session, and coalesced to one per author and session per second', async () => {
    const { channelId } = await createChatTeam(server, 'Leak Typing');
    const ann = await createOperator(server, 'Typing Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Tim' });
    const sessionId = chat.session.id;
    const typing = (token: string, value: boolean) => request(server, token, SET_TYPING, { input: { sessionId, typing: value } }).then((r) => r.setChatTyping.userErrors);

    const relay = typingRelayOf(server.app.events);
    const before = relay.activeSubscriptions();
    const seen = subscribe(server.wsClient(ann.token), TYPING, { sessionId });
    await waitFor(() => relay.activeSubscriptions() === before + 1, { what: 'typing subscription' });

    // A burst: every call accepted, one event reaches the operator.
    const burstAt = Date.now();
    const burst = await Promise.all(Array.from({ length: 8 }, () => typing(chat.visitorToken, true)));
    expect(burst).toEqual(Array.from({ length: 8 }, () => []));
    await seen.waitFor(1);
    // Keep telling "stopped" until it gets through: at most one a second, so the second event is
    // the first "stopped" sent a second or more after the burst's event.
    await waitFor(async () => (await typing(chat.visitorToken, false)).length === 0 && seen.events.length >= 2, { what: 'the next typing event' });
    // The burst's event went out after the burst started, so the next no sooner than a second after it.
    expect(Date.now() - burstAt).toBeGreaterThanOrEqual(1000);
    await seen.waitFor(2);
    expect(seen.events.map((e: any) => e.chatTyping.typing)).toEqual([true, false]);

    // The operator is another author: not held back by the visitor's indicator.
    const visitorSeen = subscribe(server.wsClient(chat.visitorToken), TYPING, { sessionId });
    await waitFor(() => relay.activeSubscriptions() === before + 2, { what: "the visitor's typing subscription" });
    expect(await typing(ann.token, true)).toEqual([]);
    expect((await visitorSeen.waitFor(1))[0].chatTyping).toMatchObject({ authorKind: 'OPERATOR', typing: true });

    await close(server, ann.token, sessionId);
    expect(await typing(chat.visitorToken, true)).toEqual([{ field: ['input', 'sessionId'], code: 'SESSION_CLOSED', message: expect.any(String) }]);
    seen.dispose();
    visitorSeen.dispose();
  });
});

describe('closing a session', () => {
  it("ends its visitor's streams, after the last message and the closed session", async () => {
    const { channelId } = await createChatTeam(server, 'Leak Close');
    const ann = await createOperator(server, 'Close Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Cleo' });
    const sessionId = chat.session.id;
    const before = server.app.events.activeSubscriptions();
    const visitor = server.wsClient(chat.visitorToken);
    const messages = subscribe(visitor, ADDED, { sessionId });
    const changes = subscribe(visitor, VISITOR_FEED, { sessionId });
    const typing = subscribe(visitor, TYPING, { sessionId });
    await waitFor(() => server.app.events.activeSubscriptions() === before + 2, { what: "the visitor's streams" });
    await messages.waitFor(1);

    await close(server, ann.token, sessionId);
    await messages.untilEnded();
    await changes.untilEnded();
    await typing.untilEnded();
    expect([messages.completed, changes.completed, typing.completed]).toEqual([true, true, true]);
    expect(messages.events.map((e: any) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'Close Ann closed the conversation.']);
    expect(changes.events.at(-1).liveChatSessionChanged).toEqual({ id: sessionId, status: 'CLOSED' });

    // Reading a closed session's messages as a stream replays them and ends.
    const replay = subscribe(server.wsClient(chat.visitorToken), ADDED, { sessionId });
    await replay.untilEnded();
    expect(replay.completed).toBe(true);
    expect(replay.events).toHaveLength(2);
  });
});

describe('ratings', () => {
  it('are given once, after the close', async () => {
    const { channelId } = await createChatTeam(server, 'Leak Rating');
    const ann = await createOperator(server, 'Rating Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Rita' });
    const rate = (rating: string) => request(server, chat.visitorToken, RATE, { input: { sessionId: chat.session.id, rating } }).then((r) => r.rateLiveChat);

    expect(await rate('SATISFIED')).toEqual({ session: null, userErrors: [{ field: ['input', 'sessionId'], code: 'SESSION_OPEN', message: expect.any(String) }] });
    await close(server, chat.visitorToken, chat.session.id);
    expect(await rate('DISSATISFIED')).toEqual({ session: { rating: { rating: 'DISSATISFIED' } }, userErrors: [] });
    expect(await rate('SATISFIED')).toEqual({ session: null, userErrors: [{ field: ['input', 'sessionId'], code: 'ALREADY_RATED', message: expect.any(String) }] });
    const { liveChatSession } = await request(server, ann.token, `query ($id: ID!) { liveChatSession(id: $id) { rating { rating } } }`, { id: chat.session.id });
    expect(liveChatSession.rating).toEqual({ rating: 'DISSATISFIED' });
  });
});

describe('one client address', () => {
  let limited: TestServer;
  beforeAll(async () => {
    // Clients reach it through a proxy on 127.0.0.1 that names them in X-Forwarded-For.
    limited = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', LIVECHAT_OPEN_SESSIONS_PER_ADDRESS: '3' });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  it('holds at most LIVECHAT_OPEN_SESSIONS_PER_ADDRESS (3) open or waiting sessions; IPv6 counts per /64', async () => {
    const { channelId } = await createChatTeam(limited, 'Leak Address', {});
    const ann = await createOperator(limited, 'Address Ann');
    await addOperators(limited, channelId, [ann]);
    await goOnline(limited, channelId, ann);

    const v4 = [];
    for (let i = 0; i < 3; i++) v4.push(await startFrom(limited, '198.51.100.7', channelId));
    expect(v4.map((s) => s.userErrors)).toEqual([[], [], []]);
    const fourth = await startFrom(limited, '198.51.100.7', channelId);
    expect(fourth).toMatchObject({ session: null, visitorToken: null, userErrors: [{ field: null, code: 'TOO_MANY_OPEN_SESSIONS' }] });
    // Another address is not held back; a closed session frees a place.
    expect((await startFrom(limited, '198.51.100.8', channelId)).userErrors).toEqual([]);
    await close(limited, v4[0]!.visitorToken!, v4[0]!.session!.id);
    expect((await startFrom(limited, '198.51.100.7', channelId)).userErrors).toEqual([]);

    // Rotating addresses of one /64 count as one client.
    const v6 = [];
    for (const address of ['2001:db8:7:1::1', '2001:db8:7:1:a:b:c:d', '2001:db8:7:1:ffff::1']) v6.push(await startFrom(limited, address, channelId));
    expect(v6.map((s) => s.userErrors)).toEqual([[], [], []]);
    expect((await startFrom(limited, '2001:db8:7:1:1234:5678:9abc:def0', channelId)).userErrors.map((e) => e.code)).toEqual(['TOO_MANY_OPEN_SESSIONS']);
    expect((await startFrom(limited, '2001:db8:7:2::1', channelId)).userErrors).toEqual([]);
  });
});
