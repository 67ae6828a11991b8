import type { AppModule } from '../app-module.js';
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
      run: ({ db, now }) => failOverdueSlas(db, now()),
    },
  ],
};
