import type { AppModule } from '../app-module.js';
import { pruneEventLog } from './hub.js';

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** The event log every capability's events go through: pruned hourly past its retention. */
export const eventLogModule: AppModule = {
  name: 'events',
  jobs: [{ name: 'pruning the event log', intervalMs: () => PRUNE_INTERVAL_MS, run: ({ db }) => pruneEventLog(db) }],
};
