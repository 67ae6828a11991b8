import { sql } from 'drizzle-orm';
import { ClientError, gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createToken } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function errorsOf(promise: Promise<unknown>): Promise<Array<{ message: string; extensions?: Record<string, unknown> }>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ClientError) return error.response.errors ?? [];
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('authentication and roles', () => {
  it('refuses anonymous callers with a clear error on every non-public field', async () => {
    const anonymous = server.client(null);
    for (const query of [
      gql`{ teams { id } }`,
      gql`{ tickets { totalCount } }`,
      gql`{ node(id: "VGVhbTox") { id } }`,
      gql`mutation { createTicket(input: { teamId: "x", title: "x" }) { userErrors { code } } }`,
    ]) {
      const [error] = await errorsOf(anonymous.request(query));
      expect(error).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
      expect(error!.message).toMatch(/Authentication required for (Query|Mutation)\.\w+: send "Authorization: Bearer <token>"/);
    }
    const unknown = server.client('intake_not-a-real-token');
    const [error] = await errorsOf(unknown.request(gql`{ teams { id } }`));
    expect(error?.extensions?.code).toBe('UNAUTHENTICATED');
    // The viewer field is public so a client can check its token.
    expect(await anonymous.request(gql`{ viewer { name } }`)).toEqual({ viewer: null });
  });

  it('lets AGENT tokens work tickets but not configure', async () => {
    const agent = await createToken(server, 'AGENT');
    expect(await server.client(agent).request(gql`{ viewer { role } }`)).toEqual({ viewer: { role: 'AGENT' } });
    const team = await createTeam(server, 'Agents Welcome');
    const ok = await server.client(agent).request<any>(gql`mutation ($t: ID!) { createTicket(input: { teamId: $t, title: "hi" }) { ticket { title } } }`, { t: team.id });
    expect(ok.createTicket.ticket.title).toBe('hi');
    for (const mutation of [
      gql`mutation { createTeam(input: { name: "Nope" }) { team { id } } }`,
      gql`mutation { createApiToken(input: { name: "escalate", role: ADMIN }) { token } }`,
      gql`mutation ($t: ID!) { updateTeam(input: { id: $t, name: "Renamed" }) { team { id } } }`,
    ]) {
      const [error] = await errorsOf(server.client(agent).request(mutation, { t: team.id }));
      expect(error).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
      expect(error!.message).toMatch(/needs the ADMIN role/);
    }
  });

  it('creates tokens shown once and stores only their digest', async () => {
    const token = await createToken(server, 'ADMIN', 'ops');
    expect(token).toMatch(/^intake_[A-Za-z0-9_-]{40,}$/);
    expect(await server.client(token).request(gql`{ viewer { name role } }`)).toEqual({ viewer: { name: 'ops', role: 'ADMIN' } });
    const rows = await server.app.database.rows<{ token_hash: string }>(sql`select token_hash from api_tokens where name = 'ops'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.token_hash).not.toContain(token.slice(7));
    const bad = await server.client().request<any>(gql`mutation { createApiToken(input: { name: "", role: AGENT }) { token userErrors { field code } } }`);
    expect(bad.createApiToken).toEqual({
      token: null,
      userErrors: [
        { field: ['input', 'name'], code: 'REQUIRED' },
        { field: ['input', 'agentId'], code: 'REQUIRED' },
      ],
    });
  });
});

describe('limits', () => {
  it('refuses a query deeper than the limit', async () => {
    const deep = gql`{ teams { stages { team { stages { team { stages { team { stages { team { stages { team { stages { name } } } } } } } } } } } } }`;
    const [error] = await errorsOf(server.client().request(deep));
    expect(error).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX' } });
    expect(error!.message).toMatch(/depth \d+ exceeds the limit of 12/);
  });

  it('refuses a query costlier than the limit', async () => {
    const costly = gql`{ tickets(first: 100) { nodes { messages(first: 100) { nodes { bodyText } } } } }`;
    const [error] = await errorsOf(server.client().request(costly));
    expect(error).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX' } });
    expect(error!.message).toMatch(/complexity \d+ exceeds the limit of 20000/);
  });

  it('refuses too many aliases and oversized documents', async () => {
    const aliased = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: viewer { name }`).join(' ')} }`;
    const [aliasError] = await errorsOf(server.client().request(aliased));
    expect(aliasError!.message).toBe('Query uses more than 30 aliases.');
    const longQuery = `{ ${Array.from({ length: 6000 }, () => '__typename').join(' ')} }`;
    const [tokenError] = await errorsOf(server.client().request(longQuery));
    expect(tokenError!.message).toMatch(/more that 5000 tokens/);
  });

  it('refuses request bodies over the size limit with 413', async () => {
    const body = JSON.stringify({ query: '{ viewer { name } }', variables: { pad: 'x'.repeat(1024 * 1024) } });
    const res = await fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect((await res.json()).errors[0].message).toMatch(/exceeds the limit of 1048576 bytes/);
  });

  it('refuses simple cross-site requests (CSRF) but serves GraphiQL', async () => {
    const res = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent('{ viewer { name } }')}`);
    expect(res.status).toBe(403);
    const form = await fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7Bviewer%7Bname%7D%7D' });
    expect(form.status).toBe(403);
    const withHeader = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent('{ viewer { name } }')}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(await withHeader.json()).toEqual({ data: { viewer: null } });
    const page = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Intake GraphQL');
  });
});

describe('errors', () => {
  it('masks internal errors: the client sees no SQL, no stack', async () => {
    const team = await createTeam(server, 'Broken Times');
    const { database } = server.app;
    // Break the database under the running server, as an outage or a bad migration would.
    await database.rows(sql`alter table customers rename to customers_away`);
    try {
      const response = await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token' },
        body: JSON.stringify({
          query: 'mutation ($t: ID!) { createTicket(input: { teamId: $t, title: "x", customerEmail: "a@b.example" }) { ticket { id } } }',
          variables: { t: team.id },
        }),
      });
      const text = await response.text();
      expect(JSON.parse(text).errors).toEqual([expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
      expect(text).not.toMatch(/customers|select|insert|relation|\.ts/i);
    } finally {
      await database.rows(sql`alter table customers_away rename to customers`);
    }
    // Nothing was half-written: the failed ticket does not exist.
    const after = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { tickets { totalCount } } }`, { id: team.id });
    expect(after.team.tickets.totalCount).toBe(0);
  });
});
