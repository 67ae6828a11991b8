import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { ErrorCollector, fail, requiredText } from '../errors.js';
import { isEmailAddress } from '../tickets/email-address.js';
import { agents, apiTokens } from './tables.js';

export type Role = 'ADMIN' | 'AGENT';

/** The authenticated caller of a request. */
export interface Viewer {
  role: Role;
  /** Token name, used as the author of notes. */
  name: string;
  tokenId: number | null;
  agentId: number | null;
}

export type AgentRow = typeof agents.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** 32 random bytes: long enough that a fast hash is safe to store. */
export function generateToken(): string {
  return `intake_${randomBytes(32).toString('base64url')}`;
}

export async function createApiToken(
  db: DbOrTx,
  input: { name: string; role: Role; agentId?: number | null },
): Promise<{ token: string; row: ApiTokenRow }> {
  const errors = new ErrorCollector();
  const name = requiredText(errors, 'name', input.name, 120);
  errors.throwIfAny();
  const token = generateToken();
  const [row] = await db
    .insert(apiTokens)
    .values({ name, role: input.role, tokenHash: hashToken(token), agentId: input.agentId ?? null })
    .returning();
  return { token, row: row! };
}

export async function countApiTokens(db: DbOrTx): Promise<number> {
  return db.$count(apiTokens);
}

const CACHE_MS = 30_000;

/**
 * Resolves bearer tokens to viewers. Lookups are cached briefly so that a busy client does not
 * cost a database read per request.
 */
export class Authenticator {
  private readonly cache = new Map<string, { viewer: Viewer | null; until: number }>();
  private readonly bootstrapHash: Buffer | null;

  constructor(
    private readonly db: DbOrTx,
    bootstrapAdminToken: string | undefined,
  ) {
    this.bootstrapHash = bootstrapAdminToken ? Buffer.from(hashToken(bootstrapAdminToken), 'hex') : null;
  }

  /** Reads "Bearer <token>"; returns null for a missing or unknown token. */
  async fromAuthorization(header: string | null | undefined): Promise<Viewer | null> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match || match[1]!.length > 256) return null;
    const hash = hashToken(match[1]!);
    if (this.bootstrapHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.bootstrapHash)) {
      return { role: 'ADMIN', name: 'admin', tokenId: null, agentId: null };
    }
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.viewer;
    const [row] = await this.db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hash));
    const viewer: Viewer | null = row ? { role: row.role, name: row.name, tokenId: row.id, agentId: row.agentId } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { viewer, until: Date.now() + CACHE_MS });
    return viewer;
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
