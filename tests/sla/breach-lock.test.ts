import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { composeModules } from '../../src/app-module.js';
import { openPostgres, queryRows } from '../../src/db/client.js';
import { ADVISORY_LOCKS } from '../../src/db/locks.js';
import { slaModule } from '../../src/sla/module.js';
import { createSlaPolicy, failOverdueSlas, setWorkingHours } from '../../src/sla/service.js';
import { createTeam, stagesOf } from '../../src/teams/service.js';
import { createTicket } from '../../src/tickets/service.js';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';

// Two instances mean two sessions on one PostgreSQL; PGlite has a single session.
const available = await postgresForTests('breach-lock tests');

describe.runIf(available)('breach watch across instances', () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.drop();
  });

  it('does the round on one instance at a time', async () => {
    database = await createPostgresDatabase();
    const a = openPostgres(database.env.DATABASE_URL!);
    const b = openPostgres(database.env.DATABASE_URL!);
    try {
      const team = await createTeam(a.db, { mailDomain: 'intake.test' }, { name: 'Locked' });
      await setWorkingHours(a.db, { teamId: team.id, timezone: 'UTC', intervals: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })), holidays: [] });
      const solved = (await stagesOf(a.db, team.id)).find((s) => s.name === 'Solved')!;
      await createSlaPolicy(a.db, { teamId: team.id, name: 'Instant', hours: 1 / 3600, targetStageId: solved.id });
      // The ticket's SLA deadline comes from the SLA module's hook, bound to this handle.
      const ticket = await createTicket(composeModules([slaModule]).bind(a.db), { teamId: team.id, title: 'Overdue', channel: 'API' });
      const later = new Date(Date.now() + 60_000);

      // Instance B is in the middle of its round: instance A skips its own.
      await b.db.transaction(async (tx) => {
        const [held] = await queryRows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${ADVISORY_LOCKS.slaBreachWatch}) as locked`);
        expect(held!.locked).toBe(true);
        expect(await failOverdueSlas(a.db, later)).toEqual([]);
      });
      expect(await failOverdueSlas(a.db, later)).toEqual([{ ticketId: ticket.id, teamId: team.id }]);
      expect(await failOverdueSlas(b.db, later)).toEqual([]);
      const [row] = await a.rows<{ status: string }>(sql`select status from ticket_sla_statuses where ticket_id = ${ticket.id}`);
      expect(row!.status).toBe('FAILED');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
