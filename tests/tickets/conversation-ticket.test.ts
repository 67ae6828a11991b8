import { encodeGlobalID } from '@pothos/plugin-relay';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTicket, createTickets } from '../../src/tickets/service.js';
import { addWorkingTime, DEFAULT_CALENDAR } from '../../src/sla/calendar.js';
import { createTeam } from '../support/fixtures.js';
import { startTestServer, subscribe, untilSubscribed, type TestServer } from '../support/server.js';

// Point 4 of issue 13: a conversation (a chat) becomes a ticket through the one creation path,
// with a customer known by name only, its transcript, and a reference to where it came from.
let server: TestServer;
let team: Awaited<ReturnType<typeof createTeam>>;
const H = 3_600_000;

beforeAll(async () => {
  server = await startTestServer();
  team = await createTeam(server, 'Conversations');
  const solved = team.stages.find((s) => s.name === 'Solved')!.id;
  await server.client().request(gql`mutation ($input: CreateSlaPolicyInput!) { createSlaPolicy(input: $input) { userErrors { code } } }`, {
    input: { teamId: team.id, name: 'Everything: 8 h', priorities: ['LOW', 'MEDIUM', 'HIGH', 'URGENT'], hours: 8, targetStageId: solved },
  });
});
afterAll(async () => {
  await server?.stop();
});

const TICKET = gql`
  query ($id: ID!) {
    ticket(id: $id) {
      title description channel slaDeadline createdAt
      customer { name email }
      source { kind nodeId }
      messages(first: 10) { totalCount nodes { kind bodyText author { kind name email } createdAt } }
    }
  }
`;
const CREATED = `subscription ($teamId: ID) { ticketCreated(teamId: $teamId) { node { title customer { name email } source { kind } } } }`;

const teamRowId = () => Number(Buffer.from(team.id, 'base64').toString().split(':')[1]);

const transcript = [
  { authorKind: 'CUSTOMER' as const, body: 'Hello, my order has not arrived.', writtenAt: new Date('2026-11-30T09:00:00.000Z') },
  { authorKind: 'AGENT' as const, authorName: 'Olga', body: 'Sorry to hear that: which order?', writtenAt: new Date('2026-11-30T09:00:30.000Z') },
  { authorKind: 'CUSTOMER' as const, body: 'Number 4711.', writtenAt: new Date('2026-11-30T09:01:00.000Z') },
];

describe('a ticket from a conversation', () => {
  it('keeps a name-only customer, the transcript with authors and times, and its source; SLA and ticketCreated apply', async () => {
    const created = subscribe(server.wsClient(), CREATED, { teamId: team.id });
    await untilSubscribed(server, 1);
    const ticket = await createTicket(server.app.database.db, {
      teamId: teamRowId(),
      title: "Maya's chat",
      channel: 'LIVE_CHAT',
      customer: { name: 'Maya' },
      transcript,
      source: { kind: 'LIVE_CHAT_SESSION', id: 31 },
    });

    const [event] = await created.waitFor(1);
    expect(event.ticketCreated.node).toEqual({ title: "Maya's chat", customer: { name: 'Maya', email: null }, source: { kind: 'LIVE_CHAT_SESSION' } });
    created.dispose();

    const read = (await server.client().request<any>(TICKET, { id: encodeGlobalID('Ticket', ticket.id) })).ticket;
    expect(read).toMatchObject({
      title: "Maya's chat",
      description: 'Hello, my order has not arrived.',
      channel: 'LIVE_CHAT',
      customer: { name: 'Maya', email: null },
      source: { kind: 'LIVE_CHAT_SESSION', nodeId: encodeGlobalID('LiveChatSession', 31) },
    });
    expect(read.messages.totalCount).toBe(3);
    expect(read.messages.nodes).toEqual([
      { kind: 'MESSAGE', bodyText: 'Hello, my order has not arrived.', author: { kind: 'CUSTOMER', name: 'Maya', email: null }, createdAt: '2026-11-30T09:00:00.000Z' },
      { kind: 'MESSAGE', bodyText: 'Sorry to hear that: which order?', author: { kind: 'AGENT', name: 'Olga', email: null }, createdAt: '2026-11-30T09:00:30.000Z' },
      { kind: 'MESSAGE', bodyText: 'Number 4711.', author: { kind: 'CUSTOMER', name: 'Maya', email: null }, createdAt: '2026-11-30T09:01:00.000Z' },
    ]);
    // The SLA hook ran in the creation transaction: the deadline counts from the ticket's creation.
    expect(read.slaDeadline).toBe(addWorkingTime(DEFAULT_CALENDAR, new Date(read.createdAt), 8 * H).toISOString());
  });

  it('gives each name-only customer a row of their own, while an address still finds its one customer', async () => {
    const [a, b, c] = await createTickets(server.app.database.db, [
      { teamId: teamRowId(), title: 'first Sam', channel: 'LIVE_CHAT', customer: { name: 'Sam' } },
      { teamId: teamRowId(), title: 'second Sam', channel: 'LIVE_CHAT', customer: { name: 'Sam' } },
      { teamId: teamRowId(), title: 'Sam by mail', channel: 'EMAIL', customer: { email: 'sam@example.com', name: 'Sam' } },
    ]);
    expect(a!.customerId).not.toBeNull();
    expect(new Set([a!.customerId, b!.customerId, c!.customerId]).size).toBe(3);
    const [again] = await createTickets(server.app.database.db, [{ teamId: teamRowId(), title: 'Sam again', channel: 'EMAIL', customer: { email: 'SAM@example.com' } }]);
    expect(again!.customerId).toBe(c!.customerId);
  });

  it('takes a transcript and a name-only customer through createTicket of the API', async () => {
    const { createTicket: result } = await server.client().request<any>(
      gql`mutation ($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } userErrors { field code } } }`,
      {
        input: {
          teamId: team.id,
          title: 'From a phone call',
          customerName: 'Rita',
          transcript: transcript.map((m) => ({ authorKind: m.authorKind, authorName: m.authorName, body: m.body, writtenAt: m.writtenAt.toISOString() })),
        },
      },
    );
    expect(result.userErrors).toEqual([]);
    const read = (await server.client().request<any>(TICKET, { id: result.ticket.id })).ticket;
    expect(read).toMatchObject({ channel: 'API', customer: { name: 'Rita', email: null }, source: null, description: 'Hello, my order has not arrived.' });
    expect(read.messages.nodes.map((m: any) => [m.author.kind, m.author.name, m.bodyText])).toEqual([
      ['CUSTOMER', 'Rita', 'Hello, my order has not arrived.'],
      ['AGENT', 'Olga', 'Sorry to hear that: which order?'],
      ['CUSTOMER', 'Rita', 'Number 4711.'],
    ]);
  });

  it('refuses a transcript message without a body, naming its place', async () => {
    const { createTicket: result } = await server.client().request<any>(
      gql`mutation ($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } userErrors { field code } } }`,
      { input: { teamId: team.id, title: 'Bad transcript', transcript: [{ authorKind: 'CUSTOMER', body: '  ', writtenAt: '2026-11-30T09:00:00.000Z' }] } },
    );
    expect(result).toEqual({ ticket: null, userErrors: [{ field: ['input', 'transcript', '0', 'body'], code: 'REQUIRED' }] });
  });
});
