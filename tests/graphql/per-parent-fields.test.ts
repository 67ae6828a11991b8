import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** The statements the server sends to the database while `run` runs. */
async function statementsDuring(run: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const stop = server.app.database.watchStatements((sql) => sent.push(sql));
  try {
    await run();
  } finally {
    stop();
  }
  return sent;
}

const TEAMS_WITH_FIELDS = gql`
  {
    teams {
      name
      workingHours { timezone }
      websiteForm { id url }
      tickets(first: 1) { totalCount nodes { title stage { name } } }
    }
  }
`;

/** Creates teams named `${prefix} n`, each with n+1 tickets, its own calendar and the form switched on. */
async function addTeams(prefix: string, count: number) {
  const admin = server.client();
  for (let n = 0; n < count; n++) {
    const team = await createTeam(server, `${prefix} ${n}`, { useWebsiteForm: true });
    for (let i = 0; i <= n; i++) await createTicket(server, { teamId: team.id, title: `${prefix} ${n} ticket ${i}`, priority: i === 0 ? 'HIGH' : 'LOW' });
    await admin.request(
      gql`mutation ($teamId: ID!, $timezone: String!) { setWorkingHours(input: { teamId: $teamId, timezone: $timezone, intervals: [{ weekday: 1, start: "09:00", end: "17:00" }] }) { userErrors { code } } }`,
      { teamId: team.id, timezone: n % 2 ? 'Europe/Brussels' : 'Asia/Tokyo' },
    );
  }
}

