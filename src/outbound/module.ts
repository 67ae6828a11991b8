import type { AppModule } from '../app-module.js';
import { metricsOf } from '../observability/metrics.js';
import './graphql.js';
import { OutboxSender } from './sender.js';
import { outboxFigures } from './service.js';

/**
 * Outbound mail: the outbox's sender on every instance, and the outbox in the API, its figures
 * (read at scrape time) and its /readyz check (no mail due to be sent waiting past
 * READY_MAX_OUTBOX_AGE_MINUTES).
 */
export const outboundModule: AppModule = {
  name: 'outbound',
  readinessChecks: [
    {
      name: 'outbox',
      async check({ db, config }) {
        const { oldestDueSeconds, waiting } = await outboxFigures(db);
        if (oldestDueSeconds === null || oldestDueSeconds <= config.readyMaxOutboxAgeMinutes * 60) return null;
        return `${waiting.PENDING + waiting.DEFERRED} outbound mails waiting, the oldest for ${Math.round(oldestDueSeconds / 60)} minutes (READY_MAX_OUTBOX_AGE_MINUTES=${config.readyMaxOutboxAgeMinutes})`;
      },
    },
  ],
  async start({ database, config, log, tracing }) {
    const metrics = metricsOf(database.db);
    if (metrics) {
      // One query per scrape serves both gauges.
      let reading: ReturnType<typeof outboxFigures> | null = null;
      const read = () => (reading ??= outboxFigures(database.db).finally(() => (reading = null)));
      const onError = (err: unknown) => log.error('reading outbox figures failed', { err });
      metrics.gaugeFromReading('outbound_waiting', 'Outbound mails not yet sent, by status (HELD: no relay configured).', ['status'], async () => {
        const { waiting } = await read();
        return Object.entries(waiting).map(([status, value]) => ({ labels: { status }, value }));
      }, onError);
      metrics.gaugeFromReading('outbound_oldest_waiting_seconds', 'How long the oldest outbound mail not yet sent has waited (0: none waits).', [], async () => [{ value: (await read()).oldestSeconds ?? 0 }], onError);
    }
    const sender = new OutboxSender(database, config, log, tracing);
    await sender.start();
    return () => sender.stop();
  },
};
