import type { AppModule } from '../app-module.js';
import './graphql.js';
import { applySlaPolicies, failOverdueSlas } from './service.js';

/** SLA: deadlines recomputed on every ticket write, and the watch that marks overdue ones FAILED. */
export const slaModule: AppModule = {
  name: 'sla',
  ticketWriteHooks: [(tx, written) => applySlaPolicies(tx, written)],
  jobs: [
    {
      name: 'SLA breach watch',
      intervalMs: (config) => config.slaWatchIntervalMs,
      run: ({ db, now }) => failOverdueSlas(db, now()),
    },
  ],
};
