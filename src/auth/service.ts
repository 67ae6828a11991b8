import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { ErrorCollector, fail, requiredText } from '../errors.js';
import { isEmailAddress } from '../text/email-address.js';
import { ANONYMOUS, isStaff, NO_SCOPE_LOOKUPS, tokenKeyOf, type Principal, type ScopeLookups } from './principal.js';
import { agents, apiTokens, visitorTokens } from './tables.js';

export type Role = 'ADMIN' | 'AGENT';

export type AgentRow = typeof agents.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;

/** Staff tokens start with this; visitor tokens with VISITOR_PREFIX, so one lookup finds either. */
const STAFF_PREFIX = 'intake_';
const VISITOR_PREFIX = 'intakev_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** 32 random bytes: long enough that a fast hash is safe to store. */
export function generateToken(prefix = STAFF_PREFIX): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Creates a staff token. An AGENT token must name its agent; an ADMIN token may. */
export async function createApiToken(
  db: DbOrTx,
  input: { name: string; role: Role; agentId?: number | null },
): Promise<{ token: string; row: ApiTokenRow }> {
  const errors = new ErrorCollector();
  const name = requiredText(errors, 'name', input.name, 120);
  const agentId = input.agentId ?? null;
  if (input.role === 'AGENT' && agentId === null) errors.add('agentId', 'REQUIRED', 'An AGENT token must be bound to an agent: give agentId.');
  errors.throwIfAny();
  if (agentId !== null && !(await findAgent(db, agentId))) fail('agentId', 'NOT_FOUND', 'No agent has this id.');
  const token = generateToken();
  const [row] = await db.insert(apiTokens).values({ name, role: input.role, tokenHash: hashToken(token), agentId }).returning();
  return { token, row: row! };
}

