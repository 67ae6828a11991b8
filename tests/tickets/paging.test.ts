import { ClientError, gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The ticket list pages with the generic keyset helper of src/db/keyset.ts; these walk it through the API.
let server: TestServer;
let teamId: string;
const PRIORITIES = ['LOW', 'URGENT', 'MEDIUM', 'LOW', 'HIGH', 'URGENT', 'LOW', 'MEDIUM'];
const RANK: Record<string, number> = { LOW: 0, MEDIUM: 1, HIGH: 2, URGENT: 3 };
let expectedTitles: string[];

beforeAll(async () => {
  server = await startTestServer();
  teamId = (await createTeam(server, 'Paging')).id;
  const created = [];
  for (const [i, priority] of PRIORITIES.entries()) created.push({ ...(await createTicket(server, { teamId, title: `ticket ${i}`, priority })), order: i });
  // Highest priority first, then newest (created later), as every ticket list.
  expectedTitles = created.sort((a, b) => RANK[b.priority]! - RANK[a.priority]! || b.order - a.order).map((t) => t.title);
});
afterAll(async () => {
  await server?.stop();
});

const LIST = gql`
  query ($teamId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    tickets(filter: { teamId: $teamId }, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { title } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

async function list(variables: Record<string, unknown>) {
  const { tickets } = await server.client().request<any>(LIST, { teamId, ...variables });
  return tickets as { edges: Array<{ cursor: string; node: { title: string } }>; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } };
}

describe('paging through the ticket list', () => {
  it('forward with first/after visits every ticket once, in list order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await list({ first: 3, after });
      seen.push(...page.edges.map((e) => e.node.title));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(expectedTitles);
  });

  it('backward with last/before visits the same tickets in the same order', async () => {
    const seen: string[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await list({ last: 3, before });
      seen.unshift(...page.edges.map((e) => e.node.title));
      expect(page.pageInfo.hasNextPage).toBe(before !== null);
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(seen).toEqual(expectedTitles);
  });

  it('resumes after any edge cursor with the tickets that follow it', async () => {
    const all = await list({ first: 100 });
    for (const [i, edge] of all.edges.entries()) {
      const rest = await list({ first: 100, after: edge.cursor });
      expect(rest.edges.map((e) => e.node.title)).toEqual(expectedTitles.slice(i + 1));
    }
  });

  it('answers a forged cursor, after or before, with BAD_USER_INPUT', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    for (const cursor of ['forged', b64('t:4:1700000000000:1'), b64('h:1'), b64('t:1:1700000000000')]) {
      for (const direction of [{ first: 2, after: cursor }, { last: 2, before: cursor }]) {
        const error = await list(direction).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, JSON.stringify(direction)).toBeInstanceOf(ClientError);
        expect((error as ClientError).response.errors!.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      }
    }
  });
});
