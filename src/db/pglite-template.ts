import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { migrationsFolder } from './migrate.js';

/**
 * A fresh embedded database starts as a copy of a template: a PGlite data folder that is already
 * initialised and migrated. PGlite's own initialisation of an empty folder (initdb, in WebAssembly)
 * takes seconds and the migrations more; copying a closed folder takes a fraction of that.
 * The template is made once per PGlite version and set of migrations, on demand, and kept
 * beside the bundle of `npm start` (node_modules/.cache/intake/, so a fresh clone or a new
 * install makes its own). The test suite clones its databases from the same template.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const templateCache = path.join(root, 'node_modules/.cache/intake');
const TEMPLATE_PREFIX = 'pglite-template-';

/** PostgreSQL writes this file last when it initialises a folder; PGlite looks for it too. */
const MARKER = 'PG_VERSION';

export function isInitialisedDataDir(dataDir: string): boolean {
  return existsSync(path.join(dataDir, MARKER));
}

/**
 * 1 MB WAL segments instead of 16: the copy of a fresh database writes 40 % fewer bytes. PostgreSQL
 * supports any power of two from 1 MB; a data folder keeps the size it was made with.
 */
const INITDB_PARAMS = ['--wal-segsize=1'];

/** What the template depends on: PGlite's version (its PostgreSQL and initdb), how initdb runs, and every migration. */
function templateKey(): string {
  const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pglitePackage = path.join(pgliteEntry, '../../package.json');
  const digest = createHash('sha256').update(JSON.parse(readFileSync(pglitePackage, 'utf8')).version as string).update(INITDB_PARAMS.join(' '));
  const migrations = readdirSync(migrationsFolder, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const name of migrations) digest.update('\0').update(name).update('\0').update(readFileSync(path.join(migrationsFolder, name, 'migration.sql')));
  return digest.digest('hex').slice(0, 16);
}

export function pgliteTemplateDir(): string {
  return path.join(templateCache, `${TEMPLATE_PREFIX}${templateKey()}`);
}

/**
 * The migrated template folder for this PGlite and these migrations, made now when missing. It is
 * built aside and renamed into place, so a process that finds it finds it whole, and two making
 * it at once keep one.
 */
export async function ensurePgliteTemplate(): Promise<string> {
  const template = pgliteTemplateDir();
  if (isInitialisedDataDir(template)) return template;
  mkdirSync(templateCache, { recursive: true });
  const building = `${template}.${process.pid}.tmp`;
  rmSync(building, { recursive: true, force: true });
  const client = await PGlite.create({ dataDir: building, initDbStartParams: INITDB_PARAMS });
  try {
    await migrate(drizzle({ client }), { migrationsFolder });
  } finally {
    await client.close();
  }
  try {
    renameSync(building, template);
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    // Another process put its template there first: the same content.
    if (!isInitialisedDataDir(template)) throw err;
  }
  // Templates of earlier migrations or PGlite versions are of no further use.
  for (const entry of readdirSync(templateCache)) {
    const full = path.join(templateCache, entry);
    if (entry.startsWith(TEMPLATE_PREFIX) && full !== template && !entry.endsWith('.tmp')) rmSync(full, { recursive: true, force: true });
  }
  return template;
}

/**
 * Fills a data folder that PGlite has not initialised yet (missing or empty) from the template.
 * The marker file is copied last: a copy cut short is not taken for a database, and the next
 * start copies again. Returns the template used, or null when the folder already held a database.
 */
export async function dataDirFromTemplate(dataDir: string): Promise<string | null> {
  if (isInitialisedDataDir(dataDir)) return null;
  const template = await ensurePgliteTemplate();
  mkdirSync(dataDir, { recursive: true });
  for (const entry of readdirSync(template)) {
    if (entry !== MARKER) cpSync(path.join(template, entry), path.join(dataDir, entry), { recursive: true, force: true });
  }
  cpSync(path.join(template, MARKER), path.join(dataDir, MARKER));
  return template;
}
