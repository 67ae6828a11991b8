import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, bodies, close, createChatTeam, createOperator, goOnline, operatorStates, request, SESSION_FIELDS, startChat, USER_ERRORS, waitUntil } from './support.js';

// The line must never stick: every place that frees serves it, whoever freed it.
let server: TestServer;
beforeAll(async () => {
  // Presence heartbeat every 200 ms, so a repaired presence row shows within the test's wait.
  server = await startTestServer({ LIVECHAT_PRESENCE_HEARTBEAT_MS: '200' });
});
afterAll(async () => {
  await server?.stop();
});

const TRANSFER = `mutation ($input: TransferLiveChatInput!) { transferLiveChat(input: $input) { session { status operator { name } } ${USER_ERRORS} } }`;
const VISITOR_FEED = `subscription ($sessionId: ID) { liveChatSessionChanged(sessionId: $sessionId) { ${SESSION_FIELDS} } }`;
const SESSION = `query ($id: ID!) { liveChatSession(id: $id) { ${SESSION_FIELDS} } }`;

async function setCap(channelId: string, cap: number | null) {
  const { updateLiveChatChannel } = await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, {
    input: { channelId, maxSessionsPerOperator: cap },
  });
  expect(updateLiveChatChannel.userErrors).toEqual([]);
}

async function sessionOf(id: string) {
  return (await request(server, undefined as any, SESSION, { id })).liveChatSession as { id: string; status: string; queuePosition: number | null; operator: { name: string } | null };
}

describe('transfers', () => {
  it('may go past the target cap, and the place it frees serves the line at once', async () => {
    const { channelId } = await createChatTeam(server, 'Line Transfer');
    const ann = await createOperator(server, 'Transfer Ann');
    const bob = await createOperator(server, 'Transfer Bob');
    await addOperators(server, channelId, [ann, bob]);
    await setCap(channelId, 1);
    const online = [await goOnline(server, channelId, ann), await goOnline(server, channelId, bob)];
    const first = await startChat(server, { channelId, visitorName: 'First' });
    const second = await startChat(server, { channelId, visitorName: 'Second' });
    const waiting = await startChat(server, { channelId, visitorName: 'Waiting' });
    expect(waiting.session).toMatchObject({ status: 'WAITING', queuePosition: 1 });
    const annChat = [first, second].find((c) => c.session.operator.name === ann.name)!;

    const moved = (await request(server, ann.token, TRANSFER, { input: { sessionId: annChat.session.id, agentId: bob.id } })).transferLiveChat;
    expect(moved).toEqual({ session: { status: 'OPEN', operator: { name: bob.name } }, userErrors: [] });
    // Bob is past the cap (a person decided it); Ann's freed place went to the visitor in line.
    expect(await sessionOf(waiting.session.id)).toMatchObject({ status: 'OPEN', operator: { name: ann.name }, queuePosition: null });
    const states = await operatorStates(server, channelId);
    expect(states.operators.map((o) => [o.agent.name, o.openSessions])).toEqual([
      [ann.name, 1],
      [bob.name, 2],
    ]);
    // A newcomer is not stuck behind anyone: nobody has room, so it waits first in line.
    const newcomer = await startChat(server, { channelId, visitorName: 'Newcomer' });
    expect(newcomer.session).toMatchObject({ status: 'WAITING', queuePosition: 1 });
    online.forEach((o) => o.feed.dispose());
  });

  it('an admin moves a waiting session to an operator past the cap; those behind it hear their new position', async () => {
    const { channelId } = await createChatTeam(server, 'Line Admin Move');
    const ann = await createOperator(server, 'Move Ann');
    await addOperators(server, channelId, [ann]);
    await setCap(channelId, 1);
    const online = await goOnline(server, channelId, ann);
    await startChat(server, { channelId, visitorName: 'Busy' });
    const w1 = await startChat(server, { channelId, visitorName: 'W1' });
    const w2 = await startChat(server, { channelId, visitorName: 'W2' });
    const w3 = await startChat(server, { channelId, visitorName: 'W3' });
    expect([w1, w2, w3].map((w) => w.session.queuePosition)).toEqual([1, 2, 3]);
    const w3Feed = subscribe(server.wsClient(w3.visitorToken), VISITOR_FEED, { sessionId: w3.session.id });
    await waitUntil(
      async () => server.app.events.activeSubscriptions(),
      (n) => n >= 2,
    );

    const moved = (await request(server, undefined as any, TRANSFER, { input: { sessionId: w2.session.id, agentId: ann.id } })).transferLiveChat;
    expect(moved).toEqual({ session: { status: 'OPEN', operator: { name: ann.name } }, userErrors: [] });
    const [event] = await w3Feed.waitFor(1);
    expect(event.liveChatSessionChanged).toMatchObject({ id: w3.session.id, status: 'WAITING', queuePosition: 2 });
    expect(await sessionOf(w1.session.id)).toMatchObject({ status: 'WAITING', queuePosition: 1 });
    w3Feed.dispose();
    online.feed.dispose();
  });
});

