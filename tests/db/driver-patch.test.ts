import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../support/databases.js';

// postgres.js 3.4.9 ends the process on a database failover unless scripts/patch-postgres.mjs
// (our postinstall) guarded it; tests/server/db-failover.test.ts shows the behaviour on PostgreSQL.
describe('the PostgreSQL driver as installed', () => {
  const builds = ['src', 'cjs/src', 'cf/src'].flatMap((build) => ['connection.js', 'index.js'].map((file) => path.join(root, 'node_modules/postgres', build, file)));

  it('carries the failover patch in every build', () => {
    for (const file of builds) expect(readFileSync(file, 'utf8'), file).toContain('/* intake: failover patch */');
  });

  it('is patched once: running the script again changes nothing', () => {
    const before = builds.map((file) => readFileSync(file, 'utf8'));
    const again = spawnSync(process.execPath, [path.join(root, 'scripts/patch-postgres.mjs')], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(builds.map((file) => readFileSync(file, 'utf8'))).toEqual(before);
  });
});
