import { getNamedType, isLeafType, isObjectType, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Ticket lists fetch only the columns their query shows. Every field, asked for alone, must come
// out of a list exactly as it comes out of `ticket(id:)`, which loads whole rows.

let server: TestServer;
let teamId: string;
beforeAll(async () => {
  server = await startTestServer();
  const team = await createTeam(server, 'Columns');
  teamId = team.id;
  const solved = team.stages.find((s) => s.name === 'Solved')!;
  const admin = server.client();
  await admin.request(gql`mutation ($input: CreateSlaPolicyInput!) { createSlaPolicy(input: $input) { userErrors { code } } }`, {
    input: { teamId, name: 'Reply in a day', hours: 8, targetStageId: solved.id },
  });
  const { createAgent } = await admin.request<any>(gql`mutation { createAgent(input: { name: "Ada", email: "ada@intake.test" }) { agent { id } } }`);
  const full = await createTicket(server, { teamId, title: 'Full', description: 'All there', priority: 'HIGH', customerEmail: 'Cleo@Example.com', customerName: 'Cleo' });
  await admin.request(gql`mutation ($id: ID!, $agent: ID!) { assignTicket(input: { ticketId: $id, agentId: $agent }) { userErrors { code } } setTicketTags(input: { ticketId: $id, tags: ["vip", "billing"] }) { userErrors { code } } }`, {
    id: full.id,
    agent: createAgent.agent.id,
  });
  await createTicket(server, { teamId, title: 'No customer' });
  await createTicket(server, { teamId, title: 'Urgent', priority: 'URGENT', customerEmail: 'dan@example.com' });
});
afterAll(async () => {
  await server?.stop();
});

/** A selection of `field` going `depth` levels down: every field without required arguments. */
function selectionOf(field: GraphQLField<unknown, unknown>, depth: number): string | null {
  if (field.args.some((arg) => arg.type.toString().endsWith('!'))) return null;
  const type = getNamedType(field.type);
  if (isLeafType(type)) return field.name;
  if (depth === 0 || !isObjectType(type)) return `${field.name} { __typename }`;
  const args = field.args.some((arg) => arg.name === 'first') ? '(first: 5)' : '';
  const inner = Object.values(type.getFields()).map((f) => selectionOf(f, depth - 1)).filter(Boolean);
  return `${field.name}${args} { ${inner.join(' ')} }`;
}

const objectType = (name: string) => schema.getType(name) as GraphQLObjectType;

/** Each Ticket field alone, then each field of its stage and customer alone. */
const selections = [
  ...Object.values(objectType('Ticket').getFields()).map((field) => selectionOf(field, 3)),
  ...['Stage', 'Customer'].flatMap((name) =>
    Object.values(objectType(name).getFields()).map((field) => `${name.toLowerCase()} { ${selectionOf(field, 2)} }`),
  ),
].filter((s): s is string => s !== null);

async function listed(selection: string) {
  const { tickets } = await server.client().request<any>(`query ($teamId: ID!) { tickets(filter: { teamId: $teamId }, first: 10) { nodes { ${selection} } } }`, { teamId });
  return tickets.nodes;
}

async function loadedOneByOne(selection: string) {
  const ids = (await listed('id')).map((t: { id: string }) => t.id);
  return Promise.all(ids.map(async (id: string) => (await server.client().request<any>(`query ($id: ID!) { ticket(id: $id) { ${selection} } }`, { id })).ticket));
}

describe('ticket lists fetch only the columns asked for', () => {
  it('cover every field of Ticket, Stage and Customer', () => {
    // The schema drives the cases: a field added later is checked without touching this test.
    expect(selections.length).toBeGreaterThan(20);
    expect(selections).toContain('title');
    expect(selections.some((s) => s.startsWith('slaDeadline'))).toBe(true);
  });

  it('give each field, asked for alone, the value a single ticket has', async () => {
    for (const selection of selections) {
      const list = await listed(selection);
      expect(list, selection).toHaveLength(3);
      expect(list, selection).toEqual(await loadedOneByOne(selection));
    }
  });

  it('read fields through fragments, aliases and edges the same way', async () => {
    const { team } = await server.client().request<any>(
      gql`
        query ($teamId: ID!) {
          team(id: $teamId) {
            tickets(first: 10) {
              edges { cursor node { ...Shown } }
              nodes { ... on Ticket { heading: title customer { email } } }
            }
          }
        }
        fragment Shown on Ticket { number priority stage { closed } customer { name } }
      `,
      { teamId },
    );
    const nodes = team.tickets.edges.map((edge: { node: unknown }) => edge.node);
    expect(nodes.map((t: any) => [t.priority, t.stage.closed, t.customer?.name ?? null])).toEqual([
      ['URGENT', false, null],
      ['HIGH', false, 'Cleo'],
      ['LOW', false, null],
    ]);
    expect(team.tickets.nodes.map((t: any) => [t.heading, t.customer?.email ?? null])).toEqual([
      ['Urgent', 'dan@example.com'],
      ['Full', 'Cleo@Example.com'],
      ['No customer', null],
    ]);
    // Cursors still page: the one after the first ticket starts at the second.
    const after = team.tickets.edges[0].cursor;
    const { tickets } = await server.client().request<any>(`query ($teamId: ID!, $after: String) { tickets(filter: { teamId: $teamId }, first: 1, after: $after) { nodes { number } } }`, { teamId, after });
    expect(tickets.nodes[0].number).toBe(nodes[1].number);
  });
});
