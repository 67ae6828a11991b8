import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { createSlaPolicy } from '../../src/sla/service.js';
import { createTeam, stagesOf } from '../../src/teams/service.js';
import { createTicket } from '../../src/tickets/service.js';
import { createTestDatabase, root, type TestDatabase } from '../support/databases.js';

let database: TestDatabase;
afterAll(async () => {
  await database?.drop();
});

describe('npm run sla:recompute', () => {
  it('recomputes every ticket with a progress bar', async () => {
    database = await createTestDatabase();
    const config = { databaseUrl: database.env.DATABASE_URL, dataDir: database.env.INTAKE_DATA_DIR };
    const db = await openDatabase(config);
    try {
      const team = await createTeam(db.db, { mailDomain: 'intake.test' }, { name: 'CLI' });
      for (let i = 0; i < 3; i++) await createTicket(db.db, { teamId: team.id, title: `t${i}`, channel: 'API' });
      const solved = (await stagesOf(db.db, team.id)).find((s) => s.name === 'Solved')!;
      await createSlaPolicy(db.db, { teamId: team.id, name: 'All', hours: 8, targetStageId: solved.id });
    } finally {
      await db.close();
    }

    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      let stderr = '';
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), 'recompute-sla'], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: '', ...database.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('[##############################] 100% 3/3');
    expect(stderr).toMatch(/recomputed 3 tickets in \d+\.\d s/);

    const check = await openDatabase(config);
    try {
      const rows = await check.rows<{ n: number }>(sql`select count(*)::int as n from ticket_sla_statuses where status = 'ONGOING' or status = 'FAILED'`);
      expect(rows[0]!.n).toBe(3);
    } finally {
      await check.close();
    }
  }, 60_000);
});
