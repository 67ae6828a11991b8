import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/databases.js';
import { freePort, graphqlClient, spawnServer, subscribe, wsClient } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { probeUntil, waitFor } from '../support/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('npm start on an empty embedded database', () => {
  it('starts from the migrated template and is demo-ready: Customer Care team with its mail alias and published form, their addresses and an admin token printed once; a later start keeps the admin\'s changes', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'intake-first-start-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const server = await spawnServer({ INTAKE_DATA_DIR: dataDir, DATABASE_URL: '', INTAKE_ADMIN_TOKEN: '', PUBLIC_URL: `http://localhost:${port}`, LOG_LEVEL: 'info' }, port);
    cleanups.push(async () => void (await server.stop()));
    const output = server.output();
    // The empty folder became a copy of the migrated template: no initdb, no migration ran.
    const logged = (msg: string, text: string) => text.split('\n').some((line) => line.startsWith('{') && JSON.parse(line).msg === msg);
    expect(logged('embedded database created from the migrated template', output)).toBe(true);
    expect(logged('database migrated', output)).toBe(false);
    expect(output).toContain(`GraphiQL:     http://localhost:${port}/graphql`);
    expect(output).toContain('Customer Care <customer-care@localhost>');
    const formUrl = /Website form: (http:\/\/\S+)/.exec(output)?.[1];
    expect(formUrl).toBe(`http://localhost:${port}/support/customer-care`);
    const token = /Admin token:\s+(intake_\S+)/.exec(output)?.[1];
    expect(token).toBeDefined();

    const admin = graphqlClient(`${server.url}/graphql`, token!);
    const data = await admin.request<any>(`{ viewer { role } teams { id name useEmailAlias useWebsiteForm useLiveChat liveChatChannel { id name directLinkUrl } emailAlias { address } stages { name } websiteForm { published url } } }`);
    expect(data.viewer.role).toBe('ADMIN');
    const { id: teamId, ...team } = data.teams[0];
    expect(data.teams).toHaveLength(1);
    expect(team).toEqual({
      name: 'Customer Care',
      useEmailAlias: true,
      useWebsiteForm: true,
      useLiveChat: true,
      liveChatChannel: {
        id: /joinLiveChatChannel\(channelId: "(\S+)"\)/.exec(output)?.[1],
        name: 'Customer Care',
        // The demo channel's direct link, printed by the first start.
        directLinkUrl: /Live chat:\s+(http:\/\/\S+\/chat\/[0-9a-f]{32}) \(Customer Care/.exec(output)?.[1],
      },
      emailAlias: { address: 'customer-care@localhost' },
      stages: [{ name: 'New' }, { name: 'In Progress' }, { name: 'Solved' }, { name: 'Cancelled' }],
      websiteForm: { published: true, url: formUrl },
    });
    // Every channel answers: /support lists the form, and its page is served.
    const index = await (await fetch(`${server.url}/support`)).text();
    expect(index).toContain('href="/support/customer-care"');
    expect(index).not.toContain('No form is available');
    expect((await fetch(`${server.url}/support/customer-care`)).status).toBe(200);

    // The admin changes the demo: renames the team, unpublishes its form and switches mail off.
    const changed = await admin.request<any>(
      `mutation ($id: ID!) {
        updateTeam(input: { id: $id, name: "Helpdesk", useEmailAlias: false }) { userErrors { code } }
        unpublishWebsiteForm(input: { teamId: $id }) { userErrors { code } }
      }`,
      { id: teamId },
    );
    expect(changed).toEqual({ updateTeam: { userErrors: [] }, unpublishWebsiteForm: { userErrors: [] } });

    // A later start on the same data changes none of it, creates no team and prints no new token.
    await server.stop();
    const again = await spawnServer({ INTAKE_DATA_DIR: dataDir, DATABASE_URL: '', INTAKE_ADMIN_TOKEN: '', LOG_LEVEL: 'info' }, port);
    cleanups.push(async () => void (await again.stop()));
    expect(logged('embedded database created from the migrated template', again.output())).toBe(false);
    expect(logged('database migrated', again.output())).toBe(false);
    expect(again.output()).not.toMatch(/Admin token:\s+intake_/);
    expect(again.output()).not.toContain('Website form:');
    const after = await graphqlClient(`${again.url}/graphql`, token!).request<any>(`{ teams { name useEmailAlias useWebsiteForm websiteForm { published } } }`);
    expect(after.teams).toEqual([{ name: 'Helpdesk', useEmailAlias: false, useWebsiteForm: true, websiteForm: { published: false } }]);
    expect(await (await fetch(`${again.url}/support`)).text()).not.toContain('href="/support/customer-care"');
  }, 180_000);
});

describe('operations', () => {
  it('answers /healthz and shuts down within 5 s on SIGTERM with open SSE and WebSocket subscribers', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const server = await spawnServer({ ...database.env, INTAKE_ADMIN_TOKEN: 'ops-token', LOG_LEVEL: 'info' } as Record<string, string>, await freePort());
    cleanups.push(async () => void (await server.stop('SIGKILL')));
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'ok' });

    const sse = sseSubscribe(`${server.url}/graphql`, 'ops-token', 'subscription { ticketCreated { node { id } } }');
    await sse.response;
    const socket = wsClient(`${server.url.replace('http', 'ws')}/graphql`, 'ops-token');
    const ws = subscribe(socket, 'subscription { ticketCreated { node { id } } }');
    // Both streams are open on the server once a probe ticket has reached each of them.
    const admin = graphqlClient(`${server.url}/graphql`, 'ops-token');
    // /healthz answers once the server listens; the demo team of the first start follows it.
    let teams: Array<{ id: string }> = [];
    await waitFor(async () => (teams = (await admin.request<any>('{ teams { id } }')).teams).length > 0, { what: 'the demo team' });
    await probeUntil(
      () => sse.events.length > 0 && ws.events.length > 0,
      () => admin.request('mutation ($t: ID!) { createTicket(input: { teamId: $t, title: "probe" }) { ticket { id } } }', { t: teams[0]!.id }),
    );

    const { code, ms } = await server.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
    ws.dispose();
    await sse.close();
    // Logs are structured: one JSON object per line.
    const logLines = server.output().split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(JSON.parse(line)).toHaveProperty('level');
  }, 60_000);
});
