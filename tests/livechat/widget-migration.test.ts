import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';

const WIDGET = readdirSync(migrationsFolder).find((name) => name.endsWith('_livechat_widget'))!;
const before = mkdtempSync(path.join(os.tmpdir(), 'intake-migrations-'));
afterAll(() => rmSync(before, { recursive: true, force: true }));

describe('the livechat_widget migration', () => {
  it('gives every existing channel a random key of its own, no origin restriction and LEAVE_MESSAGE', async () => {
    for (const name of readdirSync(migrationsFolder).filter((n) => n < WIDGET)) {
      cpSync(path.join(migrationsFolder, name), path.join(before, name), { recursive: true });
    }
    const client = new PGlite();
    const db = drizzle({ client });
    try {
      await migrate(db, { migrationsFolder: before });
      await db.execute(sql`insert into teams (name) values ('One'), ('Two')`);
      await db.execute(sql`insert into live_chat_channels (team_id, name, button_text, welcome_message, input_placeholder, header_background_color, title_color, button_background_color, button_text_color)
        select id, name, 'b', 'w', 'p', '#000000', '#000000', '#000000', '#000000' from teams`);
      await migrate(db, { migrationsFolder });
      const rows = (await db.execute<{ key: string; allowed_origins: string[]; offline_behavior: string }>(sql`select key, allowed_origins, offline_behavior from live_chat_channels order by id`)).rows;
      expect(rows).toEqual([
        { key: expect.stringMatching(/^[0-9a-f]{32}$/), allowed_origins: [], offline_behavior: 'LEAVE_MESSAGE' },
        { key: expect.stringMatching(/^[0-9a-f]{32}$/), allowed_origins: [], offline_behavior: 'LEAVE_MESSAGE' },
      ]);
      expect(rows[0]!.key).not.toBe(rows[1]!.key);
    } finally {
      await client.close();
    }
  }, 180_000);
});
