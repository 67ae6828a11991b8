import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, request, send, startChat } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const ADDED = `subscription ($sessionId: ID!) { chatMessageAdded(sessionId: $sessionId) { node { body } } }`;
const CREATED = `subscription ($teamId: ID) { ticketCreated(teamId: $teamId) { node { number title } } }`;

describe('/helpdesk in a chat', () => {
  it("files a ticket in the chat's own team with the transcript, linked both ways; the visitor sees nothing of it", async () => {
    // Another team with live chat exists first: the ticket must not land there.
    await createChatTeam(server, 'Desk Other');
    const { team, channelId } = await createChatTeam(server, 'Desk Printers');
    const ann = await createOperator(server, 'Desk Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Paula', visitorEmail: 'paula@example.com' });
    const sessionId = chat.session.id;
    const before = server.app.events.activeSubscriptions();
    const visitorStream = subscribe(server.wsClient(chat.visitorToken), ADDED, { sessionId });
    const created = subscribe(server.wsClient(), CREATED, { teamId: team.id });
    await waitFor(() => server.app.events.activeSubscriptions() === before + 2, { what: 'visitor and ticket subscriptions' });

    await send(server, chat.visitorToken, { sessionId, body: 'My printer is on fire' });
    await send(server, ann.token, { sessionId, body: 'Note: call the fire brigade', operatorOnly: true });
    await send(server, ann.token, { sessionId, body: 'Please step away from it.' });
    const command = await send(server, ann.token, { sessionId, body: '/helpdesk Printer on fire' });
    expect(command).toMatchObject({ message: { body: '/helpdesk Printer on fire', operatorOnly: true }, userErrors: [] });

    const [event] = await created.waitFor(1);
    const number = event.ticketCreated.node.number;
    expect(event.ticketCreated.node.title).toBe('Printer on fire');
    expect((await bodies(server, ann.token, sessionId)).slice(-2)).toEqual(['/helpdesk Printer on fire', `Ticket #${number} created: Printer on fire`]);

    const { liveChatSession } = await request(
      server,
      ann.token,
      `query ($id: ID!) { liveChatSession(id: $id) { tickets { title channel description team { name } customer { email name } liveChatSession { id } source { kind nodeId } messages(first: 10) { nodes { author { kind name } bodyText } } } } }`,
      { id: sessionId },
    );
    expect(liveChatSession.tickets).toEqual([
      {
        title: 'Printer on fire',
        channel: 'LIVE_CHAT',
        description: 'Paula: My printer is on fire\nDesk Ann: Please step away from it.',
        team: { name: 'Desk Printers' },
        customer: { email: 'paula@example.com', name: 'Paula' },
        liveChatSession: { id: sessionId },
        // The transcript form of the one creation path: each chat line a message with its author; the operator-only note stays out.
        source: { kind: 'LIVE_CHAT_SESSION', nodeId: sessionId },
        messages: {
          nodes: [
            { author: { kind: 'CUSTOMER', name: 'Paula' }, bodyText: 'My printer is on fire' },
            { author: { kind: 'AGENT', name: 'Desk Ann' }, bodyText: 'Please step away from it.' },
          ],
        },
      },
    ]);

    // The visitor's stream and history hold the conversation only.
    await send(server, ann.token, { sessionId, body: 'Done.' });
    const seen = await visitorStream.waitFor(4);
    expect(seen.map((e) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'My printer is on fire', 'Please step away from it.', 'Done.']);
    expect(await bodies(server, chat.visitorToken, sessionId)).toEqual(['How may I help you?', 'My printer is on fire', 'Please step away from it.', 'Done.']);

    const search = await send(server, ann.token, { sessionId, body: '/helpdesk_search printer' });
    expect(search.message.operatorOnly).toBe(true);
    expect((await bodies(server, ann.token, sessionId)).at(-1)).toBe(`#${number} Printer on fire`);
    await send(server, ann.token, { sessionId, body: '/search_tickets nothing-like-this' });
    expect((await bodies(server, ann.token, sessionId)).at(-1)).toMatch(/No ticket of this team matches/);

    // A visitor typing a slash is just talking.
    await send(server, chat.visitorToken, { sessionId, body: '/helpdesk me' });
    expect((await bodies(server, ann.token, sessionId)).at(-1)).toBe('/helpdesk me');
    visitorStream.dispose();
    created.dispose();
    online.feed.dispose();
  });

  it('names the ticket after the visitor when the title is empty, and lists the commands for an unknown one', async () => {
    const { channelId } = await createChatTeam(server, 'Desk Plain');
    const ann = await createOperator(server, 'Plain Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Omar' });
    await send(server, chat.visitorToken, { sessionId: chat.session.id, body: 'hi' });
    await send(server, ann.token, { sessionId: chat.session.id, body: '/ticket' });
    const { liveChatSession } = await request(server, ann.token, `query ($id: ID!) { liveChatSession(id: $id) { tickets { title customer { name email } } } }`, { id: chat.session.id });
    expect(liveChatSession.tickets).toEqual([{ title: "Omar's chat", customer: { name: 'Omar', email: null } }]);

    await send(server, ann.token, { sessionId: chat.session.id, body: '/shrug' });
    const help = (await bodies(server, ann.token, chat.session.id)).at(-1)!;
    expect(help).toMatch(/^Unknown command \/shrug/);
    expect(help).toContain('/helpdesk <title>');
    expect(help).toContain('/helpdesk_search <words>');
    expect(await bodies(server, chat.visitorToken, chat.session.id)).toEqual(['How may I help you?', 'hi']);
    online.feed.dispose();
  });
});
