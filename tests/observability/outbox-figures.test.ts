import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundMails } from '../../src/outbound/tables.js';
import { startRelay, type TestRelay } from '../outbound/relay.js';
import { queueMail, untilStatus } from '../outbound/support.js';
import { scrape } from '../support/metrics.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** Retries within a test's patience: 50 ms, 300 ms, 1.2 s … */
const FAST = { OUTBOUND_RETRY_BASE_SECONDS: '0.05', OUTBOUND_LEASE_MS: '2000', OUTBOUND_POLL_INTERVAL_MS: '200' };

describe('the outbox in /metrics and /readyz', () => {
  let relay: TestRelay;
  let server: TestServer;
  beforeAll(async () => {
    relay = await startRelay();
    server = await startTestServer({ ...FAST, SMTP_RELAY_URL: relay.url, METRICS_PORT: '0', READY_MAX_OUTBOX_AGE_MINUTES: '30' });
  });
  afterAll(async () => {
    await server?.stop();
    await relay?.close();
  });
  const db = () => server.app.database.db;
  const readyz = async () => {
    const response = await fetch(`${server.url}/readyz`);
    return { status: response.status, body: (await response.json()) as { failing: string[]; checks: Record<string, string> } };
  };

  it('counts mail sent, deferred and failed by what the relay answered', async () => {
    const before = await scrape(server.app.metricsUrl!);
    const sent = await queueMail(db(), server.app.config, null);
    await untilStatus(db(), sent.id, ['SENT']);
    relay.answer = () => ({ code: 550, message: '5.1.1 No such user' });
    const refused = await queueMail(db(), server.app.config, null);
    await untilStatus(db(), refused.id, ['FAILED']);
    let tries = 0;
    relay.answer = () => (++tries === 1 ? { code: 451, message: '4.3.0 Try again later' } : 'accept');
    const deferred = await queueMail(db(), server.app.config, null);
    await untilStatus(db(), deferred.id, ['SENT']);
    relay.answer = () => 'accept';
    const after = await scrape(server.app.metricsUrl!);
    const delta = (name: string) => after.value(name) - before.value(name);
    expect(delta('intake_outbound_sent_total')).toBe(2);
    expect(delta('intake_outbound_failed_total')).toBe(1);
    expect(delta('intake_outbound_deferred_total')).toBe(1);
    expect(after.value('intake_outbound_waiting', { status: 'DEFERRED' })).toBe(0);
    expect(after.value('intake_outbound_oldest_waiting_seconds')).toBe(0);
  });

  it('shows mail waiting and its age, and is unready while mail due waits past READY_MAX_OUTBOX_AGE_MINUTES', async () => {
    expect((await readyz()).status).toBe(200);
    relay.answer = () => ({ code: 451, message: '4.3.0 Try again later' });
    const stuck = await queueMail(db(), server.app.config, null);
    await untilStatus(db(), stuck.id, ['DEFERRED']);
    // Queued two hours ago, as far as its retries and the check can tell.
    await db().update(outboundMails).set({ retryFrom: sql`now() - interval '2 hours'` }).where(eq(outboundMails.id, stuck.id));
    const figures = await scrape(server.app.metricsUrl!);
    expect(figures.value('intake_outbound_waiting', { status: 'DEFERRED' }) + figures.value('intake_outbound_waiting', { status: 'PENDING' })).toBe(1);
    expect(figures.value('intake_outbound_oldest_waiting_seconds')).toBeGreaterThanOrEqual(7200);
    const unready = await readyz();
    expect(unready.status).toBe(503);
    expect(unready.body.failing).toEqual(['outbox']);
    expect(unready.body.checks.outbox).toMatch(/^1 outbound mails waiting, the oldest for 12\d minutes \(READY_MAX_OUTBOX_AGE_MINUTES=30\)$/);

    relay.answer = () => 'accept';
    await untilStatus(db(), stuck.id, ['SENT']);
    let ready = unready;
    await waitFor(async () => (ready = await readyz()).status === 200, { what: '/readyz ready once the mail went' });
    expect(ready.body.checks.outbox).toBe('ok');
  });
});
