import { gql } from 'graphql-request';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTicket as createTicketService } from '../../src/tickets/service.js';
import { idOf } from '../../src/graphql/user-errors.js';
import { createTeam, createTicket } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, subscribe, untilSubscribed, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const CREATED = `subscription ($teamId: ID) { ticketCreated(teamId: $teamId) { node { id number title priority team { name } stage { name } customer { email } } } }`;
const UPDATED = `subscription ($teamId: ID) { ticketUpdated(teamId: $teamId) { node { id title priority stage { name } messages { totalCount } } } }`;

describe('subscriptions over graphql-ws', () => {
  it('delivers ticketCreated for the team asked for, with nested fields', async () => {
    const team = await createTeam(server, 'Live');
    const other = await createTeam(server, 'Live Other');
    const mine = subscribe(server.wsClient(), CREATED, { teamId: team.id });
    const all = subscribe(server.wsClient(), CREATED);
    await untilSubscribed(server, 2);
    await createTicket(server, { teamId: other.id, title: 'not for you' });
    await createTicket(server, { teamId: team.id, title: 'for you', priority: 'HIGH', customerEmail: 'sub@example.com' });
    const [event] = await mine.waitFor(1);
    expect(event.ticketCreated.node).toMatchObject({ title: 'for you', priority: 'HIGH', team: { name: 'Live' }, stage: { name: 'New' }, customer: { email: 'sub@example.com' } });
    const both = await all.waitFor(2);
    expect(both.map((e) => e.ticketCreated.node.title)).toEqual(['not for you', 'for you']);
    // Events arrive in commit order: once a later one has arrived, the other team's never will.
    await createTicket(server, { teamId: team.id, title: 'marker' });
    expect((await mine.waitFor(2)).map((e) => e.ticketCreated.node.title)).toEqual(['for you', 'marker']);
    mine.dispose();
    all.dispose();
  });

  it('delivers ticketUpdated on priority, stage and note changes', async () => {
    const team = await createTeam(server, 'Updates');
    const ticket = await createTicket(server, { teamId: team.id, title: 'changing' });
    const sub = subscribe(server.wsClient(), UPDATED, { teamId: team.id });
    await untilSubscribed(server, 1);
    const client = server.client();
    // Events carry ids and subscribers get the row as it is when the event is delivered, so
    // each change is checked before the next one is made.
    await client.request(gql`mutation ($id: ID!) { setTicketPriority(input: { ticketId: $id, priority: URGENT }) { ticket { id } } }`, { id: ticket.id });
    expect((await sub.waitFor(1))[0].ticketUpdated.node).toEqual({ id: ticket.id, title: 'changing', priority: 'URGENT', stage: { name: 'New' }, messages: { totalCount: 0 } });
    await client.request(gql`mutation ($id: ID!, $s: ID!) { moveTicketToStage(input: { ticketId: $id, stageId: $s }) { ticket { id } } }`, { id: ticket.id, s: team.stages[1]!.id });
    expect((await sub.waitFor(2))[1].ticketUpdated.node).toMatchObject({ stage: { name: 'In Progress' }, messages: { totalCount: 0 } });
    await client.request(gql`mutation ($id: ID!) { addTicketNote(input: { ticketId: $id, body: "noted" }) { ticket { id } } }`, { id: ticket.id });
    expect((await sub.waitFor(3))[2].ticketUpdated.node).toMatchObject({ stage: { name: 'In Progress' }, messages: { totalCount: 1 } });
    sub.dispose();
  });

  it('publishes nothing for a rolled-back write', async () => {
    const team = await createTeam(server, 'Rollback');
    const sub = subscribe(server.wsClient(), CREATED, { teamId: team.id });
    await untilSubscribed(server, 1);
    const teamId = idOf(team.id, 'Team')!;
    await expect(
      server.app.database.db.transaction(async (tx) => {
        await createTicketService(tx, { teamId, title: 'never committed', channel: 'API' });
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    await createTicket(server, { teamId: team.id, title: 'committed' });
    const [first] = await sub.waitFor(1);
    expect(first.ticketCreated.node.title).toBe('committed');
    // Events arrive in commit order: with a later one in, nothing of the rollback can follow.
    await createTicket(server, { teamId: team.id, title: 'marker' });
    expect((await sub.waitFor(2)).map((e) => e.ticketCreated.node.title)).toEqual(['committed', 'marker']);
    sub.dispose();
  });

  it('refuses anonymous subscribers', async () => {
    const sub = subscribe(server.wsClient(null), CREATED);
    await expect(sub.waitFor(1, 5000)).rejects.toThrow(/Authentication required for Subscription.ticketCreated/);
  });

  it('closes sockets that send messages over the payload limit', async () => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(300 * 1024) } }));
    expect(await closed).toBe(1009);
  });
});

describe('subscriptions over SSE', () => {
  it('streams ticketCreated to an SSE client on the same /graphql path', async () => {
    const team = await createTeam(server, 'Streams');
    const stream = sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, CREATED, { teamId: team.id });
    const response = await stream.response;
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    await untilSubscribed(server, 1);
    await createTicket(server, { teamId: team.id, title: 'over sse' });
    const [event] = await stream.waitFor(1);
    expect(event.data.ticketCreated.node).toMatchObject({ title: 'over sse', team: { name: 'Streams' } });
    await stream.close();
  });
});
