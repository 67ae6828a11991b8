import { doublePrecision, index, integer, jsonb, pgEnum, pgTable, text, boolean, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAtColumn, idColumn, timestampColumn, updatedAtColumn } from '../db/columns.js';
import { stages, teams } from '../teams/tables.js';
import { tickets } from '../tickets/tables.js';
import type { WorkingInterval } from './calendar.js';

export const slaStatus = pgEnum('sla_status', ['ONGOING', 'REACHED', 'FAILED']);

/** A team's working calendar; a team without a row works Monday–Friday 08:00–17:00 UTC. */
export const teamCalendars = pgTable('team_calendars', {
  teamId: integer('team_id')
    .primaryKey()
    .references(() => teams.id, { onDelete: 'cascade' }),
  timezone: text('timezone').notNull(),
  intervals: jsonb('intervals').$type<WorkingInterval[]>().notNull(),
  holidays: jsonb('holidays').$type<string[]>().notNull(),
  updatedAt: updatedAtColumn(),
});

export const slaPolicies = pgTable(
  'sla_policies',
  {
    id: idColumn(),
    teamId: integer('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    active: boolean('active').notNull().default(true),
    // Small sets, read whole: JSON arrays keep them simple on PGlite and PostgreSQL alike.
    priorities: jsonb('priorities').$type<number[]>().notNull(),
    tagIds: jsonb('tag_ids').$type<number[]>().notNull(),
    customerIds: jsonb('customer_ids').$type<number[]>().notNull(),
    targetStageId: integer('target_stage_id')
      .notNull()
      .references(() => stages.id, { onDelete: 'cascade' }),
    excludedStageIds: jsonb('excluded_stage_ids').$type<number[]>().notNull(),
    hours: doublePrecision('hours').notNull(),
    createdAt: createdAtColumn(),
  },
  (t) => [index('sla_policies_team').on(t.teamId)],
);

/** One per ticket and matching policy. */
export const ticketSlaStatuses = pgTable(
  'ticket_sla_statuses',
  {
    id: idColumn(),
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    policyId: integer('policy_id')
      .notNull()
      .references(() => slaPolicies.id, { onDelete: 'cascade' }),
    deadline: timestampColumn('deadline').notNull(),
    reachedAt: timestampColumn('reached_at'),
    status: slaStatus('status').notNull(),
    paused: boolean('paused').notNull().default(false),
  },
  (t) => [uniqueIndex('ticket_sla_statuses_unique').on(t.ticketId, t.policyId), index('ticket_sla_statuses_due').on(t.status, t.deadline)],
);
