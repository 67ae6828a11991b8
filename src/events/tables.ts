import { bigint, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

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
 * One row per event type: its last position. Publishing bumps it in the writing transaction, and
 * the row lock held to commit hands out positions in commit order, without gaps, so "after
 * position N" never skips an event that committed late with a lower number.
 */
export const eventStreams = pgTable('event_streams', {
  type: text('type').primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull(),
  /** Events up to here were pruned: a cursor older than this cannot be resumed exactly. */
  prunedThrough: bigint('pruned_through', { mode: 'number' }).notNull().default(0),
});
