import type { AppModule } from '../app-module.js';
import './graphql.js';

/** Agents and API tokens: GraphQL only (token lookups and their usage flush live in the Authenticator the app holds). */
export const authModule: AppModule = { name: 'auth' };
