import type { AppModule } from '../app-module.js';
import { teamDirectoryChanged, teamDirectoryOf, withTeamDirectory } from './directory.js';
import './graphql.js';

/**
 * Teams, their stages and mail domains: GraphQL, and the directory of aliases and domains that
 * answers the SMTP listener's recipient checks from memory, kept in step by the hub.
 */
export const teamsModule: AppModule = {
  name: 'teams',
  events: [teamDirectoryChanged],
  bindHandle: (db) => withTeamDirectory(db),
  start: ({ database, events }) => teamDirectoryOf(database.db).follow(database.db, events),
};
