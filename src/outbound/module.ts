import type { AppModule } from '../app-module.js';
import './graphql.js';
import { OutboxSender } from './sender.js';

/** Outbound mail: the outbox's sender on every instance, and the outbox in the API. */
export const outboundModule: AppModule = {
  name: 'outbound',
  async start({ database, config, log }) {
    const sender = new OutboxSender(database, config, log);
    await sender.start();
    return () => sender.stop();
  },
};
