import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, root, type TestDatabase } from '../support/databases.js';
import { startOtlpCollector, type OtlpCollector } from '../support/otlp-collector.js';
import { ADMIN_TOKEN, freePort, spawnServer, type ServerProcess } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** Reports every OpenTelemetry module the server process loads, on its stderr. */
const REPORT_LOADS = `--import=${path.join(root, 'tests/fixtures/observability/report-otel-loads.mjs')}`;
const LOADED = 'OTEL MODULE LOADED';

/** `npm start` as an operator runs it, with one GraphQL query answered. */
async function serverAnsweringOneQuery(env: Record<string, string>): Promise<{ server: ServerProcess; database: TestDatabase }> {
  const database = await createTestDatabase();
  const server = await spawnServer({ ...database.env, INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, NODE_OPTIONS: REPORT_LOADS, ...env }, await freePort());
  const answer = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ query: '{ teams { id } }' }) });
  expect(answer.status).toBe(200);
  return { server, database };
}

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  const started: Array<{ server: ServerProcess; database: TestDatabase }> = [];
  let collector: OtlpCollector | undefined;
  afterAll(async () => {
    for (const { server, database } of started) {
      await server.stop('SIGKILL');
      await database.drop();
    }
    await collector?.close();
  });

  it('loads no OpenTelemetry module, and one with the endpoint set does (so the check sees them)', async () => {
    const off = await serverAnsweringOneQuery({});
    started.push(off);
    expect(off.server.output()).not.toContain(LOADED);

    collector = await startOtlpCollector();
    const on = await serverAnsweringOneQuery({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '50' });
    started.push(on);
    expect(on.server.output()).toContain(`${LOADED} `);
    expect(on.server.output()).toMatch(/@opentelemetry\/sdk-trace\//);
    // And it sends: the started bundle keeps the packages outside, loaded from node_modules when asked for.
    await waitFor(() => collector!.spans.some((s) => s.name === 'POST /graphql'), { what: 'a span from the server process', timeout: 15_000 });
  }, 120_000);
});
