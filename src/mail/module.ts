import type { AppModule } from '../app-module.js';
import { isTransientFailure } from './queue.js';
import { retryUnstoredQuarantines } from './service.js';
import { sweepOrphanBlobs } from './staging.js';
import './graphql.js';

/** Inbound mail: GraphQL here; the SMTP listener is a transport the app starts (src/smtp/). */
export const mailModule: AppModule = {
  name: 'mail',
  jobs: [
    {
      name: 'retry of mail quarantined as unstorable',
      intervalMs: (config) => config.mailRetryIntervalMs,
      run: ({ db, config }) => retryUnstoredQuarantines(db, config, isTransientFailure),
    },
    { name: 'sweep of blobs left by mail that never committed', intervalMs: () => 15 * 60_000, run: ({ db }) => sweepOrphanBlobs(db).then(() => {}) },
  ],
};
