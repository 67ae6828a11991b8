import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, send, startChat } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('what a visitor types is cleaned alike', () => {
  it('drops C0 controls and bidirectional overrides from visitor names as from message bodies', async () => {
    const { channelId } = await createChatTeam(server, 'Clean Names');
    const ann = await createOperator(server, 'Clean Ann');
    await addOperators(server, channelId, [ann]);
    await goOnline(server, channelId, ann);
    // U+202E would show "Paul\u202Egnp.exe" as "Paulexe.png"; U+0007 rings the bell of a terminal reading logs.
    const chat = await startChat(server, { channelId, visitorName: 'Paul\u0007\u202Egnp.exe\u2066x\u2069' });
    expect(chat.userErrors).toEqual([]);
    expect(chat.session.visitorName).toBe('Paulgnp.exex');
    const sent = await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'see\u202E fdp.exe\u0001\nnext line' });
    expect(sent.message.body).toBe('see fdp.exe\nnext line');
    expect(sent.message.author).toEqual({ kind: 'VISITOR', name: 'Paulgnp.exex' });
    expect(await bodies(server, ann.token, chat.session.id)).toContain('see fdp.exe\nnext line');
  });

  it('cleans the name and message a visitor leaves from the widget alike', async () => {
    const { team, channelId } = await createChatTeam(server, 'Clean Left');
    const { liveChatChannel } = await server.client().request<any>(`query ($id: ID!) { liveChatChannel(id: $id) { key } }`, { id: channelId });
    const { leaveLiveChatMessage } = await server.client(null).request<any>(
      `mutation ($input: LeaveLiveChatMessageInput!) { leaveLiveChatMessage(input: $input) { ticketNumber userErrors { code } } }`,
      { input: { channelKey: liveChatChannel.key, name: 'Paul\u0007\u202Egnp.exe', email: 'paul@example.com', message: 'see\u202E fdp.exe\u0001\nnext line' } },
    );
    expect(leaveLiveChatMessage.userErrors).toEqual([]);
    const { tickets } = await server.client().request<any>(`query ($t: ID!) { tickets(first: 5, filter: { teamId: $t }) { nodes { title description customer { name } } } }`, { t: team.id });
    expect(tickets.nodes).toEqual([{ title: 'see fdp.exe', description: 'see fdp.exe\nnext line', customer: { name: 'Paulgnp.exe' } }]);
  });
});
