import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../db/client.js';
import { failRateLimited } from '../errors.js';
import { liveChatRateCounters } from './tables.js';

/** A limit: at most `limit` hits on `key` in any `windowSeconds` (a sliding window). */
export interface RateLimit {
  key: string;
  limit: number;
  windowSeconds: number;
}

/**
 * Hits are counted per slot, a sixtieth of the window: a key keeps at most 61 counter rows. A
 * slot counts while any part of it lies in the last window, so the limit holds in every window
 * (none ever sees more than `limit`), and a refused caller may wait up to one slot longer.
 */
const SLOTS_PER_WINDOW = 60;

const slotOf = (limit: RateLimit) => limit.windowSeconds / SLOTS_PER_WINDOW;

/**
 * Common table expressions `rate_prior, rate_hit` for a statement: `rate_hit` holds a row when
 * this hit was counted, none when the key is at its limit (then nothing is counted). Shared by
 * every instance through PostgreSQL; a statement can make its work depend on `rate_hit`.
 */
export function rateHitCtes(limit: RateLimit): SQL {
  const slot = slotOf(limit);
  const slotStart = sql`to_timestamp(floor(extract(epoch from now()) / ${slot}::float8) * ${slot}::float8)`;
  return sql`rate_prior as (
      select coalesce(sum(hits), 0)::int as hits from ${liveChatRateCounters}
      where key = ${limit.key} and window_start > now() - make_interval(secs => ${limit.windowSeconds + slot}::float8) and window_start < ${slotStart}
    ), rate_hit as (
      insert into ${liveChatRateCounters} as c (key, window_start, hits)
      select ${limit.key}, ${slotStart}, 1 from rate_prior where rate_prior.hits < ${limit.limit}::int
      on conflict (key, window_start) do update set hits = c.hits + 1 where (select hits from rate_prior) + c.hits < ${limit.limit}::int
      returning hits
    )`;
}

/** Counts one hit on the key; past the limit it fails with RATE_LIMITED saying when to retry. */
export async function hitRateLimit(db: DbOrTx, limit: RateLimit, field: string | null = null): Promise<void> {
  const [row] = await queryRows<{ counted: boolean }>(db, sql`with ${rateHitCtes(limit)} select exists (select 1 from rate_hit) as counted`);
  if (!row!.counted) await failRateLimitedAt(db, limit, field);
}

/** RATE_LIMITED with the seconds until enough of the window's hits have aged out of it. */
export async function failRateLimitedAt(db: DbOrTx, limit: RateLimit, field: string | null): Promise<never> {
  const slot = slotOf(limit);
  const rows = await queryRows<{ start: number | string; hits: number; now: number | string }>(
    db,
    sql`select extract(epoch from window_start) as start, hits, extract(epoch from now()) as now from ${liveChatRateCounters}
        where key = ${limit.key} and window_start > now() - make_interval(secs => ${limit.windowSeconds + slot}::float8)
        order by window_start`,
  );
  let counted = rows.reduce((sum, row) => sum + Number(row.hits), 0);
  let retryAfter = 1;
  for (const row of rows) {
    if (counted < limit.limit) break;
    counted -= Number(row.hits);
    retryAfter = Math.ceil(Number(row.start) + slot + limit.windowSeconds - Number(row.now));
  }
  failRateLimited(field, Math.max(1, retryAfter));
}

/** Drops counters of windows long past. */
export async function pruneRateCounters(db: DbOrTx): Promise<void> {
  await db.delete(liveChatRateCounters).where(sql`${liveChatRateCounters.windowStart} < now() - interval '1 day'`);
}
