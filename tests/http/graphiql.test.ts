import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam, createTicket } from '../support/fixtures.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); a newcomer without it is told.
const available = process.env.CI ? true : existsSync(CHROMIUM);
if (!available) console.warn(`GraphiQL browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('GraphiQL at /graphql', () => {
  it('is one self-contained page: no script, style, font or icon comes from another address', async () => {
    const res = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<title>Intake GraphQL</title>');
    expect(html).toContain('query TopTickets');
    // Yoga's default page loads GraphiQL from a CDN with <script src> and <link href>.
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html.match(/<link[^>]*>/gi)?.every((tag) => /href="data:/.test(tag))).toBe(true);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//i);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr|esm\.sh|cdnjs/i);
  });
});

describe.runIf(available)('GraphiQL in a browser with no network beyond 127.0.0.1', () => {
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const blocked: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    context.on('request', (request) => void requested.push(request.url()));
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      blocked.push(url.href);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('renders the editor with the example, lists Query in the Docs pane, and runs the example with a token', async () => {
    const team = await createTeam(server, 'Browser Team');
    await createTicket(server, { teamId: team.id, title: 'Printer-4711 is on fire', priority: 'URGENT', customerEmail: 'ann@example.com' });

    await page.goto(server.graphqlUrl);
    const queryEditor = page.locator('.graphiql-query-editor');
    await expect.poll(() => text(queryEditor), { timeout: 30_000 }).toContain('query TopTickets {');
    expect(await text(queryEditor)).toContain('"Authorization": "Bearer <token>"');

    await page.getByLabel('Show Documentation Explorer').click();
    const docs = page.locator('.graphiql-doc-explorer');
    // The schema came over the local introspection request: the root types are listed.
    await expect.poll(() => docs.getByText('Query', { exact: true }).first().isVisible(), { timeout: 20_000 }).toBe(true);

    // The headers editor opens with an empty Authorization header; put the real token in it.
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor').first();
    expect(await text(headersEditor)).toContain('"Authorization": ""');
    await headersEditor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${ADMIN_TOKEN}` }));
    await expect.poll(() => text(headersEditor)).toContain(ADMIN_TOKEN);

    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response');
    await expect.poll(() => text(result), { timeout: 20_000 }).toContain('"title": "Printer-4711 is on fire"');
    const shown = await text(result);
    expect(shown).toContain('"totalCount": 1');
    expect(shown).toContain('"priority": "URGENT"');
    expect(shown).not.toContain('"errors"');

    expect(blocked).toEqual([]);
    expect(requested.length).toBeGreaterThan(1);
    for (const url of requested) expect(url).toMatch(/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:)/);
  }, 90_000);
});

/** What an editor shows, with Monaco's non-breaking spaces as plain ones. */
async function text(locator: ReturnType<Page['locator']>): Promise<string> {
  return ((await locator.innerText().catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
}
