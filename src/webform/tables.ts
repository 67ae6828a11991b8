import { boolean, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestampColumn, updatedAtColumn } from '../db/columns.js';
import { teams } from '../teams/tables.js';
import type { FormField } from './form.js';

export interface SideBlock {
  title: string;
  body: string;
}

/** One public ticket form per team. */
export const websiteForms = pgTable(
  'website_forms',
  {
    teamId: integer('team_id')
      .primaryKey()
      .references(() => teams.id, { onDelete: 'cascade' }),
    // The page lives at /support/<slug>.
    slug: text('slug').notNull(),
    published: boolean('published').notNull().default(false),
    title: text('title').notNull(),
    intro: text('intro').notNull().default(''),
    successMessage: text('success_message').notNull(),
    sideBlocks: jsonb('side_blocks').$type<SideBlock[]>().notNull(),
    fields: jsonb('fields').$type<FormField[]>().notNull(),
    updatedAt: updatedAtColumn(),
  },
  (t) => [uniqueIndex('website_forms_slug_unique').on(t.slug)],
);

/** Submissions per client address and window, shared by every instance. */
export const formRateCounters = pgTable(
  'form_rate_counters',
  {
    clientKey: text('client_key').notNull(),
    windowStart: timestampColumn('window_start').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.clientKey, t.windowStart] })],
);
