import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { addOperators, close, createChatTeam, createOperator, goOnline, request, send, startChat, USER_ERRORS } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const RATE = `mutation ($input: RateLiveChatInput!) { rateLiveChat(input: $input) { session { rating { rating comment } } ${USER_ERRORS} } }`;

describe('ratings and the sessions list', () => {
  it('rates once, after the close; satisfaction over a period; the ratings log; the sessions list', async () => {
    const { channelId } = await createChatTeam(server, 'Rated Team');
    const ann = await createOperator(server, 'Rated Ann');
    const bob = await createOperator(server, 'Rated Bob');
    await addOperators(server, channelId, [ann, bob]);
    const online = [await goOnline(server, channelId, ann), await goOnline(server, channelId, bob)];
    const chats: Awaited<ReturnType<typeof startChat>>[] = [];
    for (const name of ['S1', 'S2', 'S3', 'S4', 'S5']) chats.push(await startChat(server, { channelId, visitorName: name }));
    const rate = (i: number, rating: string, comment?: string) => request(server, chats[i]!.visitorToken, RATE, { input: { sessionId: chats[i]!.session.id, rating, comment } });

    // Rated once, after the close.
    expect((await rate(0, 'DISSATISFIED')).rateLiveChat.userErrors.map((e: any) => e.code)).toEqual(['SESSION_OPEN']);
    for (const i of [0, 1, 2, 3]) await close(server, chats[i]!.visitorToken, chats[i]!.session.id);
    expect((await rate(0, 'SATISFIED', 'Quick and kind')).rateLiveChat.session.rating).toEqual({ rating: 'SATISFIED', comment: 'Quick and kind' });
    expect((await rate(0, 'DISSATISFIED')).rateLiveChat).toMatchObject({ session: null, userErrors: [{ code: 'ALREADY_RATED' }] });
    expect((await rate(1, 'SATISFIED')).rateLiveChat.userErrors).toEqual([]);
    await rate(2, 'OKAY');
    await rate(3, 'DISSATISFIED', 'Too slow');
    // An old rating, outside a 14-day period.
    await server.app.database.rows(sql`update live_chat_ratings set created_at = now() - interval '20 days' where session_id = ${Number(Buffer.from(chats[3]!.session.id, 'base64').toString().split(':')[1])}`);

    const SATISFACTION = `query ($id: ID!) { liveChatChannel(id: $id) { recent: satisfaction { percent rated satisfied okay dissatisfied } month: satisfaction(days: 30) { percent rated dissatisfied } } }`;
    const { liveChatChannel } = await request(server, ann.token, SATISFACTION, { id: channelId });
    expect(liveChatChannel.recent).toEqual({ percent: 66.7, rated: 3, satisfied: 2, okay: 1, dissatisfied: 0 });
    expect(liveChatChannel.month).toEqual({ percent: 50, rated: 4, dissatisfied: 1 });

    const log = await request(server, ann.token, `query ($id: ID!) { liveChatChannel(id: $id) { ratings(first: 2) { totalCount edges { cursor node { rating comment createdAt operator { name } session { visitorName } } } pageInfo { hasNextPage endCursor } } } }`, { id: channelId });
    const ratings = log.liveChatChannel.ratings;
    expect(ratings.totalCount).toBe(4);
    expect(ratings.pageInfo.hasNextPage).toBe(true);
    expect(ratings.edges.map((e: any) => e.node.session.visitorName)).toEqual(['S3', 'S2']);
    const next = await request(server, ann.token, `query ($id: ID!, $after: String) { liveChatChannel(id: $id) { ratings(first: 5, after: $after) { edges { node { session { visitorName } comment } } } } }`, {
      id: channelId,
      after: ratings.pageInfo.endCursor,
    });
    expect(next.liveChatChannel.ratings.edges.map((e: any) => [e.node.session.visitorName, e.node.comment])).toEqual([
      ['S1', 'Quick and kind'],
      ['S4', 'Too slow'],
    ]);

    await send(server, chats[4]!.visitorToken, { sessionId: chats[4]!.session.id, body: 'one' });
    await send(server, chats[4]!.visitorToken, { sessionId: chats[4]!.session.id, body: 'two' });
    const LIST = `query ($id: ID!, $filter: LiveChatSessionFilter) { liveChatChannel(id: $id) { sessions(first: 10, filter: $filter) { totalCount edges { node { visitorName status messageCount rating { rating } operator { name } createdAt closedAt } } } } }`;
    const all = (await request(server, ann.token, LIST, { id: channelId })).liveChatChannel.sessions;
    expect(all.totalCount).toBe(5);
    expect(all.edges.map((e: any) => e.node.visitorName)).toEqual(['S5', 'S4', 'S3', 'S2', 'S1']);
    expect(all.edges[0].node).toMatchObject({ status: 'OPEN', messageCount: 3, rating: null, closedAt: null });
    expect(all.edges[3].node).toMatchObject({ status: 'CLOSED', messageCount: 2, rating: { rating: 'SATISFIED' }, closedAt: expect.any(String) });
    const closedOnly = (await request(server, ann.token, LIST, { id: channelId, filter: { status: 'CLOSED' } })).liveChatChannel.sessions;
    expect(closedOnly.edges.map((e: any) => e.node.visitorName)).toEqual(['S4', 'S3', 'S2', 'S1']);
    const annsOnly = (await request(server, ann.token, LIST, { id: channelId, filter: { operatorId: ann.id } })).liveChatChannel.sessions;
    expect(annsOnly.edges.every((e: any) => e.node.operator.name === 'Rated Ann')).toBe(true);
    expect(annsOnly.totalCount).toBe(all.edges.filter((e: any) => e.node.operator.name === 'Rated Ann').length);
    online.forEach((o) => o.feed.dispose());
  });
});
