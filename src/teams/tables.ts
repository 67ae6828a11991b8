import { boolean, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAtColumn, idColumn, updatedAtColumn } from '../db/columns.js';

export const teams = pgTable(
  'teams',
  {
    id: idColumn(),
    name: text('name').notNull(),
    useEmailAlias: boolean('use_email_alias').notNull().default(true),
    useWebsiteForm: boolean('use_website_form').notNull().default(false),
    useLiveChat: boolean('use_live_chat').notNull().default(false),
    // The alias is kept while the channel is off, so switching it back on restores the address.
    aliasLocalPart: text('alias_local_part'),
    aliasDomain: text('alias_domain'),
    createdAt: createdAtColumn(),
    updatedAt: updatedAtColumn(),
  },
  (t) => [uniqueIndex('teams_alias_unique').on(t.aliasDomain, t.aliasLocalPart)],
);

export const stages = pgTable(
  'stages',
  {
    id: idColumn(),
    teamId: integer('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    sequence: integer('sequence').notNull(),
    closed: boolean('closed').notNull().default(false),
    createdAt: createdAtColumn(),
  },
  (t) => [index('stages_team_sequence').on(t.teamId, t.sequence)],
);
