import { handleSlot, slotValue, withSlotValue, type DbOrTx } from '../db/client.js';
import type { teams } from './tables.js';

/**
 * Keeps a capability's data in step with a team (the live chat channel), inside the team's
 * transaction. Capabilities declare theirs in their module; the app binds them to its handle.
 */
export type TeamWriteHook = (tx: DbOrTx, team: typeof teams.$inferSelect) => Promise<void>;

const TEAM_WRITE_HOOKS = handleSlot<readonly TeamWriteHook[]>('team write hooks');

/** The handle whose team writes run `hooks` (in this order); a handle without them runs none. */
export function withTeamWriteHooks<T extends DbOrTx>(db: T, hooks: readonly TeamWriteHook[]): T {
  return withSlotValue(db, TEAM_WRITE_HOOKS, hooks);
}

export async function afterTeamWrite(tx: DbOrTx, team: typeof teams.$inferSelect): Promise<void> {
  for (const hook of slotValue(tx, TEAM_WRITE_HOOKS) ?? []) await hook(tx, team);
}
