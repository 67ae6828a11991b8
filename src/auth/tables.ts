import { integer, pgEnum, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
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

/** Bearer tokens; only a SHA-256 digest of each token is stored. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: idColumn(),
    name: text('name').notNull(),
    role: apiTokenRole('role').notNull(),
    tokenHash: text('token_hash').notNull(),
    agentId: integer('agent_id').references(() => agents.id, { onDelete: 'set null' }),
    createdAt: createdAtColumn(),
    lastUsedAt: timestampColumn('last_used_at'),
  },
  (t) => [uniqueIndex('api_tokens_hash_unique').on(t.tokenHash)],
);
