import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Database } from './client.js';
import { ADVISORY_LOCKS } from './locks.js';

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Applies pending migrations; false when there were none (one query). On PostgreSQL several
 * instances may start at once, so the migration runs on one dedicated connection that holds an
 * advisory lock meanwhile.
 */
export async function migrateDatabase(database: Database, databaseUrl: string | undefined): Promise<boolean> {
  if (await isUpToDate(database)) return false;
  if (database.kind === 'pglite') {
    await migratePglite(database.db as any, { migrationsFolder });
    return true;
  }
  if (!databaseUrl) throw new Error('migrating PostgreSQL needs its URL');
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const db = drizzlePostgres({ client });
    await db.execute(sql`select pg_advisory_lock(${ADVISORY_LOCKS.migrate})`);
    try {
      await migratePostgres(db, { migrationsFolder });
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${ADVISORY_LOCKS.migrate})`);
    }
  } finally {
    await client.end({ timeout: 2 });
  }
  return true;
}

/** The migration folders this code ships (read once: they do not change while it runs). */
let local: string[] | undefined;

/**
 * True when drizzle's journal lists every migration folder as applied. Most starts find nothing
 * to do; this one query spares them the migrator's statements (a DDL among them) and, on
 * PostgreSQL, its own connection and lock. Any doubt (no journal yet, an older journal layout)
 * leaves the decision to the migrator.
 */
export async function isUpToDate(database: Database): Promise<boolean> {
  const folders = (local ??= readdirSync(migrationsFolder, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name));
  try {
    const applied = new Set((await database.rows<{ name: string | null }>(sql`select name from drizzle.__drizzle_migrations`)).map((row) => row.name));
    return folders.every((name) => applied.has(name));
  } catch {
    return false;
  }
}