describe('operators leaving a channel', () => {
  it("their open sessions go back to the line and are served at once, or wait when nobody has room", async () => {
    const { channelId } = await createChatTeam(server, 'Line Leave');
    const ann = await createOperator(server, 'Leave Ann');
    const bob = await createOperator(server, 'Leave Bob');
    const cid = await createOperator(server, 'Leave Cid');
    await addOperators(server, channelId, [ann, bob, cid]);
    await setCap(channelId, 1);
    const online = [await goOnline(server, channelId, ann), await goOnline(server, channelId, bob)];
    const one = await startChat(server, { channelId, visitorName: 'One' });
    const two = await startChat(server, { channelId, visitorName: 'Two' });
    const annChat = [one, two].find((c) => c.session.operator.name === ann.name)!;
    const bobChat = annChat === one ? two : one;
    online.push(await goOnline(server, channelId, cid));

    // Ann is removed by an admin: her session goes to Cid, who has room.
    const { removeLiveChatOperators } = await request(server, undefined as any, `mutation ($input: RemoveLiveChatOperatorsInput!) { removeLiveChatOperators(input: $input) { ${USER_ERRORS} } }`, {
      input: { channelId, agentIds: [ann.id] },
    });
    expect(removeLiveChatOperators.userErrors).toEqual([]);
    expect(await sessionOf(annChat.session.id)).toMatchObject({ status: 'OPEN', operator: { name: cid.name } });
    expect(await bodies(server, annChat.visitorToken, annChat.session.id)).toContain(`${ann.name} left the conversation; the next free operator will answer.`);

    // Bob leaves: Cid is full, so his visitor waits, first in line.
    const { leaveLiveChatChannel } = await request(server, bob.token, `mutation ($input: LeaveLiveChatChannelInput!) { leaveLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId } });
    expect(leaveLiveChatChannel.userErrors).toEqual([]);
    expect(await sessionOf(bobChat.session.id)).toMatchObject({ status: 'WAITING', queuePosition: 1, operator: null });
    // A place frees: the returned visitor is served.
    await close(server, cid.token, annChat.session.id);
    expect(await sessionOf(bobChat.session.id)).toMatchObject({ status: 'OPEN', operator: { name: cid.name } });
    online.forEach((o) => o.feed.dispose());
  });
});

describe('switching a channel', () => {
  const switchTeam = async (teamId: string, useLiveChat: boolean) => {
    const { updateTeam } = await request(server, undefined as any, `mutation ($input: UpdateTeamInput!) { updateTeam(input: $input) { ${USER_ERRORS} } }`, { input: { id: teamId, useLiveChat } });
    expect(updateTeam.userErrors).toEqual([]);
  };

  it('off closes the waiting sessions with a message; on serves the line', async () => {
    const { team, channelId } = await createChatTeam(server, 'Line Switch');
    const ann = await createOperator(server, 'Switch Ann');
    const bob = await createOperator(server, 'Switch Bob');
    await addOperators(server, channelId, [ann, bob]);
    await setCap(channelId, 1);
    const annOnline = await goOnline(server, channelId, ann);
    const open = await startChat(server, { channelId, visitorName: 'Open' });
    const waiting = await startChat(server, { channelId, visitorName: 'Waiting' });
    expect(waiting.session.status).toBe('WAITING');

    await switchTeam(team.id, false);
    expect(await sessionOf(waiting.session.id)).toMatchObject({ status: 'CLOSED' });
    expect((await bodies(server, waiting.visitorToken, waiting.session.id)).at(-1)).toBe('Live chat was switched off: leave a message instead.');
    // Open conversations go on.
    expect(await sessionOf(open.session.id)).toMatchObject({ status: 'OPEN' });

    // While off, Ann leaves: her visitor waits, as nobody is served on a switched-off channel.
    const bobOnline = await goOnline(server, channelId, bob);
    await request(server, ann.token, `mutation ($input: LeaveLiveChatChannelInput!) { leaveLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId } });
    expect(await sessionOf(open.session.id)).toMatchObject({ status: 'WAITING' });
    await switchTeam(team.id, true);
    expect(await sessionOf(open.session.id)).toMatchObject({ status: 'OPEN', operator: { name: bob.name } });
    annOnline.feed.dispose();
    bobOnline.feed.dispose();
  });
});

