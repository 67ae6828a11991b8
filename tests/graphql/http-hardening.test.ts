import net from 'node:net';
import { ClientError, gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createToken } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: any }> } };
}

describe('value nesting', () => {
  it('refuses a list literal nested 2 400 deep with a 400 GraphQL error, not a stack overflow', async () => {
    const deep = `${'['.repeat(2400)}"VGlja2V0OjE="${']'.repeat(2400)}`;
    for (const accept of ['application/graphql-response+json', 'application/json']) {
      const result = await post(server.graphqlUrl, { query: `{ nodes(ids: ${deep}) { id } }` }, { authorization: 'Bearer test-admin-token', accept });
      // As for any syntax error: 400 where the client accepts GraphQL responses, 200 for plain JSON (GraphQL over HTTP).
      expect(result.status).toBe(accept === 'application/json' ? 200 : 400);
      expect(result.body.errors).toEqual([{ message: 'Syntax Error: Document nests brackets 2402 deep; the limit is 64.', extensions: { code: 'QUERY_TOO_COMPLEX' } }]);
    }
    // Brackets inside strings and comments do not count.
    const quoted = await post(server.graphqlUrl, { query: `# ${'['.repeat(100)}\n{ viewer { name } __typename @skip(if: false) }`, variables: {} });
    expect(quoted.body).toEqual({ data: { viewer: null, __typename: 'Query' } });
    const inString = await server.client().request<any>(gql`query ($t: ID!) { node(id: $t) { id } }`, { t: '['.repeat(100) }).catch((e: ClientError) => e.response);
    expect(inString.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('introspection and suggestions', () => {
  const INTROSPECT = { query: '{ __schema { queryType { name } } }' };
  const TYPO = { query: '{ viewr { name } }' };

  it('are on by default outside production, for everyone', async () => {
    expect(loadConfig({}).anonymousIntrospection).toBe(true);
    expect((await post(server.graphqlUrl, INTROSPECT)).body.data.__schema.queryType.name).toBe('Query');
    expect((await post(server.graphqlUrl, TYPO)).body.errors![0]!.message).toMatch(/Did you mean "viewer"\?/);
  });

  it('are off for anonymous callers in production (NODE_ENV=production), on with a token, and configurable', async () => {
    expect(loadConfig({ NODE_ENV: 'production' }).anonymousIntrospection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'on' }).anonymousIntrospection).toBe(true);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'off' }).anonymousIntrospection).toBe(false);
    expect(() => loadConfig({ GRAPHQL_INTROSPECTION: 'sometimes' })).toThrow(/GRAPHQL_INTROSPECTION must be one of auto, on, off/);

    const production = await startTestServer({ NODE_ENV: 'production' });
    try {
      const agent = await createToken(production, 'AGENT');
      const anonymous = await post(production.graphqlUrl, INTROSPECT);
      expect(anonymous.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'INTROSPECTION_DISABLED' } })]);
      expect(anonymous.body.data ?? null).toBeNull();
      const typeQuery = await post(production.graphqlUrl, { query: '{ __type(name: "Ticket") { name } }' });
      expect(typeQuery.body.errors![0]!.extensions.code).toBe('INTROSPECTION_DISABLED');
      // A bogus token is no token.
      const bogus = await post(production.graphqlUrl, TYPO, { authorization: 'Bearer intake_bogus' });
      expect(bogus.body.errors![0]!.message).toBe('Cannot query field "viewr" on type "Query".');
      const typos = await post(production.graphqlUrl, { query: '{ viewer { nam } tickets(filter: { priority: URGNT }) { totalCount } }' });
      expect(typos.body.errors!.map((e) => e.message)).toEqual([
        'Cannot query field "nam" on type "Viewer".',
        'Value "URGNT" does not exist in "TicketPriority" enum.',
      ]);
      const wrongEnum = await post(production.graphqlUrl, { query: 'query ($p: TicketPriority) { tickets(filter: { priority: $p }) { totalCount } }', variables: { p: 'URGNT' } });
      expect(wrongEnum.body.errors![0]!.message).toMatch(/Value "URGNT" does not exist in "TicketPriority" enum\.$/);
      // __typename is not introspection of the schema.
      expect((await post(production.graphqlUrl, { query: '{ __typename }' })).body).toEqual({ data: { __typename: 'Query' } });

      const withToken = { authorization: `Bearer ${agent}` };
      expect((await post(production.graphqlUrl, INTROSPECT, withToken)).body.data.__schema.queryType.name).toBe('Query');
      expect((await post(production.graphqlUrl, TYPO, withToken)).body.errors![0]!.message).toMatch(/Did you mean "viewer"\?/);
    } finally {
      await production.stop();
    }
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

  it('allows credentials only for the configured origins', async () => {
    expect(loadConfig({ CORS_ORIGINS: ' https://app.example.com/, https://desk.example.org ' }).corsOrigins).toEqual(['https://app.example.com', 'https://desk.example.org']);
    const configured = await startTestServer({ CORS_ORIGINS: 'https://app.example.com' });
    try {
      const trusted = await preflight(configured.graphqlUrl, 'https://app.example.com');
      expect(trusted.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(trusted.headers.get('access-control-allow-credentials')).toBe('true');
      const other = await preflight(configured.graphqlUrl, 'https://evil.example');
      expect(other.headers.get('access-control-allow-credentials')).toBeNull();
      const actual = await post(configured.graphqlUrl, { query: '{ viewer { name } }' }, { origin: 'https://evil.example' });
      expect(actual.headers.get('access-control-allow-credentials')).toBeNull();
      expect(actual.body).toEqual({ data: { viewer: null } });
    } finally {
      await configured.stop();
    }
    // No origin configured (the default): no origin gets credentials.
    const reflected = await preflight(server.graphqlUrl, 'https://evil.example');
    expect(reflected.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('a client that aborts', () => {
  it('is logged at info, not error', async () => {
    const logged = await startTestServer({ LOG_LEVEL: 'info' });
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      const { port } = new URL(logged.url);
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      // "100 Continue" says the server has the request and waits for its body: then the client goes away.
      const continued = new Promise((resolve) => socket.once('data', resolve));
      socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n');
      expect(String(await continued)).toMatch(/^HTTP\/1\.1 100 Continue/);
      socket.write('{"query": "{ vie');
      socket.resetAndDestroy();
      const deadline = Date.now() + 10_000;
      while (!lines.some((line) => line.includes('aborted')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.stdout.write = write;
      await logged.stop();
    }
    const entries = lines.map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(entries.filter((entry) => entry.level === 'error')).toEqual([]);
    expect(entries).toContainEqual(expect.objectContaining({ level: 'info', msg: 'request aborted by the client' }));
  });
});

describe('query cost', () => {
  // Costs are kept per document and variables: a cheap run of a document must not pass a dear one.
  const QUERY = 'query ($n: Int) { tickets(first: $n) { nodes { id team { tickets(first: $n) { nodes { id } } } } } }';
  const errorsOf = async (n: number) =>
    ((await post(server.graphqlUrl, { query: QUERY, variables: { n } }, { authorization: 'Bearer test-admin-token' })).body.errors ?? []).map((error) => `${error.extensions?.code}: ${error.message}`);

  it('is worked out again for other variables of the same document', async () => {
    const refused = ['QUERY_TOO_COMPLEX: Query complexity 20401 exceeds the limit of 20000.'];
    for (const [n, errors] of [[10, []], [100, refused], [10, []], [100, refused], [99, []]] as const) expect(await errorsOf(n)).toEqual(errors);
  });
});
