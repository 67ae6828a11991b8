import { sql } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeModules, type AppModule } from '../../src/app-module.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { INTAKE_MODULES } from '../../src/modules.js';
import { slaModule } from '../../src/sla/module.js';
import { createSlaPolicy } from '../../src/sla/service.js';
import { createTeam as createTeamRow, stagesOf } from '../../src/teams/service.js';
import { countTickets, listTickets } from '../../src/tickets/list.js';
import { createTicket as createTicketRow } from '../../src/tickets/service.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { createTeam, createTicket } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const POLICY = gql`mutation ($input: CreateSlaPolicyInput!) { createSlaPolicy(input: $input) { userErrors { code } } }`;
const TICKET_SLA = gql`query ($id: ID!) { ticket(id: $id) { slaStatuses { status } } }`;

/** A capability of this test only: one route with headers of its own, one job that counts its rounds. */
function probeModule(): AppModule & { rounds: () => number } {
  let rounds = 0;
  return {
    name: 'probe',
    rounds: () => rounds,
    routes: [
      {
        methods: ['GET'],
        path: /^\/probe\/(\w+)$/,
        headers: { 'x-frame-options': 'SAMEORIGIN', 'cache-control': 'max-age=60' },
        handle: (_req, res, { params, publicUrl }) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(`${params[0]} at ${publicUrl}`),
      },
    ],
    jobs: [{ name: 'probe job', intervalMs: () => 10, run: async () => void rounds++ }],
  };
}

/** A team with a one-hour SLA policy on every priority, and a ticket in it: its SLA statuses. */
async function ticketSlaStatuses(server: TestServer): Promise<unknown[]> {
  const team = await createTeam(server, 'Measured');
  const solved = team.stages.find((s) => s.name === 'Solved')!.id;
  const policy = await server.client().request<any>(POLICY, { input: { teamId: team.id, name: 'One hour', hours: 1, targetStageId: solved } });
  expect(policy.createSlaPolicy.userErrors).toEqual([]);
  const ticket = await createTicket(server, { teamId: team.id, title: 'Clock running?' });
  return (await server.client().request<any>(TICKET_SLA, { id: ticket.id })).ticket.slaStatuses;
}

