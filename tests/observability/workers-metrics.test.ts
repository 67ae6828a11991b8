import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';
import { scrape } from '../support/metrics.js';
import { ADMIN_TOKEN, freePort, spawnServer, type ServerProcess } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const available = await postgresForTests('worker metrics tests');

/** One GraphQL query on a connection of its own, so the kernel may hand it to either worker. */
function queryOverNewConnection(url: string, query: string): Promise<number | undefined> {
  const body = JSON.stringify({ query });
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/graphql`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.runIf(available)('/metrics with INTAKE_WORKERS=2', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let metricsPort: number;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    metricsPort = await freePort();
    server = await spawnServer({ ...database.env, INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, INTAKE_WORKERS: '2', METRICS_PORT: String(metricsPort) }, await freePort());
    await waitFor(() => server.output().includes('Intake is running'), { timeout: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await database?.drop();
  });

  it('serves every worker’s figures together from the primary', async () => {
    const url = `http://127.0.0.1:${metricsPort}/metrics`;
    const before = await scrape(url);
    // Each worker's pool may open 10 connections: two workers' figures, summed.
    expect(before.value('intake_db_pool_connections_max')).toBe(20);
    for (let i = 0; i < 20; i++) expect(await queryOverNewConnection(server.url, 'query WorkerProbe { __typename }')).toBe(200);
    const after = await scrape(url);
    const labels = { type: 'query', name: 'WorkerProbe' };
    expect(after.value('intake_graphql_operations_total', labels) - before.value('intake_graphql_operations_total', labels)).toBe(20);
    // Nothing on the public port.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });
});
