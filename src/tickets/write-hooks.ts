import { slotValue, handleSlot, withSlotValue, type DbOrTx } from '../db/client.js';
import type { tickets } from './tables.js';

/**
 * Keeps derived data (SLA statuses) in step with tickets, inside the transaction that wrote
 * them. Capabilities declare theirs in their module; the app binds them to its database handle.
 */
export type TicketWriteHook = (tx: DbOrTx, written: Array<typeof tickets.$inferSelect>) => Promise<void>;

const TICKET_WRITE_HOOKS = handleSlot<readonly TicketWriteHook[]>('ticket write hooks');

/** The handle whose ticket writes run `hooks` (in this order); a handle without them runs none. */
export function withTicketWriteHooks<T extends DbOrTx>(db: T, hooks: readonly TicketWriteHook[]): T {
  return withSlotValue(db, TICKET_WRITE_HOOKS, hooks);
}

export async function afterTicketWrite(tx: DbOrTx, written: Array<typeof tickets.$inferSelect>): Promise<void> {
  for (const hook of slotValue(tx, TICKET_WRITE_HOOKS) ?? []) await hook(tx, written);
}
