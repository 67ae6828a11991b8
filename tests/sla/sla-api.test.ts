import { sql } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idOf } from '../../src/graphql/user-errors.js';
import { addWorkingTime, DEFAULT_CALENDAR } from '../../src/sla/calendar.js';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, subscribe, untilSubscribed, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const H = 3_600_000;
const POLICY = gql`mutation ($input: CreateSlaPolicyInput!) { createSlaPolicy(input: $input) { slaPolicy { id name priorities hours targetStage { name } } userErrors { field code message } } }`;
const TICKET_SLA = gql`query ($id: ID!) { ticket(id: $id) { createdAt slaDeadline slaFailed slaStatuses { policy { name } deadline reachedAt status paused } } }`;

describe('SLA through the API', () => {
  it("moves the deadline with the priority, as in the docs' scenario, and tells subscribers", async () => {
    const team = await createTeam(server, 'Service Level');
    const solved = team.stages.find((s) => s.name === 'Solved')!.id;
    const low = await server.client().request<any>(POLICY, { input: { teamId: team.id, name: 'Low: 40 h', priorities: ['LOW'], hours: 40, targetStageId: solved } });
    expect(low.createSlaPolicy.slaPolicy).toMatchObject({ name: 'Low: 40 h', priorities: ['LOW'], hours: 40, targetStage: { name: 'Solved' } });
    await server.client().request(POLICY, { input: { teamId: team.id, name: 'Urgent: 4 h', priorities: ['URGENT'], hours: 4, targetStageId: solved } });

    const ticket = await createTicket(server, { teamId: team.id, title: 'Printer down' });
    const before = (await server.client().request<any>(TICKET_SLA, { id: ticket.id })).ticket;
    const createdAt = new Date(before.createdAt);
    const lowDeadline = addWorkingTime(DEFAULT_CALENDAR, createdAt, 40 * H).toISOString();
    const urgentDeadline = addWorkingTime(DEFAULT_CALENDAR, createdAt, 4 * H).toISOString();
    expect(before).toMatchObject({ slaDeadline: lowDeadline, slaFailed: false, slaStatuses: [{ policy: { name: 'Low: 40 h' }, deadline: lowDeadline, reachedAt: null, status: 'ONGOING', paused: false }] });

    const sub = subscribe(server.wsClient(), `subscription ($t: ID) { ticketUpdated(teamId: $t) { node { priority slaDeadline } } }`, { t: team.id });
    await untilSubscribed(server, 1);
    const SET = gql`mutation ($id: ID!, $p: TicketPriority!) { setTicketPriority(input: { ticketId: $id, priority: $p }) { ticket { priority slaDeadline slaStatuses { policy { name } } } } }`;
    const raised = await server.client().request<any>(SET, { id: ticket.id, p: 'URGENT' });
    expect(raised.setTicketPriority.ticket).toEqual({ priority: 'URGENT', slaDeadline: urgentDeadline, slaStatuses: [{ policy: { name: 'Urgent: 4 h' } }] });
    const [event] = await sub.waitFor(1);
    expect(event.ticketUpdated.node).toEqual({ priority: 'URGENT', slaDeadline: urgentDeadline });

    const lowered = await server.client().request<any>(SET, { id: ticket.id, p: 'LOW' });
    expect(lowered.setTicketPriority.ticket.slaDeadline).toBe(lowDeadline);
    sub.dispose();
  });

  it('pauses in an excluded stage and marks the target stage REACHED', async () => {
    const team = await createTeam(server, 'Paused Clock');
    const stage = (name: string) => team.stages.find((s) => s.name === name)!.id;
    await server.client().request(POLICY, {
      input: { teamId: team.id, name: 'All: 8 h', hours: 8, targetStageId: stage('Solved'), excludedStageIds: [stage('In Progress')] },
    });
    const ticket = await createTicket(server, { teamId: team.id, title: 'Waiting' });
    const MOVE = gql`mutation ($id: ID!, $s: ID!) { moveTicketToStage(input: { ticketId: $id, stageId: $s }) { ticket { slaStatuses { status paused reachedAt } } } }`;
    const paused = await server.client().request<any>(MOVE, { id: ticket.id, s: stage('In Progress') });
    expect(paused.moveTicketToStage.ticket.slaStatuses).toEqual([{ status: 'ONGOING', paused: true, reachedAt: null }]);
    const done = await server.client().request<any>(MOVE, { id: ticket.id, s: stage('Solved') });
    expect(done.moveTicketToStage.ticket.slaStatuses).toEqual([{ status: 'REACHED', paused: false, reachedAt: expect.any(String) }]);
    const { ticket: read } = await server.client().request<any>(TICKET_SLA, { id: ticket.id });
    expect(read.slaDeadline).toBeNull();
  });

  it('validates policies and calendars with field paths', async () => {
    const team = await createTeam(server, 'SLA Validation');
    const other = await createTeam(server, 'SLA Other');
    const bad = await server.client().request<any>(POLICY, { input: { teamId: team.id, name: '', hours: 0, targetStageId: other.stages[0]!.id } });
    expect(bad.createSlaPolicy.userErrors.map((e: any) => [e.field, e.code])).toEqual(
      expect.arrayContaining([
        [['input', 'name'], 'REQUIRED'],
        [['input', 'hours'], 'INVALID_HOURS'],
        [['input', 'targetStageId'], 'STAGE_OF_OTHER_TEAM'],
      ]),
    );
    const { setWorkingHours } = await server.client().request<any>(
      gql`mutation ($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { workingHours { timezone } userErrors { field code } } }`,
      { input: { teamId: team.id, timezone: 'Mars/Olympus', intervals: [{ weekday: 8, start: '17:00', end: '08:00' }], holidays: [] } },
    );
    expect(setWorkingHours.userErrors).toEqual([
      { field: ['input', 'timezone'], code: 'INVALID_TIMEZONE' },
      { field: ['input', 'intervals', '0', 'weekday'], code: 'INVALID_WEEKDAY' },
      { field: ['input', 'intervals', '0'], code: 'INVALID_INTERVAL' },
    ]);
    // Dates are a scalar: an impossible one is refused before the mutation runs, with its path.
    await expect(
      server.client().request(gql`mutation ($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { userErrors { code } } }`, {
        input: { teamId: team.id, timezone: 'UTC', intervals: [], holidays: ['2026-02-30'] },
      }),
    ).rejects.toThrow(/input\.holidays\[0\].*Date must be a calendar date "YYYY-MM-DD"/);
    const ok = await server.client().request<any>(
      gql`mutation ($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { workingHours { timezone intervals { weekday start end } holidays } userErrors { code } } }`,
      { input: { teamId: team.id, timezone: 'Europe/Brussels', intervals: [{ weekday: 1, start: '08:00', end: '12:00' }, { weekday: 1, start: '13:00', end: '17:00' }], holidays: ['2026-12-25'] } },
    );
    expect(ok.setWorkingHours.workingHours).toEqual({ timezone: 'Europe/Brussels', intervals: [{ weekday: 1, start: '08:00', end: '12:00' }, { weekday: 1, start: '13:00', end: '17:00' }], holidays: ['2026-12-25'] });
    const { team: read } = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { useSla workingHours { timezone } } }`, { id: team.id });
    expect(read).toEqual({ useSla: true, workingHours: { timezone: 'Europe/Brussels' } });
  });
});

describe('the breach watch', () => {
  it('fails an overdue ticket on its own, publishes it, and the filters find it', async () => {
    // The watch reads the time from this clock: the test moves it past the deadline.
    let offsetMs = 0;
    const watched = await startTestServer({ SLA_WATCH_INTERVAL_MS: '50' }, { now: () => new Date(Date.now() + offsetMs) });
    try {
      const team = await createTeam(watched, 'Breach Watch');
      const solved = team.stages.find((s) => s.name === 'Solved')!.id;
      // Round the clock, so the deadline is an hour after creation whatever day the test runs.
      await watched.client().request(gql`mutation ($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { userErrors { code } } }`, {
        input: { teamId: team.id, timezone: 'UTC', intervals: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })) },
      });
      await watched.client().request(POLICY, { input: { teamId: team.id, name: 'One hour', hours: 1, targetStageId: solved } });
      const sub = subscribe(watched.wsClient(), `subscription ($t: ID) { ticketUpdated(teamId: $t) { node { title slaFailed } } }`, { t: team.id });
      await untilSubscribed(watched, 1);
      const late = await createTicket(watched, { teamId: team.id, title: 'Will be late' });
      const before = (await watched.client().request<any>(TICKET_SLA, { id: late.id })).ticket;
      expect(before.slaStatuses).toEqual([expect.objectContaining({ status: 'ONGOING' })]);
      offsetMs = 2 * H;
      const [event] = await sub.waitFor(1);
      expect(event.ticketUpdated.node).toEqual({ title: 'Will be late', slaFailed: true });
      const { ticket } = await watched.client().request<any>(TICKET_SLA, { id: late.id });
      expect(ticket.slaStatuses).toEqual([expect.objectContaining({ status: 'FAILED', reachedAt: null })]);

      const q = gql`query ($f: TicketFilter) { tickets(filter: $f) { totalCount nodes { title } } }`;
      expect((await watched.client().request<any>(q, { f: { teamId: team.id, slaFailed: true } })).tickets).toEqual({ totalCount: 1, nodes: [{ title: 'Will be late' }] });
      expect((await watched.client().request<any>(q, { f: { teamId: team.id, slaFailed: false } })).tickets.totalCount).toBe(0);
      const soon = new Date(Date.now() + 2 * H).toISOString();
      expect((await watched.client().request<any>(q, { f: { teamId: team.id, slaDeadlineBefore: soon } })).tickets.nodes).toEqual([{ title: 'Will be late' }]);
      expect((await watched.client().request<any>(q, { f: { teamId: team.id, slaDeadlineBefore: '2000-01-01T00:00:00Z' } })).tickets.totalCount).toBe(0);
      sub.dispose();
    } finally {
      await watched.stop();
    }
  }, 40_000);
});

describe('bulk recompute', () => {
  it('applies a new policy and a new calendar to existing tickets, and drops unreached statuses when SLA is switched off', async () => {
    const team = await createTeam(server, 'Recompute');
    const solved = team.stages.find((s) => s.name === 'Solved')!.id;
    const tickets = [];
    for (let i = 0; i < 5; i++) tickets.push(await createTicket(server, { teamId: team.id, title: `r${i}` }));
    await server.client().request(POLICY, { input: { teamId: team.id, name: 'All: 2 h', hours: 2, targetStageId: solved } });
    const DEADLINES = gql`query ($t: ID!) { tickets(filter: { teamId: $t }, first: 10) { nodes { title createdAt slaDeadline } } }`;
    expect((await server.client().request<any>(DEADLINES, { t: team.id })).tickets.nodes.every((n: any) => n.slaDeadline === null)).toBe(true);

    const RECOMPUTE = gql`mutation ($input: RecomputeSlaDeadlinesInput!) { recomputeSlaDeadlines(input: $input) { recomputedCount userErrors { field code } } }`;
    expect((await server.client().request<any>(RECOMPUTE, { input: { teamId: team.id } })).recomputeSlaDeadlines).toEqual({ recomputedCount: 5, userErrors: [] });
    let nodes = (await server.client().request<any>(DEADLINES, { t: team.id })).tickets.nodes;
    for (const n of nodes) expect(n.slaDeadline).toBe(addWorkingTime(DEFAULT_CALENDAR, new Date(n.createdAt), 2 * H).toISOString());

    const roundTheClock = { timezone: 'Asia/Tokyo', intervals: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })), holidays: [] };
    await server.client().request(gql`mutation ($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { userErrors { code } } }`, { input: { teamId: team.id, ...roundTheClock } });
    const one = await server.client().request<any>(RECOMPUTE, { input: { ticketIds: [tickets[0]!.id] } });
    expect(one.recomputeSlaDeadlines.recomputedCount).toBe(1);
    nodes = (await server.client().request<any>(DEADLINES, { t: team.id })).tickets.nodes;
    const first = nodes.find((n: any) => n.title === 'r0');
    expect(first.slaDeadline).toBe(new Date(new Date(first.createdAt).getTime() + 2 * H).toISOString());

    await server.client().request(gql`mutation ($id: ID!) { updateTeam(input: { id: $id, useSla: false }) { team { useSla } } }`, { id: team.id });
    await server.client().request(RECOMPUTE, { input: { teamId: team.id } });
    nodes = (await server.client().request<any>(DEADLINES, { t: team.id })).tickets.nodes;
    expect(nodes.every((n: any) => n.slaDeadline === null)).toBe(true);

    const bad = await server.client().request<any>(RECOMPUTE, { input: { teamId: 'nope' } });
    expect(bad.recomputeSlaDeadlines.userErrors).toEqual([{ field: ['input', 'teamId'], code: 'INVALID_ID' }]);
  });
});

describe('policies', () => {
  it('reads policies back, updates and deletes them, and a late target stage is FAILED', async () => {
    const team = await createTeam(server, 'Policy CRUD');
    const solved = team.stages.find((s) => s.name === 'Solved')!.id;
    await server.client().request(gql`mutation ($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { userErrors { code } } }`, {
      input: { teamId: team.id, timezone: 'UTC', intervals: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })) },
    });
    const { createSlaPolicy } = await server.client().request<any>(POLICY, { input: { teamId: team.id, name: 'Blink', hours: 1, targetStageId: solved, priorities: ['HIGH', 'URGENT'] } });
    const id = createSlaPolicy.slaPolicy.id;
    const updated = await server.client().request<any>(
      gql`mutation ($input: UpdateSlaPolicyInput!) { updateSlaPolicy(input: $input) { slaPolicy { name priorities active } userErrors { code } } }`,
      { input: { id, name: 'Blink (all)', priorities: [] } },
    );
    expect(updated.updateSlaPolicy.slaPolicy).toEqual({ name: 'Blink (all)', priorities: [], active: true });
    const { team: read } = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { slaPolicies { id name hours } } }`, { id: team.id });
    expect(read.slaPolicies).toEqual([{ id, name: 'Blink (all)', hours: 1 }]);

    const ticket = await createTicket(server, { teamId: team.id, title: 'Too slow' });
    // Stage times are the database's clock: the ticket is dated two hours back instead of the
    // test waiting past its deadline.
    const ticketId = idOf(ticket.id, 'Ticket')!;
    await server.app.database.rows(sql`update tickets set created_at = created_at - interval '2 hours' where id = ${ticketId}`);
    await server.app.database.rows(sql`update ticket_stage_changes set entered_at = entered_at - interval '2 hours' where ticket_id = ${ticketId}`);
    const moved = await server.client().request<any>(
      gql`mutation ($id: ID!, $s: ID!) { moveTicketToStage(input: { ticketId: $id, stageId: $s }) { ticket { slaFailed slaStatuses { status reachedAt } } } }`,
      { id: ticket.id, s: solved },
    );
    expect(moved.moveTicketToStage.ticket).toEqual({ slaFailed: true, slaStatuses: [{ status: 'FAILED', reachedAt: expect.any(String) }] });

    const deleted = await server.client().request<any>(gql`mutation ($id: ID!) { deleteSlaPolicy(input: { id: $id }) { deletedId userErrors { code } } }`, { id });
    expect(deleted.deleteSlaPolicy).toEqual({ deletedId: id, userErrors: [] });
    const after = await server.client().request<any>(gql`query ($id: ID!) { ticket(id: $id) { slaStatuses { status } } }`, { id: ticket.id });
    expect(after.ticket.slaStatuses).toEqual([]);
    const again = await server.client().request<any>(gql`mutation ($id: ID!) { deleteSlaPolicy(input: { id: $id }) { deletedId userErrors { field code } } }`, { id });
    expect(again.deleteSlaPolicy.userErrors).toEqual([{ field: ['input', 'id'], code: 'NOT_FOUND' }]);
  });
});
