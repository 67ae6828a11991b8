import { ClientError, gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket, createToken } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let ticket: { id: string };
const b64 = (text: string) => Buffer.from(text).toString('base64');

beforeAll(async () => {
  server = await startTestServer();
  const team = await createTeam(server, 'Id Checks');
  ticket = await createTicket(server, { teamId: team.id, title: 'Present' });
});
afterAll(async () => {
  await server?.stop();
});

async function errorsOf(promise: Promise<unknown>): Promise<{ data: any; errors: Array<{ message: string; extensions?: Record<string, any> }> }> {
  try {
    return { data: await promise, errors: [] };
  } catch (error) {
    if (error instanceof ClientError) return { data: error.response.data ?? null, errors: (error.response.errors ?? []) as any };
    throw error;
  }
}

const NODE = gql`query ($id: ID!) { node(id: $id) { id ... on Ticket { title } } }`;
const NODES = gql`query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Ticket { title } } }`;

describe('node and nodes', () => {
  it('answers null for a well-formed id of a missing row, and logs nothing at error level', async () => {
    // Logs are JSON lines on stdout: a server of its own logs errors only, and the test reads them.
    const logged = await startTestServer({ LOG_LEVEL: 'error' });
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      expect(await errorsOf(logged.client().request(NODE, { id: b64('Ticket:999999') }))).toEqual({ data: { node: null }, errors: [] });
      expect(await errorsOf(logged.client().request(NODES, { ids: [b64('Ticket:999999')] }))).toEqual({ data: { nodes: [null] }, errors: [] });
    } finally {
      process.stdout.write = write;
      await logged.stop();
    }
    expect(lines).toEqual([]);
  });

  it('answers null in the slot of a missing row and the others as usual', async () => {
    const result = await errorsOf(server.client().request(NODES, { ids: [ticket.id, b64('Ticket:999999'), ticket.id] }));
    expect(result.errors).toEqual([]);
    expect(result.data.nodes).toEqual([{ id: ticket.id, title: 'Present' }, null, { id: ticket.id, title: 'Present' }]);
  });

  const malformed = {
    'not a number': b64('Ticket:abc'),
    negative: b64('Ticket:-1'),
    exponent: b64('Ticket:1e3'),
    'beyond int4': b64('Ticket:2147483648'),
    'leading zero': b64('Ticket:01'),
    'inner space': b64('Ticket: 1'),
    hexadecimal: b64('Ticket:0x1'),
    zero: b64('Ticket:0'),
    'unknown type': b64('Nothing:1'),
    'not a node type': b64('UserError:1'),
    'no type': b64(':1'),
    'not base64': 'Ticket:1',
    'base64 without padding': b64('Ticket:1').replace(/=+$/, ''),
    empty: '',
  };
  for (const [name, id] of Object.entries(malformed)) {
    it(`refuses a malformed id (${name}) with BAD_USER_INPUT, in node and nodes`, async () => {
      for (const result of [await errorsOf(server.client().request(NODE, { id })), await errorsOf(server.client().request(NODES, { ids: [ticket.id, id] }))]) {
        expect(result.errors).toHaveLength(1);
        expect(result.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
        expect(result.errors[0]!.message).toMatch(/not a valid ID|ID of an object/);
      }
    });
  }

  it('accepts the spelling the API gives out (the other spellings of the same row are refused above)', async () => {
    expect(ticket.id).toBe(b64(`Ticket:${Buffer.from(ticket.id, 'base64').toString().split(':')[1]}`));
    const ok = await errorsOf(server.client().request(NODE, { id: ticket.id }));
    expect(ok.data.node.title).toBe('Present');
  });

  it('caps the ids of nodes at 100, and counts each id in the query cost', async () => {
    const agent = await createToken(server, 'AGENT');
    const hundred = Array.from({ length: 100 }, () => ticket.id);
    const fine = await errorsOf(server.client(agent).request(gql`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: hundred }));
    expect(fine.errors).toEqual([]);
    const tooMany = await errorsOf(server.client(agent).request(gql`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [...hundred, ticket.id] }));
    expect(tooMany.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(tooMany.errors[0]!.message).toMatch(/at most 100 IDs/);
    // 100 tickets with 100 messages each is the cost of a page of 100 tickets with 100 messages.
    const costly = await errorsOf(
      server.client(agent).request(gql`query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Ticket { messages(first: 100) { nodes { bodyText } } } } }`, { ids: hundred }),
    );
    expect(costly.errors[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX' } });
    const literal = `{ nodes(ids: [${hundred.map((id) => `"${id}"`).join(',')}]) { ... on Ticket { messages(first: 100) { nodes { bodyText } } } } }`;
    const costlyLiteral = await errorsOf(server.client(agent).request(literal));
    expect(costlyLiteral.errors[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX' } });
  });
});

describe('ids and values in other arguments', () => {
  it('refuses a forged cursor with BAD_USER_INPUT', async () => {
    for (const after of ['forged', b64('{"x":1}'), b64('t:0:1700000000000:9999999999'), b64('t:0:999999999999999:1')]) {
      const result = await errorsOf(server.client().request(gql`query ($after: String) { tickets(first: 2, after: $after) { totalCount } }`, { after }));
      expect(result.errors.map((e) => e.extensions?.code), after).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('refuses out-of-range dates in filters with BAD_USER_INPUT', async () => {
    for (const before of ['+275760-09-14T00:00:00.000Z', '-271821-04-19T00:00:00.000Z', '99999-01-01T00:00:00Z', '0000-01-01T00:00:00Z']) {
      const result = await errorsOf(server.client().request(gql`query ($b: DateTime) { tickets(filter: { slaDeadlineBefore: $b }) { totalCount } }`, { b: before }));
      expect(result.errors.map((e) => e.extensions?.code), before).toEqual(['BAD_USER_INPUT']);
    }
    const inline = await errorsOf(server.client().request(gql`{ tickets(filter: { slaDeadlineBefore: "+275760-09-14T00:00:00.000Z" }) { totalCount } }`));
    expect(inline.errors.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('ticket(number:)', () => {
  const BY_NUMBER = gql`query ($number: Int) { ticket(number: $number) { id title number } }`;

  it('finds the ticket customers quote by its number, and answers null for a number no ticket has', async () => {
    const { ticket: byId } = await server.client().request<any>(gql`query ($id: ID!) { ticket(id: $id) { number } }`, { id: ticket.id });
    expect(await server.client().request(BY_NUMBER, { number: byId.number })).toEqual({ ticket: { id: ticket.id, title: 'Present', number: byId.number } });
    for (const number of [999_999, 0, -1, 2_147_483_647]) expect(await server.client().request(BY_NUMBER, { number }), String(number)).toEqual({ ticket: null });
  });

  it('takes exactly one of id and number: both or neither is BAD_USER_INPUT', async () => {
    const both = await errorsOf(server.client().request(gql`query ($id: ID, $number: Int) { ticket(id: $id, number: $number) { id } }`, { id: ticket.id, number: 1 }));
    const neither = await errorsOf(server.client().request(gql`{ ticket { id } }`));
    for (const result of [both, neither]) {
      expect(result.errors.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(result.errors[0]!.message).toMatch(/exactly one of `id` and `number`/);
    }
  });

  it('is for staff, like ticket(id:)', async () => {
    const anonymous = await errorsOf(server.client(null).request(BY_NUMBER, { number: 1 }));
    expect(anonymous.errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('GET /attachments', () => {
  it('answers 404 for a missing attachment and 404 for a malformed one, never 500', async () => {
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await fetch(`${server.url}/attachments/999999`, { headers })).status).toBe(404);
    expect((await fetch(`${server.url}/attachments/9999999999`, { headers })).status).toBe(404);
    expect((await fetch(`${server.url}/attachments/0`, { headers })).status).toBe(404);
    expect((await fetch(`${server.url}/attachments/abc`, { headers })).status).toBe(404);
    expect((await fetch(`${server.url}/attachments/-1`, { headers })).status).toBe(404);
    // A refused token is told so, not asked for a token.
    const refused = await fetch(`${server.url}/attachments/1`, { headers: { authorization: 'Bearer intake_not-a-real-token' } });
    expect({ status: refused.status, body: await refused.json() }).toEqual({ status: 401, body: { error: expect.stringMatching(/^Authentication failed: the bearer token is unknown or revoked/) } });
  });
});
