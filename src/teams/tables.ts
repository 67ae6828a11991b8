import { boolean, index, integer, pgEnum, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAtColumn, idColumn, updatedAtColumn } from '../db/columns.js';

export const aliasContactPolicy = pgEnum('alias_contact_policy', ['EVERYONE', 'KNOWN_CUSTOMERS']);

export const teams = pgTable(
  'teams',
  {
    id: idColumn(),
    name: text('name').notNull(),
    useEmailAlias: boolean('use_email_alias').notNull().default(true),
    useWebsiteForm: boolean('use_website_form').notNull().default(false),
    useLiveChat: boolean('use_live_chat').notNull().default(false),
    useSla: boolean('use_sla').notNull().default(true),
    // The alias is kept while the channel is off, so switching it back on restores the address.
    aliasLocalPart: text('alias_local_part'),
    aliasDomain: text('alias_domain'),
    aliasContactPolicy: aliasContactPolicy('alias_contact_policy').notNull().default('EVERYONE'),
    // Sent with the 550 refusal to senders the contact policy turns away; a default when null.
    aliasRefusalText: text('alias_refusal_text'),
    // Mail the customer of each new ticket (from mail or the form) that it was received.
    acknowledgeNewTickets: boolean('acknowledge_new_tickets').notNull().default(false),
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

/** Domains we receive mail for besides MAIL_DOMAIN (the "custom domains" of the docs). */
export const mailDomains = pgTable(
  'mail_domains',
  {
    id: idColumn(),
    domain: text('domain').notNull(),
    createdAt: createdAtColumn(),
  },
  (t) => [uniqueIndex('mail_domains_domain_unique').on(t.domain)],
);