describe('per-parent fields across a list', () => {
  it('cost the same number of statements for 2 teams as for 8: one per field, not one per team', async () => {
    await addTeams('Few', 2);
    const few = await statementsDuring(() => server.client().request(TEAMS_WITH_FIELDS));
    await addTeams('Many', 6);
    let answer: any;
    const many = await statementsDuring(async () => (answer = await server.client().request(TEAMS_WITH_FIELDS)));

    expect(answer.teams).toHaveLength(8);
    expect(many).toHaveLength(few.length);
    // Each per-team field is one statement for all teams.
    expect(many.filter((sql) => sql.includes('"team_calendars"'))).toHaveLength(1);
    expect(many.filter((sql) => sql.includes('"website_forms"'))).toHaveLength(1);
    expect(many.filter((sql) => sql.includes('cross join lateral'))).toHaveLength(1);
    expect(many.filter((sql) => /count\(\*\)/.test(sql) && sql.includes('group by'))).toHaveLength(1);

    // And each team still gets its own answer.
    const many3 = answer.teams.find((t: any) => t.name === 'Many 3');
    expect(many3.workingHours.timezone).toBe('Europe/Brussels');
    expect(many3.tickets).toEqual({ totalCount: 4, nodes: [{ title: 'Many 3 ticket 0', stage: { name: 'New' } }] });
    expect(answer.teams.find((t: any) => t.name === 'Many 0').workingHours.timezone).toBe('Asia/Tokyo');
    expect(new Set(answer.teams.map((t: any) => t.websiteForm.url)).size).toBe(8);
  });

  it('pages each team on its own, forward and backward', async () => {
    const team = await createTeam(server, 'Paged');
    for (const [i, priority] of ['LOW', 'URGENT', 'LOW', 'MEDIUM'].entries()) await createTicket(server, { teamId: team.id, title: `Paged ${i}`, priority });
    const page = gql`
      query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
        team(id: $id) { tickets(first: $first, after: $after, last: $last, before: $before) { nodes { title } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }
      }
    `;
    const read = async (variables: Record<string, unknown>) => (await server.client().request<any>(page, { id: team.id, ...variables })).team.tickets;
    const first = await read({ first: 2 });
    expect(first.nodes.map((n: any) => n.title)).toEqual(['Paged 1', 'Paged 3']);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await read({ first: 2, after: first.pageInfo.endCursor });
    expect(second.nodes.map((n: any) => n.title)).toEqual(['Paged 2', 'Paged 0']);
    expect(second.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const back = await read({ last: 2, before: second.pageInfo.startCursor });
    expect(back.nodes.map((n: any) => n.title)).toEqual(['Paged 1', 'Paged 3']);
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: false });
  });

  it('cost the same number of statements for 2 tickets as for 6 fetched by id: chatter, stage and customer', async () => {
    const team = await createTeam(server, 'Chatty');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await createTicket(server, { teamId: team.id, title: `Chatty ${i}`, description: `first words ${i}`, customerEmail: `chatty${i}@example.com` })).id);
    const read = gql`
      query ($ids: [ID!]!) {
        nodes(ids: $ids) { ... on Ticket { title stage { name } customer { email } messages(first: 1) { totalCount nodes { bodyText attachments { filename } } } } }
      }
    `;
    const few = await statementsDuring(() => server.client().request(read, { ids: ids.slice(0, 2) }));
    let answer: any;
    const many = await statementsDuring(async () => (answer = await server.client().request(read, { ids })));
    expect(many).toHaveLength(few.length);
    expect(many.filter((sql) => sql.includes('cross join lateral'))).toHaveLength(1);
    expect(answer.nodes[4]).toEqual({
      title: 'Chatty 4',
      stage: { name: 'New' },
      customer: { email: 'chatty4@example.com' },
      messages: { totalCount: 1, nodes: [{ bodyText: 'first words 4', attachments: [] }] },
    });
  });

  it('pages a ticket chatter forward and backward', async () => {
    const team = await createTeam(server, 'Noted');
    const ticket = await createTicket(server, { teamId: team.id, title: 'Noted', description: 'note 0' });
    for (let i = 1; i <= 3; i++) {
      await server.client().request(gql`mutation ($id: ID!, $body: String!) { addTicketNote(input: { ticketId: $id, body: $body }) { userErrors { code } } }`, { id: ticket.id, body: `note ${i}` });
    }
    const page = gql`
      query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
        ticket(id: $id) { messages(first: $first, after: $after, last: $last, before: $before) { nodes { bodyText } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }
      }
    `;
    const read = async (variables: Record<string, unknown>) => (await server.client().request<any>(page, { id: ticket.id, ...variables })).ticket.messages;
    const first = await read({ first: 3 });
    expect(first.nodes.map((n: any) => n.bodyText)).toEqual(['note 0', 'note 1', 'note 2']);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const rest = await read({ first: 3, after: first.pageInfo.endCursor });
    expect(rest.nodes.map((n: any) => n.bodyText)).toEqual(['note 3']);
    expect(rest.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const back = await read({ last: 2, before: rest.pageInfo.startCursor });
    expect(back.nodes.map((n: any) => n.bodyText)).toEqual(['note 1', 'note 2']);
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: true });
    await expect(read({ first: 1, after: 'bm90IGEgY3Vyc29y' })).rejects.toThrow(/cursor/i);
  });

  it('reads a website form without writing it, and keeps its id and url when it is first saved', async () => {
    const team = await createTeam(server, 'Unsaved Form', { useWebsiteForm: true });
    const read = gql`query ($id: ID!) { team(id: $id) { websiteForm { id url title published } } }`;
    let before: any;
    const statements = await statementsDuring(async () => (before = (await server.client().request<any>(read, { id: team.id })).team.websiteForm));
    expect(statements.filter((sql) => /^\s*(insert|update|delete)\b/i.test(sql))).toEqual([]);
    expect(before).toMatchObject({ title: 'Contact Unsaved Form', published: false, url: expect.stringMatching(/\/support\/unsaved-form$/) });
    const { node } = await server.client().request<any>(gql`query ($id: ID!) { node(id: $id) { ... on WebsiteForm { url title } } }`, { id: before.id });
    expect(node).toEqual({ url: before.url, title: before.title });

    const { publishWebsiteForm } = await server.client().request<any>(
      gql`mutation ($teamId: ID!) { publishWebsiteForm(input: { teamId: $teamId }) { websiteForm { id url published } userErrors { code } } }`,
      { teamId: team.id },
    );
    expect(publishWebsiteForm).toEqual({ websiteForm: { id: before.id, url: before.url, published: true }, userErrors: [] });
  });
});
