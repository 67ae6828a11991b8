// The browser tests' common parts: Chromium, the customer's website on another origin, axe-core.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { root } from '../support/databases.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); a newcomer without it is told.
export const available = process.env.CI ? true : existsSync(CHROMIUM);
if (!available) console.warn(`browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const ARTIFACTS = path.join(root, 'tests/artifacts');

/**
 * The customer's website, on another origin than Intake: every path is a page holding only the
 * channel's embed code; /frame/… is a page that frames a URL given in the query.
 */
export async function startHostSite(): Promise<{ port: number; embeds: Map<string, string>; close(): Promise<void> }> {
  const embeds = new Map<string, string>();
  const site = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://site');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (url.pathname.startsWith('/frame')) {
      return res.end(`<!doctype html><html lang="en"><head><title>Framing</title></head><body><iframe title="Chat" src="${url.searchParams.get('src')}" width="400" height="600"></iframe></body></html>`);
    }
    const key = url.searchParams.get('channel')!;
    res.end(`<!doctype html><html lang="en"><head><title>Shop</title>${embeds.get(key) ?? ''}</head><body></body></html>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  return {
    port: (site.address() as AddressInfo).port,
    embeds,
    close: () => new Promise<void>((resolve) => site.close(() => resolve())),
  };
}

/** WCAG 2.x A and AA violations inside the widget (axe-core injected into the page). */
export async function accessibilityViolations(page: Page, hostSelector: string) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  return page.evaluate(async (selector) => {
    const result = await (window as any).axe.run({ include: [selector] }, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return result.violations.map((v: any) => ({ id: v.id, nodes: v.nodes.map((n: any) => n.html.slice(0, 120)) }));
  }, hostSelector);
}

/** The element focused inside the widget's shadow root, described. */
export function focusedInWidget(page: Page) {
  return page.evaluate(() => {
    const host = document.activeElement as HTMLElement | null;
    const inner = host?.shadowRoot?.activeElement as HTMLElement | null | undefined;
    if (!inner) return null;
    return { tag: inner.tagName.toLowerCase(), label: inner.getAttribute('aria-label') ?? inner.textContent ?? '', inWindow: !!inner.closest('.window'), className: inner.className, type: inner.getAttribute('type') };
  });
}

export const visibleBodies = (page: Page) => page.locator('.log .msg:visible .body').allTextContents();

/** Headless Chromium as the browser tests run it. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
