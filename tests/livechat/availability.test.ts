import { sql } from 'drizzle-orm';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numericSettings } from '../../src/config.js';
import { PRESENCE_TTL_SECONDS } from '../../src/livechat/presence.js';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, createChatTeam, createOperator, goOnline, request, USER_ERRORS } from './support.js';

let server: TestServer;
beforeAll(async () => {
  // A fast heartbeat, so a presence gone stale is seen soon; a short grace for anonymous sockets.
  server = await startTestServer({ LIVECHAT_PRESENCE_HEARTBEAT_MS: '200', WS_ANONYMOUS_GRACE_MS: '300' });
});
afterAll(async () => {
  await server?.stop();
});

const AVAILABILITY = `subscription ($key: String!) { liveChatAvailability(channelKey: $key) }`;
const STATUS = `mutation ($input: SetOperatorStatusInput!) { setOperatorStatus(input: $input) { ${USER_ERRORS} } }`;

async function chatChannel(name: string) {
  const { team, channelId } = await createChatTeam(server, name);
  const { liveChatChannel } = await request(server, undefined as any, `query ($id: ID!) { liveChatChannel(id: $id) { key } }`, { id: channelId });
  return { team, channelId, key: liveChatChannel.key as string };
}

/** An anonymous visitor's socket, and whether the server closed it. */
function anonymousSocket() {
  const state = { closedWith: null as number | null };
  const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, on: { closed: (event: any) => (state.closedWith = event.code) } });
  return { client, state };
}

describe('liveChatAvailability', () => {
  it('emits the current value, then each change: accepting, connecting, leaving, the channel switched, the offline behaviour', async () => {
    const { team, channelId, key } = await chatChannel('Availability Changes');
    const operator = await createOperator(server, 'Availability Operator');
    await addOperators(server, channelId, [operator]);
    const visitor = anonymousSocket();
    const stream = subscribe<{ liveChatAvailability: boolean }>(visitor.client, AVAILABILITY, { key });
    const values = async (count: number) => (await stream.waitFor(count)).map((e) => e.liveChatAvailability);
    expect(await values(1)).toEqual([false]);

    const online = await goOnline(server, channelId, operator);
    expect(await values(2)).toEqual([false, true]);

    await request(server, operator.token, STATUS, { input: { accepting: false } });
    expect(await values(3)).toEqual([false, true, false]);
    await request(server, operator.token, STATUS, { input: { accepting: true } });
    expect(await values(4)).toEqual([false, true, false, true]);

    // The operator's feed closes: nobody is connected any more.
    online.feed.dispose();
    expect(await values(5)).toEqual([false, true, false, true, false]);
    const again = await goOnline(server, channelId, operator);
    expect(await values(6)).toEqual([false, true, false, true, false, true]);

    const UPDATE_TEAM = `mutation ($input: UpdateTeamInput!) { updateTeam(input: $input) { ${USER_ERRORS} } }`;
    await request(server, undefined as any, UPDATE_TEAM, { input: { id: team.id, useLiveChat: false } });
    expect((await values(7)).at(-1)).toBe(false);
    await request(server, undefined as any, UPDATE_TEAM, { input: { id: team.id, useLiveChat: true } });
    expect((await values(8)).at(-1)).toBe(true);

    // The offline behaviour changed: the same value again, so the widget reads liveChatWidget anew.
    const UPDATE = `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`;
    await request(server, undefined as any, UPDATE, { input: { channelId, offlineBehavior: 'HIDE' } });
    expect((await values(9)).at(-1)).toBe(true);

    // An anonymous socket holding the public subscription outlived the grace period all along.
    expect(visitor.state.closedWith).toBeNull();
    again.feed.dispose();
    stream.dispose();
  });

  it('sees a presence gone stale (its instance died) at the next heartbeat', async () => {
    const { channelId, key } = await chatChannel('Availability Stale');
    const operator = await createOperator(server, 'Stale Operator');
    await addOperators(server, channelId, [operator]);
    await goOnline(server, channelId, operator);
    const stream = subscribe<{ liveChatAvailability: boolean }>(anonymousSocket().client, AVAILABILITY, { key });
    expect((await stream.waitFor(1)).map((e) => e.liveChatAvailability)).toEqual([true]);
    // As if the instance holding the operator's feed had stopped refreshing it long ago; the
    // tracker of this instance is stopped from writing it back by moving the row to another instance.
    await server.app.database.db.execute(sql`update live_chat_presences set heartbeat_at = now() - interval '60 seconds', instance_id = 'dead-instance'`);
    expect((await stream.waitFor(2)).map((e) => e.liveChatAvailability)).toEqual([true, false]);
    stream.dispose();
  });

  it('sees the last operator gone within 60 s, even at the longest heartbeat a setting allows', () => {
    // A presence not refreshed is stale after its TTL, and the watcher reads again at each heartbeat.
    const heartbeat = numericSettings().find((s) => s.name === 'LIVECHAT_PRESENCE_HEARTBEAT_MS')!;
    expect(PRESENCE_TTL_SECONDS * 1000 + heartbeat.max).toBeLessThanOrEqual(60_000);
  });

  it('refuses an unknown key', async () => {
    const stream = subscribe(anonymousSocket().client, AVAILABILITY, { key: 'no-such-channel' });
    await expect(stream.waitFor(1)).rejects.toThrow(/NOT_FOUND|No live chat channel/);
  });
});
