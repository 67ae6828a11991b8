import { sql } from 'drizzle-orm';
import { handleSlot, isTransaction, queryRows, slotValue, withSlotValue, type DbOrTx } from '../db/client.js';
import { defineEvent, notifyEvents, type EventHub } from '../events/hub.js';
import type { teams } from './tables.js';

/** What a recipient check needs of the team behind an alias. */
export type AliasTeam = Pick<typeof teams.$inferSelect, 'id' | 'useEmailAlias' | 'aliasContactPolicy' | 'aliasRefusalText'>;

/** Every alias and mail domain, as one statement read them. */
export interface TeamDirectoryEntries {
  /** Domains added through the API (MAIL_DOMAIN is the caller's setting). */
  domains: ReadonlySet<string>;
  /** By "local@domain", lower case. */
  teams: ReadonlyMap<string, AliasTeam>;
}

/**
 * Teams or mail domains changed: sent inside the writing transaction, so every instance hears of
 * it on commit. An administrator who changes them in SQL sends it too:
 * `select pg_notify('intake_events', '{"type":"teamDirectoryChanged"}')`.
 */
export const teamDirectoryChanged = defineEvent<true>({
  name: 'teamDirectoryChanged',
  liveOnly: true,
  load: async (_db, ids) => new Map(ids.map((id) => [id, true as const])),
});

/**
 * A change seen by no notification (SQL without one) is read at the latest after this long;
 * one statement a minute while mail flows.
 */
export const TEAM_DIRECTORY_MAX_AGE_MS = 60_000;
/** A change inside a caller's transaction: the directory waits this long at most for its commit's notification. */
const CALLER_TRANSACTION_BOUND_MS = 60_000;

async function readTeamDirectory(db: DbOrTx): Promise<TeamDirectoryEntries> {
  const rows = await queryRows<{ id: number | null; alias: string; use_email_alias: boolean; alias_contact_policy: AliasTeam['aliasContactPolicy']; alias_refusal_text: string | null }>(
    db,
    sql`select id, alias_local_part || '@' || alias_domain as alias, use_email_alias, alias_contact_policy, alias_refusal_text
      from teams where alias_local_part is not null and alias_domain is not null
      union all
      select null, domain, null, null, null from mail_domains`,
  );
  const domains = new Set<string>();
  const byAlias = new Map<string, AliasTeam>();
  for (const row of rows) {
    if (row.id === null) domains.add(row.alias);
    else byAlias.set(row.alias, { id: row.id, useEmailAlias: row.use_email_alias, aliasContactPolicy: row.alias_contact_policy, aliasRefusalText: row.alias_refusal_text });
  }
  return { domains, teams: byAlias };
}

/**
 * One read at a time: callers that ask while one runs share the next, which starts after it
 * ends, so nobody gets a read begun before they asked.
 */
class SharedReads<T> {
  private running: Promise<T> | null = null;
  private next: Promise<T> | null = null;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.running) return this.start();
    const ended = () => {
      this.next = null;
      return this.start();
    };
    return (this.next ??= this.running.then(ended, ended));
  }

  private start(): Promise<T> {
    const reading = this.read();
    this.running = reading;
    const done = () => {
      if (this.running === reading) this.running = null;
    };
    reading.then(done, done);
    return reading;
  }
}

/**
 * The app's aliases and mail domains in memory, so a recipient check at RCPT TO costs no
 * statement. Trusted only while it can hear of every change: its instance's hub listens, no
 * team write of this instance is under way, and it was read after the last change it heard of
 * (a write here invalidates it after commit, a notification from elsewhere on arrival). Otherwise
 * each check reads the database as before, concurrent ones sharing one statement.
 */
export class TeamDirectory {
  private entries: TeamDirectoryEntries | null = null;
  private readAt = 0;
  /** Bumped by every change heard of: a read begun before it is not kept. */
  private generation = 0;
  private writesUnderWay = 0;
  /** A write committed by its caller's transaction: untrusted until a notification, or this time. */
  private callerCommitUntil = 0;
  private hub: EventHub | null = null;
  private following = false;
  private readonly reads: SharedReads<{ entries: TeamDirectoryEntries; keep: boolean; generation: number }>;

  constructor(private db: DbOrTx) {
    this.reads = new SharedReads(async () => {
      const generation = this.generation;
      const keep = this.trusted();
      return { entries: await readTeamDirectory(this.db), keep, generation };
    });
  }

  /** The aliases and domains as committed: from memory when trusted, else one (shared) statement. */
  async current(): Promise<TeamDirectoryEntries> {
    if (this.entries && this.trusted() && performance.now() - this.readAt < TEAM_DIRECTORY_MAX_AGE_MS) return this.entries;
    const read = await this.reads.get();
    if (read.keep && read.generation === this.generation && this.trusted()) {
      this.entries = read.entries;
      this.readAt = performance.now();
    }
    return read.entries;
  }

  /** Follows the hub's notifications of changes (reads through `db`); the returned function stops. */
  async follow(db: DbOrTx, hub: EventHub): Promise<() => Promise<void>> {
    this.db = db;
    this.hub = hub;
    // A change, or word that notifications may have been lost: read again either way.
    const stop = hub.watchLive(teamDirectoryChanged, () => {
      this.callerCommitUntil = 0;
      this.invalidate();
    });
    this.following = true;
    return async () => {
      this.following = false;
      this.invalidate();
      stop();
    };
  }

  /** A write of teams or domains through this instance begins: the directory is not used until it ends. */
  writeBegun(): void {
    this.writesUnderWay++;
    this.invalidate();
  }

  /** It ended (committed or not); inside a caller's transaction the commit is still to come. */
  writeEnded(inCallersTransaction: boolean): void {
    this.writesUnderWay--;
    if (inCallersTransaction) this.callerCommitUntil = performance.now() + CALLER_TRANSACTION_BOUND_MS;
    this.invalidate();
  }

  private invalidate(): void {
    this.generation++;
    this.entries = null;
  }

  private trusted(): boolean {
    return this.following && this.hub!.isListening() && this.writesUnderWay === 0 && performance.now() >= this.callerCommitUntil;
  }
}

const TEAM_DIRECTORY = handleSlot<TeamDirectory>('team directory');

/** A handle carrying a directory of its own (an app's: the teams module starts it). */
export function withTeamDirectory<T extends DbOrTx>(db: T): T {
  return withSlotValue(db, TEAM_DIRECTORY, new TeamDirectory(db));
}

/** The app's directory, or, on a handle without one, one that is never trusted (reads each time). */
export function teamDirectoryOf(db: DbOrTx): TeamDirectory {
  return slotValue(db, TEAM_DIRECTORY) ?? new TeamDirectory(db);
}

/**
 * Runs a write of teams or mail domains: the directory of this instance is set aside while it
 * runs and read again after it, and the transaction notifies every instance on commit (`work`
 * calls `notifyTeamDirectoryChanged` in it).
 */
export async function changingTeamDirectory<T>(db: DbOrTx, work: () => Promise<T>): Promise<T> {
  const directory = slotValue(db, TEAM_DIRECTORY);
  directory?.writeBegun();
  try {
    return await work();
  } finally {
    directory?.writeEnded(isTransaction(db));
  }
}

export async function notifyTeamDirectoryChanged(tx: DbOrTx): Promise<void> {
  await notifyEvents(tx, teamDirectoryChanged, new Map([[0, null]]));
}
