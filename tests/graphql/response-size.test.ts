import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { jsonSizeWithin, jsonSurelyWithin } from '../../src/graphql/limits.js';

/** Posts a query as a client would, and returns the status and the parsed reply. */
async function post(server: TestServer, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, bytes: Buffer.byteLength(text), body: JSON.parse(text) };
}

const aliases = (count: number, field: (i: number) => string) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field(i)}`).join(' ')} }`;

describe('replies bounded by size', () => {
  const MAX = 1_000_000;
  let server: TestServer;
  let ticketId: string;
  beforeAll(async () => {
    server = await startTestServer({ MAX_RESPONSE_BYTES: String(MAX) });
    const team = await createTeam(server, 'Big Replies');
    // 50,000 characters: one copy is far within the reply limit, a hundred are five times past it.
    ticketId = (await createTicket(server, { teamId: team.id, title: 'Large', description: 'x'.repeat(50_000) })).id;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a reply past MAX_RESPONSE_BYTES with a clear error instead of building it', async () => {
    const ids = JSON.stringify(Array(100).fill(ticketId));
    const { status, bytes, body } = await post(server, `{ nodes(ids: ${ids}) { ... on Ticket { description } } }`);
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/larger than 1000000 bytes/), extensions: expect.objectContaining({ code: 'RESPONSE_TOO_LARGE' }) }),
    ]);
    expect(status).toBeLessThan(500);
    expect(bytes).toBeLessThan(2000);
  });

  it('still answers a reply within the limit', async () => {
    const ids = JSON.stringify(Array(10).fill(ticketId));
    const { status, body } = await post(server, `{ nodes(ids: ${ids}) { ... on Ticket { description } } }`);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.nodes).toHaveLength(10);
  });

  it('refuses many aliases of the same ids too, also when the ids come in variables', async () => {
    const { body } = await post(server, `query ($ids: [ID!]!) ${aliases(15, () => 'nodes(ids: $ids) { ... on Ticket { description } }')}`, { ids: Array(10).fill(ticketId) });
    expect(body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'RESPONSE_TOO_LARGE' }) })]);
  });

  it('counts every occurrence of a repeated id in the query cost, in literals and in variables', async () => {
    // 30 aliases × 100 ids × 8 fields: 24,030 against the staff limit of 20,000, though it names one ticket.
    const fields = '... on Ticket { id number title description priority createdAt updatedAt }';
    const literal = await post(server, aliases(30, () => `nodes(ids: ${JSON.stringify(Array(100).fill(ticketId))}) { ${fields} }`));
    expect(literal.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/complexity \d+ exceeds the limit of 20000/), extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }) })]);
    const variables = await post(server, `query ($ids: [ID!]!) ${aliases(30, () => `nodes(ids: $ids) { ${fields} }`)}`, { ids: Array(100).fill(ticketId) });
    expect(variables.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }) })]);
  });
});

describe('jsonSizeWithin', () => {
  it.each([
    [{ data: { a: 'x', b: [1, 2, null], c: true } }],
    [{ data: { nodes: Array(50).fill({ title: 'héllo 😀', n: 42 }) } }],
    [{ data: null, errors: [{ message: 'm' }] }],
    [{ data: { at: new Date(0) } }],
    [{ data: { skipped: undefined, list: [undefined, 'ü', '\u{1F600}'], empty: {}, none: [], big: 1e21, neg: -0.5 } }],
    [{ data: { nodes: Array(20).fill({ name: 'Ærøskøbing — 東京', email: 'a@b.example' }) } }],
  ])('counts %j as JSON writes it', (value) => {
    expect(jsonSizeWithin(value, Infinity)).toBe(Buffer.byteLength(JSON.stringify(value)));
  });

  it('stops counting past its budget', () => {
    const shared = 'x'.repeat(1000);
    expect(jsonSizeWithin({ data: Array(1_000_000).fill(shared) }, 10_000)).toBeGreaterThan(10_000);
  });
});

describe('jsonSurelyWithin', () => {
  it.each([
    [{ data: { a: 'x', b: [1, 2, null], c: true } }],
    [{ data: { nodes: Array(50).fill({ title: 'héllo 😀', n: 42 }) } }],
    [{ data: { controls: '\u0000\u0001\u001f"\\', big: -Number.MAX_VALUE, tiny: -Number.MIN_VALUE, at: new Date(0) } }],
    [Object.assign({ data: { nodes: Array(20).fill({ name: 'Ærøskøbing — 東京' }) } }, { stringify: JSON.stringify })],
  ])('never lets %j pass a budget its JSON exceeds', (value) => {
    const size = Buffer.byteLength(JSON.stringify(value));
    expect(jsonSurelyWithin(value, size - 1)).toBe(false);
    // A bound, not a count: it holds far enough above the size.
    expect(jsonSurelyWithin(value, size * 6 + 100)).toBe(true);
  });
});
