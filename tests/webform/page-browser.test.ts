import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { gql } from 'graphql-request';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { publishedRichForm } from './support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); a newcomer without it is told.
const available = process.env.CI ? true : existsSync(CHROMIUM);
if (!available) console.warn(`browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

describe.runIf(available)('the public form page in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows a conditional field, puts an error beside a missing required field, and submits a ticket', async () => {
    const { teamId, url } = await publishedRichForm(server, 'Browser Desk');
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    await page.goto(url);
    const version = page.locator('[data-key="version"]');
    await expect.poll(() => version.isHidden()).toBe(true);
    await page.selectOption('#f-kind', 'bug');
    await expect.poll(() => version.isVisible()).toBe(true);

    await page.fill('#f-name', 'Mia Chen');
    await page.fill('#f-email', 'mia@example.com');
    await page.fill('#f-subject', 'Export is empty');
    await page.fill('#f-description', 'The CSV export has no rows.');
    await page.check('#f-consent');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    // The server refused the missing version: the error sits beside that field.
    expect(await page.textContent('#f-version-error')).toBe('This field is required.');
    expect(await page.getAttribute('#f-version', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('#f-subject')).toBe('Export is empty');
    mkdirSync(path.join(root, 'tests/artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'tests/artifacts/website-form-errors.png'), fullPage: true });

    await page.fill('#f-version', '3.2.1');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    const number = Number((await page.textContent('[data-ticket-number]'))!.replace('#', ''));
    await page.screenshot({ path: path.join(root, 'tests/artifacts/website-form-success.png'), fullPage: true });

    const { tickets } = await server.client().request<any>(gql`query ($t: ID!) { tickets(filter: { teamId: $t }) { nodes { number title channel description customer { name email } } } }`, { t: teamId });
    expect(tickets.nodes).toEqual([
      {
        number,
        title: 'Export is empty',
        channel: 'WEBSITE_FORM',
        customer: { name: 'Mia Chen', email: 'mia@example.com' },
        description: 'The CSV export has no rows.\n\nOther information\nKind: Bug\nVersion: 3.2.1\nKeep me informed: yes\nSource: website',
      },
    ]);
  }, 60_000);
});