describe('apps composed from modules, side by side in one process', () => {
  let full: TestServer;
  let bare: TestServer;
  const probe = probeModule();
  beforeAll(async () => {
    [full, bare] = await Promise.all([
      startTestServer(),
      startTestServer({}, { modules: [...INTAKE_MODULES.filter((m) => !['sla', 'webform', 'livechat'].includes(m.name)), probe] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([full?.stop(), bare?.stop()]);
  });

  it('runs the SLA hook only in the app composed with the SLA module, with no registration call', async () => {
    expect(await ticketSlaStatuses(full)).toEqual([{ status: 'ONGOING' }]);
    expect(await ticketSlaStatuses(bare)).toEqual([]);
    // Starting the second app changed nothing in the first.
    expect(await ticketSlaStatuses(full)).toEqual([{ status: 'ONGOING' }]);
  });

  it('answers the SLA filters only in the app composed with the SLA module, and refuses them clearly elsewhere', async () => {
    const FILTERED = gql`query ($f: TicketFilter) { tickets(filter: $f) { totalCount } }`;
    const team = await createTeam(full, 'Filtered by SLA');
    await createTicket(full, { teamId: team.id, title: 'On time' });
    expect((await full.client().request<any>(FILTERED, { f: { teamId: team.id, slaFailed: false } })).tickets.totalCount).toBe(1);
    for (const f of [{ slaFailed: false }, { slaDeadlineBefore: '2030-01-01T00:00:00Z' }]) {
      const refused = await bare.client().request<any>(FILTERED, { f }).then(
        () => null,
        (error) => error.response.errors,
      );
      const [name] = Object.keys(f);
      expect(refused).toEqual([
        expect.objectContaining({ message: `filter.${name} needs the SLA capability, which this server runs without.`, extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: ['filter', name] }) }),
      ]);
    }
    expect((await bare.client().request<any>(FILTERED, { f: { priority: 'LOW' } })).tickets.totalCount).toBeGreaterThanOrEqual(0);
  });

  it('runs the live chat team hook only in the app composed with live chat', async () => {
    const CREATE = gql`mutation { createTeam(input: { name: "Chatty", useLiveChat: true }) { team { liveChatChannel { name } } } }`;
    expect((await full.client().request<any>(CREATE)).createTeam.team.liveChatChannel).toEqual({ name: expect.any(String) });
    expect((await bare.client().request<any>(CREATE)).createTeam.team.liveChatChannel).toBeNull();
  });

  it("mounts each app's module routes with their headers, and only those", async () => {
    expect((await fetch(`${full.url}/support`)).status).toBe(200);
    expect((await fetch(`${bare.url}/support`)).status).toBe(404);
    expect((await fetch(`${full.url}/probe/x`)).status).toBe(404);
    const answer = await fetch(`${bare.url}/probe/hello`);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe(`hello at ${bare.app.publicUrl}`);
    expect(answer.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(answer.headers.get('cache-control')).toBe('max-age=60');
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const wrongMethod = await fetch(`${bare.url}/probe/hello`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });

  it("runs each app's module jobs", async () => {
    await waitFor(() => probe.rounds() >= 2, { what: 'two rounds of the probe job' });
  });

  it('derives the public URL once from the port it got, leaving the frozen config as loaded', () => {
    expect(full.app.publicUrl).toBe(`http://localhost:${new URL(full.url).port}`);
    expect(full.app.config.publicUrl).toBe('');
    expect(Object.isFrozen(full.app.config)).toBe(true);
    expect(() => ((full.app.config as { publicUrl: string }).publicUrl = 'http://elsewhere')).toThrow(TypeError);
  });
});

describe('services called outside an app (tests, CLI)', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await openDatabase(loadConfig(testDatabase.env));
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('run the hooks of the modules bound to their handle, in its transactions too, and none without', async () => {
    const team = await createTeamRow(database.db, { mailDomain: 'intake.test' }, { name: 'Direct' });
    const solved = (await stagesOf(database.db, team.id)).find((s) => s.name === 'Solved')!;
    await createSlaPolicy(database.db, { teamId: team.id, name: 'One hour', hours: 1, targetStageId: solved.id });
    const withSla = composeModules([slaModule]).bind(database.db);
    const viaHandle = await createTicketRow(withSla, { teamId: team.id, title: 'through the handle', channel: 'API' });
    const viaTransaction = await withSla.transaction((tx) => createTicketRow(tx, { teamId: team.id, title: 'through its transaction', channel: 'API' }));
    await createTicketRow(database.db, { teamId: team.id, title: 'bare handle', channel: 'API' });
    const statuses = await database.rows<{ ticket_id: number }>(sql`select ticket_id from ticket_sla_statuses order by ticket_id`);
    expect(statuses.map((s) => s.ticket_id)).toEqual([viaHandle.id, viaTransaction.id]);

    // The SLA filters go through the conditions SLA's module bound to the handle; a bare handle refuses them.
    await database.rows(sql`update ticket_sla_statuses set status = 'FAILED' where ticket_id = ${viaHandle.id}`);
    expect(await countTickets(withSla, { teamId: team.id, slaFailed: true })).toBe(1);
    const notFailed = await listTickets(withSla, { teamId: team.id, slaFailed: false }, { first: 10 });
    expect(notFailed.tickets.map((t) => t.title).sort()).toEqual(['bare handle', 'through its transaction']);
    await expect(countTickets(database.db, { teamId: team.id, slaFailed: true })).rejects.toThrow('slaFailed needs the SLA capability');
    await expect(listTickets(database.db, { teamId: team.id, slaFailed: false }, { first: 10 })).rejects.toThrow('slaFailed needs the SLA capability');
    expect((await listTickets(database.db, { teamId: team.id }, { first: 10 })).tickets).toHaveLength(3);
  });
});
