import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authScopesOf, NO_SCOPE_LOOKUPS, type Principal } from '../../src/auth/principal.js';
import { Authenticator, createAgent, createApiToken } from '../../src/auth/service.js';
import { openDatabase } from '../../src/db/client.js';
import { queryLimits } from '../../src/graphql/builder.js';
import { createTestDatabase, root, type TestDatabase } from '../support/databases.js';
import { createAgent as createAgentOverApi, createTeam, createTicket, createVisitorSession } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const bearer = (token: string) => `Bearer ${token}`;

describe('principals', () => {
  it('binds AGENT tokens to an agent, who signs the notes written with them', async () => {
    const missing = await server.client().request<any>(gql`mutation { createApiToken(input: { name: "loose", role: AGENT }) { token userErrors { field code } } }`);
    expect(missing.createApiToken).toEqual({ token: null, userErrors: [{ field: ['input', 'agentId'], code: 'REQUIRED' }] });
    const unknown = await server.client().request<any>(
      gql`mutation ($a: ID!) { createApiToken(input: { name: "ghost", role: AGENT, agentId: $a }) { token userErrors { field code } } }`,
      { a: 'QWdlbnQ6OTk5OTk5' },
    );
    expect(unknown.createApiToken).toEqual({ token: null, userErrors: [{ field: ['input', 'agentId'], code: 'NOT_FOUND' }] });

    const agent = await createAgentOverApi(server, 'Mia Okafor', 'mia@intake.test');
    const created = await server.client().request<any>(
      gql`mutation ($a: ID!) { createApiToken(input: { name: "Mia's laptop", role: AGENT, agentId: $a }) { token apiToken { name role agent { name } } } }`,
      { a: agent.id },
    );
    expect(created.createApiToken.apiToken).toEqual({ name: "Mia's laptop", role: 'AGENT', agent: { name: 'Mia Okafor' } });
    const mia = server.client(created.createApiToken.token);
    expect(await mia.request(gql`{ viewer { kind name role agent { id } } }`)).toEqual({
      viewer: { kind: 'AGENT', name: 'Mia Okafor', role: 'AGENT', agent: { id: agent.id } },
    });

    const team = await createTeam(server, 'Principals');
    const ticket = await createTicket(server, { teamId: team.id, title: 'who wrote this?' });
    await mia.request(gql`mutation ($t: ID!) { addTicketNote(input: { ticketId: $t, body: "Mine." }) { userErrors { code } } }`, { t: ticket.id });
    const [note] = await server.app.database.rows<{ author_name: string; agent_id: number }>(
      sql`select author_name, agent_id from ticket_messages where kind = 'NOTE' and body_text = 'Mine.'`,
    );
    expect(note).toEqual({ author_name: 'Mia Okafor', agent_id: Number(Buffer.from(agent.id, 'base64').toString().split(':')[1]) });
  });

  it('lists agents and tokens to admins, as connections', async () => {
    await createAgentOverApi(server, 'Listed Agent');
    const data = await server.client().request<any>(
      gql`{ agents(first: 100) { totalCount nodes { name } } apiTokens(first: 100) { totalCount nodes { id name role revokedAt } } }`,
    );
    expect(data.agents.nodes.map((a: { name: string }) => a.name)).toContain('Listed Agent');
    expect(data.agents.totalCount).toBe(data.agents.nodes.length);
    expect(data.apiTokens.totalCount).toBe(data.apiTokens.nodes.length);
    expect(data.apiTokens.nodes.every((t: { revokedAt: unknown }) => t.revokedAt === null)).toBe(true);
  });

  it('revokes a token: refused at once here, and on another instance within its cache time', async () => {
    const agent = await createAgentOverApi(server, 'Leaving Agent');
    const { createApiToken } = await server.client().request<any>(
      gql`mutation ($a: ID!) { createApiToken(input: { name: "leaving", role: AGENT, agentId: $a }) { token apiToken { id } } }`,
      { a: agent.id },
    );
    const token = createApiToken.token as string;
    const client = server.client(token);
    expect(await client.request(gql`{ viewer { kind } }`)).toEqual({ viewer: { kind: 'AGENT' } });
    // Another instance: its own cache over the same database.
    const cacheMs = 400;
    const other = new Authenticator(server.app.database.db, undefined, { cacheMs });
    expect((await other.fromAuthorization(bearer(token))).kind).toBe('agent');

    const revoked = await server.client().request<any>(
      gql`mutation ($t: ID!) { revokeApiToken(input: { tokenId: $t }) { apiToken { name revokedAt } userErrors { code } } }`,
      { t: createApiToken.apiToken.id },
    );
    const revokedAt = Date.now();
    expect(revoked.revokeApiToken.apiToken.revokedAt).toEqual(expect.any(String));
    // Refused, and told so (401), never served as anonymous.
    await expect(client.request(gql`{ viewer { kind } }`)).rejects.toThrow(/Authentication failed: the bearer token is unknown or revoked/);
    await expect(client.request(gql`{ teams { id } }`)).rejects.toThrow(/Authentication failed/);

    await vi.waitFor(async () => expect((await other.fromAuthorization(bearer(token))).kind).toBe('anonymous'), { timeout: 5000, interval: 20 });
    expect(Date.now() - revokedAt).toBeLessThan(cacheMs + 1000);
    await other.close();

    const listed = await server.client().request<any>(gql`{ active: apiTokens { nodes { name } } all: apiTokens(includeRevoked: true) { nodes { name } } }`);
    expect(listed.active.nodes).not.toContainEqual({ name: 'leaving' });
    expect(listed.all.nodes).toContainEqual({ name: 'leaving' });
    const again = await server.client().request<any>(gql`mutation { revokeApiToken(input: { tokenId: "x" }) { userErrors { field code } } }`);
    expect(again.revokeApiToken.userErrors).toEqual([{ field: ['input', 'tokenId'], code: 'INVALID_ID' }]);
  });

  it('records lastUsedAt in one write per flush, not one per request', async () => {
    const db = server.app.database.db;
    const agent = await createAgent(db, { name: 'Busy Agent' });
    const first = await createApiToken(db, { name: 'busy one', role: 'AGENT', agentId: agent.id });
    const second = await createApiToken(db, { name: 'busy two', role: 'ADMIN' });
    const auth = new Authenticator(db, undefined, { usageFlushMs: 3_600_000 });
    for (let i = 0; i < 20; i++) {
      await auth.fromAuthorization(bearer(first.token));
      await auth.fromAuthorization(bearer(second.token));
    }
    const lastUsed = () =>
      server.app.database.rows<{ name: string; last_used_at: Date | string | null }>(
        sql`select name, last_used_at from api_tokens where name in ('busy one', 'busy two') order by name`,
      );
    expect((await lastUsed()).map((r) => r.last_used_at)).toEqual([null, null]);
    await auth.flushUsage();
    const rows = await lastUsed();
    expect(rows.every((r) => r.last_used_at !== null)).toBe(true);
    await auth.close();
  });

  it('lets a visitor token open its own session only, with tighter limits', async () => {
    const { token, sessionId } = await createVisitorSession(server);
    const visitor = server.client(token);
    expect(await visitor.request(gql`{ viewer { kind name role agent { id } } }`)).toEqual({ viewer: { kind: 'VISITOR', name: null, role: null, agent: null } });
    await expect(visitor.request(gql`{ teams { id } }`)).rejects.toThrow(/Forbidden: Query.teams needs an agent or admin token/);

    const principal = (await new Authenticator(server.app.database.db, undefined).fromAuthorization(bearer(token))) as Extract<Principal, { kind: 'visitor' }>;
    expect(principal).toMatchObject({ kind: 'visitor', sessionId });
    const scopes = authScopesOf(principal, NO_SCOPE_LOOKUPS);
    expect([scopes.visitorOf(sessionId), scopes.visitorOf(sessionId + 1), scopes.agent, scopes.admin, scopes.operatorOf(1)]).toEqual([true, false, false, false, false]);

    // Authorisation comes before the cost check, so a visitor is refused before a deep query costs
    // anything; on fields it may call, it has less room than staff.
    const { anonymous, visitor: visitorLimits, agent } = queryLimits.byPrincipal;
    for (const key of ['depth', 'breadth', 'complexity'] as const) {
      expect(visitorLimits[key]).toBeLessThan(agent[key]);
      expect(anonymous[key]).toBeLessThanOrEqual(visitorLimits[key]);
    }
  });

  it('asks the chat capability whether an agent operates a channel; admins operate every channel', async () => {
    const agent: Principal = { kind: 'agent', tokenId: 1, name: 'Op', agentId: 5 };
    const admin: Principal = { kind: 'admin', tokenId: null, name: 'admin', agentId: null };
    const lookups = { isOperator: async (agentId: number, channelId: number) => agentId === 5 && channelId === 3 };
    expect(await authScopesOf(agent, NO_SCOPE_LOOKUPS).operatorOf(3)).toBe(false);
    expect(await authScopesOf(agent, lookups).operatorOf(3)).toBe(true);
    expect(await authScopesOf(agent, lookups).operatorOf(4)).toBe(false);
    expect(authScopesOf(admin, NO_SCOPE_LOOKUPS).operatorOf(4)).toBe(true);
  });
});

describe('npm run token', () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.drop();
  });

  function runToken(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), 'token', ...args], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: '', ...database.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('creates a token for the agent with the given email', async () => {
    database = await createTestDatabase();
    const config = { databaseUrl: database.env.DATABASE_URL, dataDir: database.env.INTAKE_DATA_DIR! };
    let db = await openDatabase(config);
    try {
      const { migrateDatabase } = await import('../../src/db/migrate.js');
      await migrateDatabase(db, config.databaseUrl);
      await createAgent(db.db, { name: 'Cli Agent', email: 'cli@intake.test' });
    } finally {
      await db.close();
    }
    const missing = await runToken(['--agent', 'nobody@intake.test']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No agent has the email nobody@intake.test/);
    expect((await runToken(['--name', 'no agent'])).code).toBe(2);

    const made = await runToken(['--agent', 'cli@intake.test']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout.trim()).toMatch(/^intake_[A-Za-z0-9_-]{40,}$/);
    db = await openDatabase(config);
    try {
      const principal = await new Authenticator(db.db, undefined).fromAuthorization(bearer(made.stdout.trim()));
      expect(principal).toMatchObject({ kind: 'agent', name: 'Cli Agent' });
    } finally {
      await db.close();
    }
  }, 60_000);
});