describe('idle longest', () => {
  it('is the operator whose latest assignment or message is oldest', async () => {
    const { channelId } = await createChatTeam(server, 'Line Idle');
    const ann = await createOperator(server, 'Idle Ann');
    const bob = await createOperator(server, 'Idle Bob');
    await addOperators(server, channelId, [ann, bob]);
    const online = [await goOnline(server, channelId, ann), await goOnline(server, channelId, bob)];
    // Ann first (lower id, never active), then Bob (fewest open).
    const a = await startChat(server, { channelId, visitorName: 'A' });
    const b = await startChat(server, { channelId, visitorName: 'B' });
    expect([a.session.operator.name, b.session.operator.name]).toEqual([ann.name, bob.name]);
    // Both have one session; Ann was assigned first, but she wrote since: Bob is idle longest.
    const sent = await request(server, ann.token, `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: a.session.id, body: 'Hi A' } });
    expect(sent.sendChatMessage.userErrors).toEqual([]);
    const c = await startChat(server, { channelId, visitorName: 'C' });
    expect(c.session.operator.name).toBe(bob.name);
    online.forEach((o) => o.feed.dispose());
  });
});

describe('returning visitors', () => {
  it('a returning visitor who waited is served by its previous operator when the line moves', async () => {
    const { channelId } = await createChatTeam(server, 'Line Returning');
    const ann = await createOperator(server, 'Return Ann');
    const bob = await createOperator(server, 'Return Bob');
    await addOperators(server, channelId, [ann, bob]);
    await setCap(channelId, 1);
    const online = [await goOnline(server, channelId, ann), await goOnline(server, channelId, bob)];
    const earlier = await startChat(server, { channelId, visitorName: 'Earlier' });
    const previous = earlier.session.operator.name === ann.name ? ann : bob;
    await close(server, previous.token, earlier.session.id);
    const busy = [await startChat(server, { channelId, visitorName: 'Busy 1' }), await startChat(server, { channelId, visitorName: 'Busy 2' })];
    const back = await startChat(server, { channelId, visitorName: 'Back', previousSessionKey: earlier.sessionKey });
    expect(back.session.status).toBe('WAITING');
    // The previous operator is the most recently active now: without the wish, the other one would be chosen.
    const previousChat = busy.find((c) => c.session.operator.name === previous.name)!;
    const sent = await request(server, previous.token, `mutation ($input: SendChatMessageInput!) { sendChatMessage(input: $input) { ${USER_ERRORS} } }`, { input: { sessionId: previousChat.session.id, body: 'One moment' } });
    expect(sent.sendChatMessage.userErrors).toEqual([]);
    await setCap(channelId, 2);
    expect(await sessionOf(back.session.id)).toMatchObject({ status: 'OPEN', operator: { name: previous.name } });
    online.forEach((o) => o.feed.dispose());
  });
});

describe('presence', () => {
  it("is re-created by the instance's heartbeat after its rows were dropped (a long database outage)", async () => {
    const { channelId } = await createChatTeam(server, 'Line Presence');
    const ann = await createOperator(server, 'Presence Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    // What another instance does to rows not refreshed for a while.
    const dropped = await queryRows(server.app.database.db, sql`delete from live_chat_presences returning id`);
    expect(dropped.length).toBeGreaterThan(0);
    await waitUntil(
      () => operatorStates(server, channelId),
      (s) => s.available && s.operators.every((o) => o.connected),
    );
    online.feed.dispose();
  });
});
