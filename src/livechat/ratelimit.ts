import { sql } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../db/client.js';
import { fail } from '../errors.js';
import { retryAfterSeconds } from './rules.js';
import { liveChatRateCounters } from './tables.js';

/**
 * Counts one hit on `key` in the current fixed window, shared by every instance through
 * PostgreSQL; past `limit` it fails with RATE_LIMITED saying when to retry.
 */
export async function hitRateLimit(db: DbOrTx, key: string, limit: number, windowSeconds: number, field: string | null = null): Promise<void> {
  const [row] = await queryRows<{ hits: number; window_start: string | Date }>(
    db,
    sql`insert into ${liveChatRateCounters} (key, window_start, hits)
        values (${key}, to_timestamp(floor(extract(epoch from now()) / ${windowSeconds}) * ${windowSeconds}), 1)
        on conflict (key, window_start) do update set hits = ${liveChatRateCounters}.hits + 1
        returning hits, window_start`,
  );
  if (Number(row!.hits) <= limit) return;
  const retryAfter = retryAfterSeconds(Date.now(), new Date(row!.window_start).getTime(), windowSeconds);
  throw rateLimited(retryAfter, field);
}

function rateLimited(retryAfter: number, field: string | null): never {
  try {
    fail(field, 'RATE_LIMITED', `Too many requests: retry in ${retryAfter} seconds.`);
  } catch (error) {
    Object.assign(error as object, { retryAfterSeconds: retryAfter });
    throw error;
  }
}

/** Drops counters of windows long past. */
export async function pruneRateCounters(db: DbOrTx): Promise<void> {
  await db.delete(liveChatRateCounters).where(sql`${liveChatRateCounters.windowStart} < now() - interval '1 day'`);
}
