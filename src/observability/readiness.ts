import type { Config } from '../config.js';
import { checkDatabase, type Database, type Db } from '../db/client.js';
import { isUpToDate } from '../db/migrate.js';
import type { EventHub } from '../events/hub.js';
import type { RunningJobs } from '../jobs.js';

/** How long /readyz waits for the database before it counts as unreachable. */
const DATABASE_TIMEOUT_MS = 2000;
/** A job that has not finished a round for this many of its intervals makes the instance unready. */
const LATE_JOB_INTERVALS = 3;

/**
 * A check a module adds to /readyz (outbound mail waiting too long, say): null when all is well,
 * else a short sentence saying what is wrong.
 */
export interface ReadinessCheck {
  name: string;
  check(context: { db: Db; config: Config }): Promise<string | null>;
}

export interface ReadinessReport {
  ready: boolean;
  /** Every check by name: "ok", or what is wrong. */
  checks: Record<string, string>;
  /** The names of the checks that failed. */
  failing: string[];
}

/**
 * What /readyz answers: ready only when the database answers within 2 s, its migrations are the
 * ones this code ships, the LISTEN connection is up (without it this instance hears of no
 * commit), every background job finished a round within three of its intervals (the SLA breach
 * watch among them), and every module's own check passes.
 */
export class Readiness {
  /** Set once the jobs run (they start after the routes). */
  jobs: RunningJobs | null = null;

  constructor(
    private readonly sources: { database: Database; events: EventHub; config: Config; checks: readonly ReadinessCheck[] },
  ) {}

  async report(now = Date.now()): Promise<ReadinessReport> {
    const { database, events, config } = this.sources;
    const checks: Record<string, string> = {};
    const reachable = await withinTime(checkDatabase(database), DATABASE_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    checks.database = reachable ? 'ok' : 'unreachable';
    if (reachable) {
      checks.migrations = (await withinTime(isUpToDate(database), DATABASE_TIMEOUT_MS).catch(() => false)) ? 'ok' : 'pending or unreadable';
    }
    checks.listen = events.isListening() ? 'ok' : 'down';
    for (const job of this.jobs?.health() ?? []) {
      const late = now - job.lastSuccess;
      checks[`job: ${job.name}`] = late > LATE_JOB_INTERVALS * job.intervalMs ? `no round finished for ${Math.round(late / 1000)} s (every ${job.intervalMs / 1000} s)` : 'ok';
    }
    if (reachable) {
      for (const extra of this.sources.checks) {
        const problem = await withinTime(extra.check({ db: database.db, config }), DATABASE_TIMEOUT_MS).catch((err: unknown) => `check failed: ${(err as Error).message}`);
        checks[extra.name] = problem ?? 'ok';
      }
    }
    const failing = Object.entries(checks)
      .filter(([, state]) => state !== 'ok')
      .map(([name]) => name);
    return { ready: failing.length === 0, checks, failing };
  }
}

function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
