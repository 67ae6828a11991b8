import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { channelsOfTeams } from '../src/livechat/channels.js';
import { widgetAssets } from '../src/livechat/widget-assets.js';
import { embedCodeOf } from '../src/livechat/widget.js';
import { createTeam } from '../src/teams/service.js';
import { report } from './support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What one visit of a host page measured, before any interaction. */
interface Visit {
  cls: number;
  longestTaskMs: number;
  /** Main-thread task time of the whole visit (CDP Performance.getMetrics TaskDuration). */
  taskMs: number;
  loadMs: number;
  /** From the loader's request to the bubble drawn; null on the page without the embed code. */
  bubbleMs: number | null;
}

/**
 * Gathers layout shifts, long tasks (> 50 ms, the only ones the browser reports) and when the
 * bubble first has a box, from the page's first instant.
 */
const OBSERVE = `(() => {
  const seen = (window.__bench = { cls: 0, longest: 0, bubbleAt: null });
  new PerformanceObserver((l) => l.getEntries().forEach((e) => { if (!e.hadRecentInput) seen.cls += e.value; })).observe({ type: 'layout-shift', buffered: true });
  new PerformanceObserver((l) => l.getEntries().forEach((e) => { seen.longest = Math.max(seen.longest, e.duration); })).observe({ type: 'longtask', buffered: true });
  const look = () => {
    const host = document.querySelector('[id^="intake-chat-"]');
    const bubble = host && host.shadowRoot && host.shadowRoot.querySelector('.launcher');
    if (bubble && !bubble.hidden && bubble.getBoundingClientRect().width > 0) seen.bubbleAt = performance.now();
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * `npm run bench -- widget`: the loader's and the widget's gzipped sizes against their budgets,
 * and, on a host page of another origin holding only the embed code (each visit cold, a fresh
 * browser context), layout shift, the longest main-thread task and main-thread time before any
 * interaction, and the time from the embed script to a visible bubble, each beside the same page
 * without the embed code, measured in the same run.
 */
export async function benchWidget(rounds: number) {
  const { loader, widget } = await widgetAssets();
  report({ bench: 'widget', figure: 'loader_gzip_bytes', value: loader.gzip.length, raw_bytes: loader.body.length, target: 3072 });
  report({ bench: 'widget', figure: 'widget_gzip_bytes', value: widget.gzip.length, raw_bytes: widget.body.length, target: 40960 });

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'intake-bench-widget-'));
  const app = await startApp(loadConfig({ ...process.env, DATABASE_URL: '', INTAKE_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', SMTP_PORT: '0', LOG_LEVEL: 'error' }));
  let browser: Browser | null = null;
  const site = http.createServer();
  try {
    const team = await createTeam(app.database.db, app.config, { name: 'Bench Widget', useLiveChat: true });
    const [channel] = await channelsOfTeams(app.database.db, [team.id]);
    const embed = embedCodeOf(app.publicUrl, channel!);
    // Some text and a picture-sized box: a page that would show a shift if anything moved it.
    const body = '<main><h1>Shop</h1>' + '<p>Our products, with a long description of each.</p>'.repeat(30) + '</main>';
    site.on('request', (req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html lang="en"><head><title>Shop</title>${req.url?.startsWith('/with') ? embed : ''}</head><body>${body}</body></html>`);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });

    const visit = async (withWidget: boolean): Promise<Visit> => {
      const context = await browser!.newContext({ viewport: { width: 1200, height: 800 } });
      const page = await context.newPage();
      await page.addInitScript(OBSERVE);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      await page.goto(`${siteUrl}/${withWidget ? 'with' : 'without'}`, { waitUntil: 'load' });
      if (withWidget) await page.waitForFunction(() => (window as any).__bench.bubbleAt !== null, undefined, { timeout: 30_000 });
      // The widget's last work (the availability socket) is done once the network is quiet.
      await page.waitForLoadState('networkidle');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const measured = await page.evaluate(() => {
        const seen = (window as any).__bench;
        const loaderEntry = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/livechat/loader.js'));
        const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { cls: seen.cls, longest: seen.longest, bubbleMs: loaderEntry && seen.bubbleAt !== null ? seen.bubbleAt - loaderEntry.startTime : null, loadMs: navigation.loadEventEnd };
      });
      await context.close();
      return {
        cls: measured.cls,
        longestTaskMs: measured.longest,
        taskMs: (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000,
        loadMs: measured.loadMs,
        bubbleMs: measured.bubbleMs,
      };
    };

    const withWidget: Visit[] = [];
    const without: Visit[] = [];
    for (let i = 0; i < rounds; i++) {
      // Turns alternate, so a busy moment of the machine falls on both.
      without.push(await visit(false));
      withWidget.push(await visit(true));
    }
    const pick = (visits: Visit[], key: keyof Visit) => Math.round(median(visits.map((v) => v[key] ?? 0)) * 1000) / 1000;
    report({ bench: 'widget', figure: 'layout_shift', value: pick(withWidget, 'cls'), baseline_no_widget: pick(without, 'cls'), target: 0, rounds });
    report({ bench: 'widget', figure: 'longest_task_ms', value: pick(withWidget, 'longestTaskMs'), baseline_no_widget: pick(without, 'longestTaskMs'), note: '0: no task over 50 ms', rounds });
    report({ bench: 'widget', figure: 'main_thread_ms', value: pick(withWidget, 'taskMs'), baseline_no_widget: pick(without, 'taskMs'), rounds });
    report({ bench: 'widget', figure: 'embed_to_bubble_ms', value: pick(withWidget, 'bubbleMs'), baseline_page_load_ms: pick(without, 'loadMs'), rounds });
  } finally {
    await browser?.close();
    await new Promise<void>((resolve) => site.close(() => resolve()));
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
