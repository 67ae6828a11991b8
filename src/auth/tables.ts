import { sql } from 'drizzle-orm';
import { check, index, integer, pgEnum, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAtColumn, idColumn, timestampColumn } from '../db/columns.js';

export const apiTokenRole = pgEnum('api_token_role', ['ADMIN', 'AGENT']);

/** People who work tickets: assignees and authors of notes. */
export const agents = pgTable(
  'agents',
  {
    id: idColumn(),
    name: text('name').notNull(),
    email: text('email'),
    createdAt: createdAtColumn(),
  },
  (t) => [uniqueIndex('agents_email_unique').on(t.email)],
);

/**
 * Bearer tokens of staff; only a SHA-256 digest of each token is stored. An AGENT token always
 * speaks for one agent; an ADMIN token may. A revoked token is kept, so the list shows it.
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: idColumn(),
    name: text('name').notNull(),
    role: apiTokenRole('role').notNull(),
    tokenHash: text('token_hash').notNull(),
    agentId: integer('agent_id').references(() => agents.id, { onDelete: 'cascade' }),
    createdAt: createdAtColumn(),
    lastUsedAt: timestampColumn('last_used_at'),
    revokedAt: timestampColumn('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_tokens_hash_unique').on(t.tokenHash),
    check('api_tokens_agent_bound', sql`${t.role} <> 'AGENT' OR ${t.agentId} IS NOT NULL`),
  ],
);

/**
 * Tokens of chat visitors: each grants one chat session and nothing else. Live chat adds the
 * sessions table and a foreign key from `session_id` to it.
 */
export const visitorTokens = pgTable(
  'visitor_tokens',
  {
    id: idColumn(),
    sessionId: integer('session_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAtColumn(),
    revokedAt: timestampColumn('revoked_at'),
    // Set when the session closes: the token lasts LIVECHAT_VISITOR_TOKEN_DAYS from then.
    sessionClosedAt: timestampColumn('session_closed_at'),
  },
  (t) => [
    uniqueIndex('visitor_tokens_hash_unique').on(t.tokenHash),
    // Closing a session stamps its tokens; removing one deletes them (the foreign key's cascade).
    index('visitor_tokens_session').on(t.sessionId),
    // The sweep deletes the expired ones.
    index('visitor_tokens_session_closed').on(t.sessionClosedAt).where(sql`${t.sessionClosedAt} is not null`),
  ],
);
