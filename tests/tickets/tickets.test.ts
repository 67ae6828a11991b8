import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket, createToken } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const TICKET = gql`
  query ($id: ID!) {
    ticket(id: $id) {
      id number title description priority channel
      team { name } stage { name } customer { id name email }
      assignee { name } tags { name }
      createdAt updatedAt
      messages(first: 10) { totalCount nodes { kind bodyText bodyHtml author { kind name email } createdAt } }
    }
  }
`;

describe('creating tickets', () => {
  it('puts a ticket in the first stage with defaults, a customer and its first chatter message', async () => {
    const team = await createTeam(server, 'Help Desk');
    const { createTicket } = await server.client().request<any>(
      gql`mutation ($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id number } userErrors { code } } }`,
      { input: { teamId: team.id, title: '  Cannot log in ', description: 'Since this morning <script>x</script>\nit fails.', customerEmail: 'Ann@Example.com', customerName: 'Ann' } },
    );
    const { ticket } = await server.client().request<any>(TICKET, { id: createTicket.ticket.id });
    expect(ticket).toMatchObject({
      number: expect.any(Number),
      title: 'Cannot log in',
      priority: 'LOW',
      channel: 'API',
      team: { name: 'Help Desk' },
      stage: { name: 'New' },
      customer: { name: 'Ann', email: 'Ann@Example.com' },
      assignee: null,
      tags: [],
    });
    expect(ticket.messages.totalCount).toBe(1);
    const [message] = ticket.messages.nodes;
    expect(message).toMatchObject({ kind: 'MESSAGE', bodyText: 'Since this morning <script>x</script>\nit fails.', author: { kind: 'CUSTOMER', name: 'Ann', email: 'Ann@Example.com' } });
    expect(message.bodyHtml).toBe('<p>Since this morning &lt;script&gt;x&lt;/script&gt;<br>it fails.</p>');
    expect(new Date(ticket.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('numbers tickets sequentially and keeps one customer per address whatever its case', async () => {
    const team = await createTeam(server, 'Numbers');
    const a = await createTicket(server, { teamId: team.id, title: 'one', customerEmail: 'Bob@Example.org', customerName: 'Bob' });
    const b = await createTicket(server, { teamId: team.id, title: 'two', customerEmail: 'bob@example.ORG', customerName: 'Robert' });
    expect(b.number).toBe(a.number + 1);
    const data = await server.client().request<any>(
      gql`query ($a: ID!, $b: ID!) { a: ticket(id: $a) { customer { id name email } } b: ticket(id: $b) { customer { id name email } } }`,
      { a: a.id, b: b.id },
    );
    expect(data.b.customer).toEqual(data.a.customer);
    expect(data.a.customer).toMatchObject({ name: 'Bob', email: 'Bob@Example.org' });
  });

  it('refuses bad input with field paths and codes, and creates nothing', async () => {
    const team = await createTeam(server, 'Strict');
    const { createTicket } = await server.client().request<any>(
      gql`mutation ($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } userErrors { field code } } }`,
      { input: { teamId: team.id, title: '', customerEmail: 'not-an-address', description: 'x'.repeat(200_001) } },
    );
    expect(createTicket.ticket).toBeNull();
    expect(createTicket.userErrors).toEqual(
      expect.arrayContaining([
        { field: ['input', 'title'], code: 'REQUIRED' },
        { field: ['input', 'customerEmail'], code: 'INVALID_EMAIL' },
        { field: ['input', 'description'], code: 'TOO_LONG' },
      ]),
    );
    const wrongTeam = await server.client().request<any>(
      gql`mutation ($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } userErrors { field code } } }`,
      { input: { teamId: Buffer.from('Team:987654').toString('base64'), title: 'x' } },
    );
    expect(wrongTeam.createTicket.userErrors).toEqual([{ field: ['input', 'teamId'], code: 'NOT_FOUND' }]);
    const { team: read } = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { tickets { totalCount } } }`, { id: team.id });
    expect(read.tickets.totalCount).toBe(0);
  });
});

describe('ordering', () => {
  it('lists URGENT before HIGH before MEDIUM before LOW, newest first within a priority, stable across pages', async () => {
    const team = await createTeam(server, 'Ordering');
    const priorities = ['LOW', 'URGENT', 'MEDIUM', 'HIGH', 'LOW', 'URGENT', 'MEDIUM', 'LOW', 'HIGH', 'URGENT', 'LOW'];
    const created = [];
    for (const [i, priority] of priorities.entries()) created.push(await createTicket(server, { teamId: team.id, title: `t${i}`, priority }));
    const rank: Record<string, number> = { URGENT: 3, HIGH: 2, MEDIUM: 1, LOW: 0 };
    // Created in sequence, so a later ticket is newer: newest first = highest number first.
    const expected = [...created].sort((a, b) => rank[b.priority]! - rank[a.priority]! || b.number - a.number).map((t) => t.title);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const data: any = await server.client().request(
        gql`query ($teamId: ID!, $after: String) { tickets(filter: { teamId: $teamId }, first: 3, after: $after) { totalCount edges { cursor node { title priority } } pageInfo { hasNextPage endCursor } } }`,
        { teamId: team.id, after },
      );
      expect(data.tickets.totalCount).toBe(priorities.length);
      seen.push(...data.tickets.edges.map((e: any) => e.node.title));
      if (!data.tickets.pageInfo.hasNextPage) break;
      after = data.tickets.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);

    const viaTeam = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { tickets(first: 50) { nodes { title } } } }`, { id: team.id });
    expect(viaTeam.team.tickets.nodes.map((n: any) => n.title)).toEqual(expected);

    // A priority change moves the ticket at once: the oldest LOW becomes the oldest URGENT.
    const oldestLow = created.find((t) => t.title === expected.at(-1))!;
    await server.client().request(gql`mutation ($input: SetTicketPriorityInput!) { setTicketPriority(input: $input) { ticket { priority } } }`, {
      input: { ticketId: oldestLow.id, priority: 'URGENT' },
    });
    const again = await server.client().request<any>(gql`query ($teamId: ID!) { tickets(filter: { teamId: $teamId }, first: 5) { nodes { title priority } } }`, { teamId: team.id });
    expect(again.tickets.nodes.map((n: any) => n.priority)).toEqual(['URGENT', 'URGENT', 'URGENT', 'URGENT', 'HIGH']);
    expect(again.tickets.nodes[3].title).toBe(oldestLow.title);
  });

  it('filters by team, stage, priority and channel', async () => {
    const team = await createTeam(server, 'Filters');
    const other = await createTeam(server, 'Filters Other');
    await createTicket(server, { teamId: team.id, title: 'f-high', priority: 'HIGH' });
    await createTicket(server, { teamId: team.id, title: 'f-low' });
    await createTicket(server, { teamId: other.id, title: 'f-other', priority: 'HIGH' });
    const q = gql`query ($filter: TicketFilter) { tickets(filter: $filter, first: 100) { totalCount nodes { title } } }`;
    const byPriority = await server.client().request<any>(q, { filter: { teamId: team.id, priority: 'HIGH' } });
    expect(byPriority.tickets.nodes.map((n: any) => n.title)).toEqual(['f-high']);
    const byStage = await server.client().request<any>(q, { filter: { stageId: other.stages[0]!.id } });
    expect(byStage.tickets.nodes.map((n: any) => n.title)).toEqual(['f-other']);
    const byChannel = await server.client().request<any>(q, { filter: { teamId: team.id, channel: 'EMAIL' } });
    expect(byChannel.tickets.totalCount).toBe(0);
    // A malformed team id is the caller's mistake, not an empty team.
    await expect(server.client().request<any>(q, { filter: { teamId: 'not-an-id' } })).rejects.toThrow(/filter\.teamId: "not-an-id" is not a valid ID/);
  });
});

describe('list queries', () => {
  it('answers each team from the same prepared list shape, with any page size, forwards and backwards', async () => {
    const a = await createTeam(server, 'Prepared A');
    const b = await createTeam(server, 'Prepared B');
    for (const title of ['a1', 'a2', 'a3', 'a4']) await createTicket(server, { teamId: a.id, title });
    await createTicket(server, { teamId: b.id, title: 'b1', priority: 'HIGH' });
    const q = gql`query ($teamId: ID!, $first: Int, $last: Int, $before: String) { tickets(filter: { teamId: $teamId }, first: $first, last: $last, before: $before) { nodes { title } pageInfo { hasNextPage hasPreviousPage startCursor } } }`;
    const titles = (data: any) => data.tickets.nodes.map((n: any) => n.title);
    // The same statement shape, run again with other values and sizes, answers for those values.
    expect(titles(await server.client().request(q, { teamId: a.id, first: 2 }))).toEqual(['a4', 'a3']);
    expect(titles(await server.client().request(q, { teamId: b.id, first: 2 }))).toEqual(['b1']);
    expect(titles(await server.client().request(q, { teamId: a.id, first: 3 }))).toEqual(['a4', 'a3', 'a2']);
    // Backwards: the last two, then the two before them, still in list order.
    const tail: any = await server.client().request(q, { teamId: a.id, last: 2 });
    expect(titles(tail)).toEqual(['a2', 'a1']);
    expect(tail.tickets.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const previous: any = await server.client().request(q, { teamId: a.id, last: 2, before: tail.tickets.pageInfo.startCursor });
    expect(titles(previous)).toEqual(['a4', 'a3']);
    expect(previous.tickets.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  });

  it('reports an invalid query variable with its path and the reason', async () => {
    const q = gql`query ($filter: TicketFilter) { tickets(filter: $filter, first: 5) { nodes { title } } }`;
    await expect(server.client().request(q, { filter: { slaDeadlineBefore: 'next tuesday' } })).rejects.toThrow(
      /Variable "\$filter" got invalid value "next tuesday" at "filter\.slaDeadlineBefore"; DateTime must be an ISO 8601 string\./,
    );
  });
});

describe('working a ticket', () => {
  it('moves between stages of its own team only', async () => {
    const team = await createTeam(server, 'Movers');
    const other = await createTeam(server, 'Movers Other');
    const ticket = await createTicket(server, { teamId: team.id, title: 'move me' });
    const MOVE = gql`mutation ($input: MoveTicketToStageInput!) { moveTicketToStage(input: $input) { ticket { stage { name closed } } userErrors { field code } } }`;
    const solved = team.stages.find((s) => s.name === 'Solved')!;
    const moved = await server.client().request<any>(MOVE, { input: { ticketId: ticket.id, stageId: solved.id } });
    expect(moved.moveTicketToStage).toEqual({ ticket: { stage: { name: 'Solved', closed: true } }, userErrors: [] });
    const foreign = await server.client().request<any>(MOVE, { input: { ticketId: ticket.id, stageId: other.stages[1]!.id } });
    expect(foreign.moveTicketToStage).toEqual({ ticket: null, userErrors: [{ field: ['input', 'stageId'], code: 'STAGE_OF_OTHER_TEAM' }] });
  });

  it('adds internal notes signed by the token, assigns and tags', async () => {
    const team = await createTeam(server, 'Notes');
    const ticket = await createTicket(server, { teamId: team.id, title: 'noted', description: 'first' });
    const agentToken = await createToken(server, 'AGENT', 'Dana');
    const note = await server.client(agentToken).request<any>(
      gql`mutation ($input: AddTicketNoteInput!) { addTicketNote(input: $input) { ticket { updatedAt messages { totalCount nodes { kind bodyText author { kind name } } } } userErrors { code } } }`,
      { input: { ticketId: ticket.id, body: 'Called the customer.' } },
    );
    expect(note.addTicketNote.ticket.messages.totalCount).toBe(2);
    expect(note.addTicketNote.ticket.messages.nodes[1]).toEqual({ kind: 'NOTE', bodyText: 'Called the customer.', author: { kind: 'AGENT', name: 'Dana' } });
    const empty = await server.client(agentToken).request<any>(
      gql`mutation ($input: AddTicketNoteInput!) { addTicketNote(input: $input) { ticket { id } userErrors { field code } } }`,
      { input: { ticketId: ticket.id, body: '   ' } },
    );
    expect(empty.addTicketNote.userErrors).toEqual([{ field: ['input', 'body'], code: 'REQUIRED' }]);

    const { createAgent } = await server.client().request<any>(
      gql`mutation { createAgent(input: { name: "Eve", email: "eve@intake.test" }) { agent { id name } userErrors { code } } }`,
    );
    const assigned = await server.client(agentToken).request<any>(
      gql`mutation ($input: AssignTicketInput!) { assignTicket(input: $input) { ticket { assignee { name } } userErrors { code } } }`,
      { input: { ticketId: ticket.id, agentId: createAgent.agent.id } },
    );
    expect(assigned.assignTicket.ticket.assignee).toEqual({ name: 'Eve' });
    const tagged = await server.client(agentToken).request<any>(
      gql`mutation ($input: SetTicketTagsInput!) { setTicketTags(input: $input) { ticket { tags { name } } userErrors { code } } }`,
      { input: { ticketId: ticket.id, tags: ['Billing', 'vip', 'billing', ' '] } },
    );
    expect(tagged.setTicketTags.ticket.tags).toEqual([{ name: 'Billing' }, { name: 'vip' }]);
  });

  it('refetches tickets through node()', async () => {
    const team = await createTeam(server, 'Nodes');
    const ticket = await createTicket(server, { teamId: team.id, title: 'by node' });
    const { node } = await server.client().request<any>(gql`query ($id: ID!) { node(id: $id) { id ... on Ticket { title stage { name } } } }`, { id: ticket.id });
    expect(node).toEqual({ id: ticket.id, title: 'by node', stage: { name: 'New' } });
  });
});
