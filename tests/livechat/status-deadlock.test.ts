import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suitePostgresUrl } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { addOperators, close, createChatTeam, createOperator, goOnline, request, startChat, USER_ERRORS } from './support.js';

// Needs PostgreSQL to mean anything (PGlite runs one statement at a time):
// DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx vitest run tests/livechat/status-deadlock.test.ts
let server: TestServer;
beforeAll(async () => {
  // Every chat comes from the test's one address.
  server = await startTestServer({ LIVECHAT_SESSIONS_PER_HOUR: '1000' });
});
afterAll(async () => {
  await server?.stop();
});

describe('setOperatorStatus and assignment', () => {
  it('never deadlock: an operator re-sending its status while a close serves the line to it', async () => {
    const { channelId } = await createChatTeam(server, 'Deadlock Team');
    const ann = await createOperator(server, 'Deadlock Ann');
    await addOperators(server, channelId, [ann]);
    await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId, maxSessionsPerOperator: 1 } });
    const online = await goOnline(server, channelId, ann);
    let current = await startChat(server, { channelId, visitorName: 'Visitor 0' });
    expect(current.session.status).toBe('OPEN');
    const STATUS = `mutation ($input: SetOperatorStatusInput!) { setOperatorStatus(input: $input) { ${USER_ERRORS} } }`;
    // PGlite runs one statement at a time, so only PostgreSQL can cross the two (before the fix,
    // a deadlock came within the first rounds); PGlite checks the outcome in a few.
    const rounds = suitePostgresUrl ? 40 : 8;
    for (let round = 1; round <= rounds; round += 1) {
      const next = await startChat(server, { channelId, visitorName: `Visitor ${round}` });
      expect(next.userErrors).toEqual([]);
      expect(next.session.status).toBe('WAITING');
      // The close locks the channel, then gives the waiting visitor to Ann; the status change
      // touches Ann's status row, then serves her channels' lines. Either order must pass.
      const [closed, status] = await Promise.all([close(server, ann.token, current.session.id), request(server, ann.token, STATUS, { input: { accepting: true, languages: ['en'] } })]);
      expect(closed.userErrors).toEqual([]);
      expect(status.setOperatorStatus.userErrors).toEqual([]);
      const { liveChatSession } = await request(server, ann.token, `query ($id: ID!) { liveChatSession(id: $id) { status operator { name } } }`, { id: next.session.id });
      expect(liveChatSession).toEqual({ status: 'OPEN', operator: { name: ann.name } });
      current = next;
    }
    online.feed.dispose();
  });
});
