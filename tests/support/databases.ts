import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { dataDirFromTemplate } from '../../src/db/pglite-template.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const tmpRoot = path.join(root, 'tests/.tmp');
/**
 * Test databases are named after this checkout, so two checkouts on one machine (a clone made by
 * CI, a second work tree) can run their suites against the same PostgreSQL without dropping each
 * other's databases.
 */
export const TEST_DB_PREFIX = `intake_test_${createHash('sha256').update(root).digest('hex').slice(0, 8)}`;
export const TEMPLATE_DB = `${TEST_DB_PREFIX}_template`;

/** PostgreSQL the suite runs against when DATABASE_URL is set; otherwise PGlite. */
export const suitePostgresUrl = process.env.DATABASE_URL || undefined;

/** PostgreSQL for the tests that need a real server whatever the suite runs on (several instances). */
export const realPostgresUrl = process.env.DATABASE_URL || process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function postgresReachable(url = realPostgresUrl): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Whether the tests that need a real PostgreSQL (several sessions or instances) run. In CI they
 * always do, so a missing server fails them instead of skipping them; on a developer's machine
 * without one they are skipped with a note.
 */
export async function postgresForTests(what: string): Promise<boolean> {
  if (process.env.CI) return true;
  if (await postgresReachable()) return true;
  console.warn(`${what} skipped: no PostgreSQL at ${realPostgresUrl} (set TEST_POSTGRES_URL; in CI they fail instead)`);
  return false;
}

export interface TestDatabase {
  /** Environment that points a server at this database. */
  env: { DATABASE_URL?: string; INTAKE_DATA_DIR: string };
  drop(): Promise<void>;
}

/** A fresh PostgreSQL database cloned from the migrated template (made by global-setup). */
export async function createPostgresDatabase(adminUrl = realPostgresUrl): Promise<TestDatabase> {
  const name = `${TEST_DB_PREFIX}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await ensurePostgresTemplate(admin);
    await admin.unsafe(`create database "${name}" template "${TEMPLATE_DB}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'intake-test-'));
  return {
    env: { DATABASE_URL: withDatabase(adminUrl, name), INTAKE_DATA_DIR: dataDir },
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await sql.end({ timeout: 1 });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Global setup builds the template; a test that runs alone on a cold machine builds it here. */
async function ensurePostgresTemplate(admin: postgres.Sql) {
  const [found] = await admin`select 1 from pg_database where datname = ${TEMPLATE_DB}`;
  if (!found) throw new Error(`template database ${TEMPLATE_DB} is missing: run the tests through vitest (global setup makes it)`);
}

/**
 * A fresh embedded database: a copy of the migrated template folder, the one `npm start` copies
 * on a first start (src/db/pglite-template.ts; global setup makes sure it exists).
 */
export async function createPgliteDatabase(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'intake-test-'));
  await dataDirFromTemplate(dataDir);
  return {
    env: { INTAKE_DATA_DIR: dataDir },
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh database of the kind the suite runs on. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return suitePostgresUrl ? createPostgresDatabase(suitePostgresUrl) : createPgliteDatabase();
}
