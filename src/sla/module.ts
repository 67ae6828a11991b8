import type { AppModule } from '../app-module.js';
import { metricsOf } from '../observability/metrics.js';
import './graphql.js';
import { applySlaPolicies, failedSlaCondition, failOverdueSlas, slaDeadlineBeforeCondition } from './service.js';

/**
 * SLA: deadlines recomputed on every ticket write, the watch that marks overdue ones FAILED, and
 * the conditions of the ticket list's SLA filters.
 */
export const slaModule: AppModule = {
  name: 'sla',
  ticketWriteHooks: [(tx, written) => applySlaPolicies(tx, written)],
  slaTicketFilter: { failed: failedSlaCondition, deadlineBefore: slaDeadlineBeforeCondition },
  jobs: [
    {
      name: 'SLA breach watch',
      intervalMs: (config) => config.slaWatchIntervalMs,
      async run({ db, now }) {
        const failed = await failOverdueSlas(db, now());
        if (failed.length > 0) metricsOf(db)?.slaFailed.inc(failed.length);
      },
    },
  ],
};
