import type { AppModule } from '../app-module.js';
import './graphql.js';

/** Teams, their stages and mail domains: GraphQL only. */
export const teamsModule: AppModule = { name: 'teams' };
