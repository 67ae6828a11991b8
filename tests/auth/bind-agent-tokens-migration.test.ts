import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';

const PRINCIPALS = readdirSync(migrationsFolder).find((name) => name.endsWith('_principals'))!;
const before = mkdtempSync(path.join(os.tmpdir(), 'intake-migrations-'));
afterAll(() => rmSync(before, { recursive: true, force: true }));

describe('the principals migration', () => {
  it('binds each AGENT token made before tokens were bound to a new agent named after it', async () => {
    for (const name of readdirSync(migrationsFolder).filter((n) => n < PRINCIPALS)) {
      cpSync(path.join(migrationsFolder, name), path.join(before, name), { recursive: true });
    }
    const client = new PGlite();
    const db = drizzle({ client });
    try {
      await migrate(db, { migrationsFolder: before });
      await db.execute(sql`insert into api_tokens (name, role, token_hash) values ('zapier', 'AGENT', 'h1'), ('zapier', 'AGENT', 'h2'), ('ops', 'ADMIN', 'h3')`);
      await migrate(db, { migrationsFolder });
      const rows = await db.execute<{ token_hash: string; role: string; agent_name: string | null }>(
        sql`select t.token_hash, t.role, a.name as agent_name from api_tokens t left join agents a on a.id = t.agent_id order by t.token_hash`,
      );
      expect(rows.rows).toEqual([
        { token_hash: 'h1', role: 'AGENT', agent_name: 'zapier' },
        { token_hash: 'h2', role: 'AGENT', agent_name: 'zapier' },
        { token_hash: 'h3', role: 'ADMIN', agent_name: null },
      ]);
      const [first, second] = (await db.execute<{ agent_id: number }>(sql`select agent_id from api_tokens where role = 'AGENT' order by id`)).rows;
      expect(first!.agent_id).not.toBe(second!.agent_id);
      await expect(db.execute(sql`insert into api_tokens (name, role, token_hash) values ('loose', 'AGENT', 'h4')`)).rejects.toThrow();
    } finally {
      await client.close();
    }
  }, 180_000);
});
