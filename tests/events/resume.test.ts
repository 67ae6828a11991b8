import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/events/hub.js';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const CREATED = `subscription ($teamId: ID, $after: String) { ticketCreated(teamId: $teamId, after: $after) { cursor node { title } } }`;
const UPDATED = `subscription ($teamId: ID, $after: String) { ticketUpdated(teamId: $teamId, after: $after) { cursor node { title priority } } }`;
/** The start of a stream: a fresh team's subscriber replays all of its tickets, so it needs no wait for registration. */
const FROM_START = encodeCursor('ticketCreated', 0);

const titles = (events: any[], field = 'ticketCreated') => events.map((e) => e[field].node.title);
const positions = (events: any[], field = 'ticketCreated') => events.map((e) => decodeCursor(field, e[field].cursor)!);

describe('resumable subscriptions', () => {
  it('replays exactly the missed tickets in order after a disconnect, then live ones', async () => {
    const team = await createTeam(server, 'Resume');
    const other = await createTeam(server, 'Resume Other');
    const first = subscribe(server.wsClient(), CREATED, { teamId: team.id, after: FROM_START });
    await createTicket(server, { teamId: team.id, title: 'one' });
    await createTicket(server, { teamId: team.id, title: 'two' });
    const seen = await first.waitFor(2);
    expect(titles(seen)).toEqual(['one', 'two']);
    first.dispose();

    // Missed while away, with another team's ticket in between that the filter must leave out.
    await createTicket(server, { teamId: team.id, title: 'three' });
    await createTicket(server, { teamId: other.id, title: 'elsewhere' });
    await createTicket(server, { teamId: team.id, title: 'four' });

    const resumed = subscribe(server.wsClient(), CREATED, { teamId: team.id, after: seen[1].ticketCreated.cursor });
    expect(titles(await resumed.waitFor(2))).toEqual(['three', 'four']);
    await createTicket(server, { teamId: team.id, title: 'five' });
    const all = await resumed.waitFor(3);
    expect(titles(all)).toEqual(['three', 'four', 'five']);
    expect(positions(all)).toEqual([...positions(all)].sort((a, b) => a - b));
    resumed.dispose();
  });

  it('resumes ticketUpdated after a cursor', async () => {
    const team = await createTeam(server, 'Resume Updates');
    const ticket = await createTicket(server, { teamId: team.id, title: 'moving' });
    const live = subscribe(server.wsClient(), UPDATED, { teamId: team.id, after: encodeCursor('ticketUpdated', 0) });
    const setPriority = (priority: string) =>
      server.client().request(gql`mutation ($id: ID!, $p: TicketPriority!) { setTicketPriority(input: { ticketId: $id, priority: $p }) { ticket { id } } }`, { id: ticket.id, p: priority });
    await setPriority('HIGH');
    const [firstChange] = await live.waitFor(1);
    live.dispose();
    await setPriority('URGENT');
    await setPriority('LOW');
    const resumed = subscribe(server.wsClient(), UPDATED, { teamId: team.id, after: firstChange.ticketUpdated.cursor });
    // Replayed events carry the ticket as it is now, one per missed change.
    const replayed = await resumed.waitFor(2);
    expect(replayed.map((e) => e.ticketUpdated.node.title)).toEqual(['moving', 'moving']);
    await setPriority('MEDIUM');
    expect((await resumed.waitFor(3))[2].ticketUpdated.node.priority).toBe('MEDIUM');
    expect(resumed.events).toHaveLength(3);
    resumed.dispose();
  });

  it('has no gap and no duplicate when subscribing while tickets are being created', async () => {
    const team = await createTeam(server, 'Race');
    const count = 60;
    const created: string[] = [];
    const { promise: tenCommitted, resolve: someCommitted } = Promise.withResolvers<void>();
    const creators = Array.from({ length: 6 }, async (_, worker) => {
      for (let n = worker; n < count; n += 6) {
        await createTicket(server, { teamId: team.id, title: `race ${n}` });
        if (created.push(`race ${n}`) === 10) someCommitted();
      }
    });
    // Subscribe once some tickets are committed and while the others are still being written.
    await tenCommitted;
    const sub = subscribe(server.wsClient(), CREATED, { teamId: team.id, after: FROM_START });
    await Promise.all(creators);
    await createTicket(server, { teamId: team.id, title: 'last' });
    const events = await sub.waitFor(count + 1);
    expect(titles(events).at(-1)).toBe('last');
    expect(events).toHaveLength(count + 1);
    expect(new Set(titles(events)).size).toBe(count + 1);
    expect(titles(events).slice(0, count).sort()).toEqual([...created].sort());
    const seenPositions = positions(events);
    expect(seenPositions).toEqual([...seenPositions].sort((a, b) => a - b));
    sub.dispose();
  });

  it('refuses a cursor that is not one of this subscription', async () => {
    const sub = subscribe(server.wsClient(), CREATED, { after: encodeCursor('ticketUpdated', 1) });
    await expect(sub.waitFor(1, 5000)).rejects.toThrow(/INVALID_CURSOR|not a cursor of this subscription/);
    const garbage = subscribe(server.wsClient(), CREATED, { after: 'not-a-cursor' });
    await expect(garbage.waitFor(1, 5000)).rejects.toThrow(/not a cursor of this subscription/);
  });

  it('prunes the log past retention and refuses cursors older than what is kept', async () => {
    const team = await createTeam(server, 'Pruned');
    const first = subscribe(server.wsClient(), CREATED, { teamId: team.id, after: FROM_START });
    await createTicket(server, { teamId: team.id, title: 'old' });
    const [old] = await first.waitFor(1);
    first.dispose();
    await server.app.events.prune(-1); // everything is older than "tomorrow"
    const expired = subscribe(server.wsClient(), CREATED, { teamId: team.id, after: FROM_START });
    await expect(expired.waitFor(1, 5000)).rejects.toThrow(/older than/);
    const fromLast = subscribe(server.wsClient(), CREATED, { teamId: team.id, after: old.ticketCreated.cursor });
    await createTicket(server, { teamId: team.id, title: 'new' });
    expect(titles(await fromLast.waitFor(1))).toEqual(['new']);
    fromLast.dispose();
  });
});
