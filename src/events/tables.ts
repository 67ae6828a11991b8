import { bigint, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Every published event, in commit order per type: what a resuming subscriber replays. Rows
 * carry ids, not bodies; the event type's loader reads the current row. Pruned after a
 * retention period.
 */
export const events = pgTable(
  'events',
  {
    type: text('type').notNull(),
    position: bigint('position', { mode: 'number' }).notNull(),
    entityId: integer('entity_id').notNull(),
    /** What subscribers filter on (a team, a chat session); null when the type has no filter. */
    keyId: integer('key_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.type, t.position] })],
);

/**
 * One row per event type: its last position. Only the sequencer (`sequenceEvents`) bumps it, in a
 * short statement of its own after the writers committed: positions are handed out to committed
 * events only, in the order they are sequenced, without gaps, so "after position N" never skips
 * an event that committed late with a lower number, and no writer holds this row's lock.
 */
export const eventStreams = pgTable('event_streams', {
  type: text('type').primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull(),
  /** Events up to here were pruned: a cursor older than this cannot be resumed exactly. */
  prunedThrough: bigint('pruned_through', { mode: 'number' }).notNull().default(0),
});

/**
 * Events committed but not yet numbered. Publishing inserts here inside the writing transaction
 * (no lock: writers of one type commit side by side); the sequencer moves committed rows into
 * `events` with the next positions, in id order, moments later.
 */
export const eventBacklog = pgTable(
  'event_backlog',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    type: text('type').notNull(),
    entityId: integer('entity_id').notNull(),
    keyId: integer('key_id'),
  },
  (t) => [index('event_backlog_type_id').on(t.type, t.id)],
);