/** Marks a token revoked; it is kept so lists still show it. Returns the row, or undefined for an unknown id. */
export async function revokeApiToken(db: DbOrTx, id: number): Promise<ApiTokenRow | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, now())` })
    .where(eq(apiTokens.id, id))
    .returning();
  return row;
}

/**
 * Creates the token of a chat visitor, good for that session only. Live chat calls this when a
 * visitor starts a session.
 */
/** A new visitor token, for a caller that stores its hash itself (startLiveChat, within its one statement). */
export function generateVisitorToken(): string {
  return generateToken(VISITOR_PREFIX);
}

/** The INSERT of a visitor token's hash, for another service's statement (startLiveChat writes its session and token in few statements). */
export function visitorTokenInsertSql(sessionId: number | SQL, tokenHash: string): SQL {
  return sql`insert into ${visitorTokens} (session_id, token_hash) values (${sessionId}, ${tokenHash})`;
}

/** An agent's name as a scalar subquery, for another service's statement; null when there is no such agent. */
export function agentNameSql(agentId: SQL): SQL {
  return sql`(select a.name from ${agents} a where a.id = ${agentId})`;
}

export async function createVisitorToken(db: DbOrTx, sessionId: number): Promise<{ token: string; id: number }> {
  const token = generateToken(VISITOR_PREFIX);
  const [row] = await db.insert(visitorTokens).values({ sessionId, tokenHash: hashToken(token) }).returning({ id: visitorTokens.id });
  return { token, id: row!.id };
}

const DAY_MS = 86_400_000;

/** The session's tokens start their last period: live chat calls this when it closes the session. */
export async function startVisitorTokenExpiry(db: DbOrTx, sessionId: number): Promise<void> {
  await db.update(visitorTokens).set({ sessionClosedAt: sql`now()` }).where(and(eq(visitorTokens.sessionId, sessionId), isNull(visitorTokens.sessionClosedAt)));
}

/** Deletes the tokens whose period after their session's close is over; returns how many. */
export async function deleteExpiredVisitorTokens(db: DbOrTx, days: number): Promise<number> {
  const deleted = await db
    .delete(visitorTokens)
    .where(sql`${visitorTokens.sessionClosedAt} < now() - make_interval(secs => ${(days * DAY_MS) / 1000})`)
    .returning({ id: visitorTokens.id });
  return deleted.length;
}

export async function countApiTokens(db: DbOrTx): Promise<number> {
  return db.$count(apiTokens);
}

export interface AuthenticatorOptions {
  /** How long a lookup is reused; a revocation on another instance takes effect within it. */
  cacheMs?: number;
  /** How often lastUsedAt is written. */
  usageFlushMs?: number;
  /** Per-object rights other capabilities know (chat operators). */
  scopeLookups?: ScopeLookups;
  /** How long a visitor token works after its session closed, in days. */
  visitorTokenDays?: number;
  /** How often the tokens of open streams are checked again; defaults to cacheMs (at least 100 ms). */
  revalidateMs?: number;
  onError?: (err: unknown) => void;
}

/** A token was sent but is not accepted: the caller hears so (HTTP 401, graphql-ws close 4401). */
export class TokenRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`Authentication failed: ${reason}. Send a valid token, or no Authorization header at all for the public operations.`);
    this.name = 'TokenRefusedError';
  }
}

/**
 * Resolves bearer tokens to principals. Lookups are cached briefly so that a busy client does not
 * cost a database read per request; a revocation through this instance evicts at once. Use is
 * recorded in memory and written as one UPDATE per flush, not one write per request.
 *
 * Open streams (graphql-ws sockets, SSE streams) checked their token once, when they opened: they
 * watch it, and end when it is revoked. A revocation through this instance ends them at once; one
 * through another instance is found by checking the watched tokens again every cacheMs (one query
 * per table for all of them), so rights end within the same bound as a cached lookup.
 */
export class Authenticator {
  readonly scopeLookups: ScopeLookups;
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  private readonly bootstrapHash: Buffer | null;
  private readonly cacheMs: number;
  private readonly visitorTokenMs: number;
  private readonly onError: (err: unknown) => void;
  /** Token id → when it was last used, since the last flush. */
  private used = new Map<number, Date>();
  private readonly flushTimer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Token key → what ends each open stream holding it. */
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly revalidateMs: number;
  private revalidateTimer: NodeJS.Timeout | null = null;
  private revalidating = false;

  constructor(
    private readonly db: DbOrTx,
    bootstrapAdminToken: string | undefined,
    options: AuthenticatorOptions = {},
  ) {
    this.bootstrapHash = bootstrapAdminToken ? Buffer.from(hashToken(bootstrapAdminToken), 'hex') : null;
    this.cacheMs = options.cacheMs ?? 30_000;
    this.visitorTokenMs = (options.visitorTokenDays ?? 30) * DAY_MS;
    this.scopeLookups = options.scopeLookups ?? NO_SCOPE_LOOKUPS;
    this.onError = options.onError ?? (() => {});
    this.revalidateMs = Math.max(options.revalidateMs ?? this.cacheMs, 100);
    this.flushTimer = setInterval(() => void this.flushUsage(), options.usageFlushMs ?? 60_000);
    this.flushTimer.unref();
  }

  /**
   * The caller behind an Authorization header. Anonymous only when no token is sent (no header,
   * or a blank one, as clients send when logged out); a token that is sent but refused —
   * not "Bearer <token>", unknown, revoked, or a visitor token past its period — throws TokenRefusedError, so that transports
   * answer 401 instead of serving the caller silently as anonymous.
   */
  async principalOf(header: string | null | undefined): Promise<Principal> {
    if (header == null || header.trim() === '') return ANONYMOUS;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || match[1]!.length > 256) throw new TokenRefusedError('the Authorization header is not "Bearer <token>"');
    const principal = await this.fromToken(match[1]!);
    if (principal.kind === 'anonymous') throw new TokenRefusedError('the bearer token is unknown or revoked');
    return principal;
  }

  /** Like principalOf, but a refused token is anonymous (for callers that answer both alike). */
  async fromAuthorization(header: string | null | undefined): Promise<Principal> {
    try {
      return await this.principalOf(header);
    } catch (error) {
      if (error instanceof TokenRefusedError) return ANONYMOUS;
      throw error;
    }
  }

  private async fromToken(token: string): Promise<Principal> {
    const hash = hashToken(token);
    if (this.bootstrapHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.bootstrapHash)) {
      return { kind: 'admin', name: 'admin', tokenId: null, agentId: null };
    }
    const cached = this.cache.get(hash);
    const principal = cached && cached.until > Date.now() ? cached.principal : await this.lookUp(token, hash);
    if (isStaff(principal) && principal.tokenId !== null) this.used.set(principal.tokenId, new Date());
    return principal;
  }

  /** Forgets a staff token at once, e.g. after revoking it, and ends the streams that hold it. */
  evict(tokenId: number): void {
    this.revoked(`staff:${tokenId}`);
  }

  /**
   * Calls `onRevoked` once when the principal's token is revoked (through any instance); returns
   * the function that stops watching. Principals without a revocable token are never called back.
   */
  watchRevocation(principal: Principal, onRevoked: () => void): () => void {
    const key = tokenKeyOf(principal);
    if (key === null) return () => {};
    let watching = this.watchers.get(key);
    if (!watching) this.watchers.set(key, (watching = new Set()));
    watching.add(onRevoked);
    if (!this.revalidateTimer) {
      this.revalidateTimer = setInterval(() => void this.revalidate(), this.revalidateMs);
      this.revalidateTimer.unref();
    }
    return () => {
      watching.delete(onRevoked);
      if (watching.size === 0 && this.watchers.get(key) === watching) this.watchers.delete(key);
      if (this.watchers.size === 0 && this.revalidateTimer) {
        clearInterval(this.revalidateTimer);
        this.revalidateTimer = null;
      }
    };
  }

  /** Streams open on this instance that watch a token. */
  watchedStreams(): number {
    let count = 0;
    for (const watching of this.watchers.values()) count += watching.size;
    return count;
  }

  /** Drops the cached lookups of a token and ends the streams holding it. */
  private revoked(key: string): void {
    for (const [hash, entry] of this.cache) {
      if (tokenKeyOf(entry.principal) === key) this.cache.delete(hash);
    }
    const watching = this.watchers.get(key);
    if (!watching) return;
    this.watchers.delete(key);
    for (const onRevoked of watching) {
      try {
        onRevoked();
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /** Checks every watched token against the database: those revoked (or gone) meanwhile end their streams. */
  private async revalidate(): Promise<void> {
    if (this.revalidating || this.watchers.size === 0) return;
    this.revalidating = true;
    try {
      const checked = [...this.watchers.keys()];
      const ids = { staff: [] as number[], visitor: [] as number[] };
      for (const key of checked) {
        const [table, id] = key.split(':') as ['staff' | 'visitor', string];
        ids[table].push(Number(id));
      }
      const [staff, visitors] = await Promise.all([
        ids.staff.length ? this.db.select({ id: apiTokens.id }).from(apiTokens).where(and(inArray(apiTokens.id, ids.staff), isNull(apiTokens.revokedAt))) : [],
        ids.visitor.length ? this.db.select({ id: visitorTokens.id }).from(visitorTokens).where(and(inArray(visitorTokens.id, ids.visitor), isNull(visitorTokens.revokedAt))) : [],
      ]);
      const valid = new Set([...staff.map((r) => `staff:${r.id}`), ...visitors.map((r) => `visitor:${r.id}`)]);
      // Only the keys asked about: a stream opened meanwhile was checked when it opened.
      for (const key of checked) if (!valid.has(key)) this.revoked(key);
    } catch (err) {
      // The database may be away for a moment: the streams stay, and the next round checks again.
      this.onError(err);
    } finally {
      this.revalidating = false;
    }
  }

  /** Writes lastUsedAt of every token used since the last flush, in one statement. */
  flushUsage(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.used.size === 0) return;
      const used = this.used;
      this.used = new Map();
      const rows = sql.join(
        [...used].map(([id, at]) => sql`(${id}::integer, ${at.toISOString()}::timestamptz)`),
        sql`, `,
      );
      try {
        await this.db.execute(
          sql`update api_tokens set last_used_at = used.at from (values ${rows}) as used(id, at)
              where api_tokens.id = used.id and (api_tokens.last_used_at is null or api_tokens.last_used_at < used.at)`,
        );
      } catch (err) {
        this.onError(err);
      }
    });
    return this.flushing;
  }

  /** Stops the flush timer and writes what is pending. */
  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    if (this.revalidateTimer) clearInterval(this.revalidateTimer);
    this.revalidateTimer = null;
    await this.flushUsage();
  }

  private async lookUp(token: string, hash: string): Promise<Principal> {
    const { principal, expiresAt } = token.startsWith(VISITOR_PREFIX) ? await this.lookUpVisitor(hash) : { principal: await this.lookUpStaff(hash), expiresAt: Infinity };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: Math.min(Date.now() + this.cacheMs, expiresAt) });
    return principal;
  }

  private async lookUpStaff(hash: string): Promise<Principal> {
    const [row] = await this.db
      .select({ id: apiTokens.id, name: apiTokens.name, role: apiTokens.role, agentId: apiTokens.agentId, agentName: agents.name })
      .from(apiTokens)
      .leftJoin(agents, eq(agents.id, apiTokens.agentId))
      .where(and(eq(apiTokens.tokenHash, hash), isNull(apiTokens.revokedAt)));
    if (!row) return ANONYMOUS;
    if (row.role === 'ADMIN') return { kind: 'admin', tokenId: row.id, name: row.agentName ?? row.name, agentId: row.agentId };
    return { kind: 'agent', tokenId: row.id, name: row.agentName!, agentId: row.agentId! };
  }

  /** A visitor principal, good until its session closed plus the period (or for as long as it is open). */
  private async lookUpVisitor(hash: string): Promise<{ principal: Principal; expiresAt: number }> {
    const [row] = await this.db
      .select({ id: visitorTokens.id, sessionId: visitorTokens.sessionId, sessionClosedAt: visitorTokens.sessionClosedAt })
      .from(visitorTokens)
      .where(and(eq(visitorTokens.tokenHash, hash), isNull(visitorTokens.revokedAt)));
    const expiresAt = row?.sessionClosedAt ? row.sessionClosedAt.getTime() + this.visitorTokenMs : Infinity;
    if (!row || expiresAt <= Date.now()) return { principal: ANONYMOUS, expiresAt: Infinity };
    return { principal: { kind: 'visitor', tokenId: row.id, sessionId: row.sessionId }, expiresAt };
  }
}

export async function createAgent(db: DbOrTx, input: { name: string; email?: string | null }): Promise<AgentRow> {
  const errors = new ErrorCollector();
  const name = requiredText(errors, 'name', input.name, 120);
  const email = input.email?.trim() || null;
  if (email && !isEmailAddress(email)) errors.add('email', 'INVALID_EMAIL', 'email must be an email address.');
  errors.throwIfAny();
  const [existing] = email ? await db.select().from(agents).where(eq(agents.email, email)) : [];
  if (existing) fail('email', 'TAKEN', 'Another agent has this email.');
  const [agent] = await db.insert(agents).values({ name, email }).returning();
  return agent!;
}

export async function findAgent(db: DbOrTx, id: number): Promise<AgentRow | undefined> {
  const [agent] = await db.select().from(agents).where(eq(agents.id, id));
  return agent;
}

/** Agents by id, in one query (a per-parent field across a list). */
export async function findAgents(db: DbOrTx, ids: readonly number[]): Promise<AgentRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(agents).where(isAnyOf(agents.id, [...new Set(ids)]));
}

export async function findAgentByEmail(db: DbOrTx, email: string): Promise<AgentRow | undefined> {
  const [agent] = await db.select().from(agents).where(eq(agents.email, email.trim()));
  return agent;
}
