import type { AppModule } from '../app-module.js';
import './graphql.js';

/** Inbound mail: GraphQL here; the SMTP listener is a transport the app starts (src/smtp/). */
export const mailModule: AppModule = { name: 'mail' };
