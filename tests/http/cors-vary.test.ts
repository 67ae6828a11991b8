import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

/** Every answer of /graphql depends on the request's Origin: caches must keep them apart. */
describe('Vary: Origin on every CORS response', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CORS_ORIGINS: 'https://desk.example.com' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const post = (headers: Record<string, string>) =>
    fetch(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ __typename }' }) });
  const varies = (res: Response) => (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());

  it.each([
    ['a configured origin', { origin: 'https://desk.example.com' }],
    ['another origin', { origin: 'https://elsewhere.example' }],
    ['no origin', {}],
  ])('from %s', async (_name, headers) => {
    const res = await post(headers);
    expect(res.status).toBe(200);
    expect(varies(res)).toContain('origin');
  });

  it('on a preflight from the configured origin', async () => {
    const res = await fetch(server.graphqlUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://desk.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://desk.example.com');
    expect(varies(res)).toContain('origin');
  });
});
