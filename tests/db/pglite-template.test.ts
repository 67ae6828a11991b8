import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/client.js';
import { migrateDatabase, migrationsFolder } from '../../src/db/migrate.js';
import { pgliteTemplateDir } from '../../src/db/pglite-template.js';
import { tmpRoot } from '../support/databases.js';

const folders: string[] = [];
afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

function emptyFolder(): string {
  const folder = mkdtempSync(path.join(tmpRoot, 'template-'));
  folders.push(folder);
  return folder;
}

describe('an embedded database folder', () => {
  it('starts, when empty, as a copy of the migrated template: every migration applied, none left to run', async () => {
    const dataDir = emptyFolder();
    const database = await openPglite(dataDir);
    try {
      expect(database.opened).toEqual({ how: 'template', template: pgliteTemplateDir() });
      const applied = await database.rows<{ name: string }>(sql`select name from drizzle.__drizzle_migrations order by id`);
      const local = readdirSync(migrationsFolder, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      expect(applied.map((row) => row.name)).toEqual(local);
      expect(await migrateDatabase(database, undefined)).toBe(false);
      // The copy is a database of its own: what it writes stays out of the template.
      await database.db.execute(sql`create table only_in_this_copy (id int)`);
    } finally {
      await database.close();
    }
    const other = await openPglite(emptyFolder());
    try {
      expect(await other.rows(sql`select 1 from pg_tables where tablename = 'only_in_this_copy'`)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('that already holds a database is opened as it is, and one whose copy was cut short is copied again', async () => {
    const dataDir = emptyFolder();
    await (await openPglite(dataDir)).close();
    const reopened = await openPglite(dataDir);
    expect(reopened.opened).toEqual({ how: 'existing' });
    await reopened.close();

    // A copy cut short lacks PG_VERSION, which is copied last.
    const cutShort = emptyFolder();
    writeFileSync(path.join(cutShort, 'postgresql.conf'), 'half a file');
    expect(existsSync(path.join(cutShort, 'PG_VERSION'))).toBe(false);
    const database = await openPglite(cutShort);
    try {
      expect(database.opened?.how).toBe('template');
      expect(await migrateDatabase(database, undefined)).toBe(false);
    } finally {
      await database.close();
    }
  });
});
