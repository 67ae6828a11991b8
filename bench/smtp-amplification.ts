import { readFileSync } from 'node:fs';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createTeam } from '../src/teams/service.js';
import { mailWithAttachment } from '../tests/support/smtp.js';
import { dropDatabase, freshDatabase, ratio, report, startProcess, stopProcess } from './support.js';

const DB = 'intake_bench_amplification';
const DOMAIN = 'bench.test';
const PORT = 2607;
const ALIASES = 20;

/** A mail of about `megabytes` MB: a short text and one attachment making up the rest. */
function bigMail(megabytes: number, to: string[]): string {
  return mailWithAttachment({
    from: 'Big Sender <big@example.com>',
    to: to.join(', '),
    subject: 'Large report',
    messageId: `big-${process.pid}-${Date.now()}@example.com`,
    body: 'The report is attached.',
    filename: 'report.bin',
    attachment: Buffer.alloc(Math.floor((megabytes * 1024 * 1024 * 3) / 4), 'x'),
  });
}

function smallMail(i: number): string {
  return [`From: small${i}@example.com`, `To: alias-1@${DOMAIN}`, `Subject: Small ${i}`, `Message-ID: <small-${process.pid}-${Date.now()}-${i}@example.com>`, '', 'Hello', ''].join('\r\n');
}

async function send(envelope: { from: string; to: string[] }, raw: string): Promise<number> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: PORT, secure: false, ignoreTLS: true, socketTimeout: 300_000 });
  const started = performance.now();
  try {
    await transport.sendMail({ envelope, raw });
    return performance.now() - started;
  } finally {
    transport.close();
  }
}

function listening(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(PORT, '127.0.0.1', () => (s.end(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/** Peak resident memory of a process so far, in MB (Linux). */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

/** One fresh server: the large mail to `aliases` aliases, with small mails sent all the while. */
async function run(url: string, megabytes: number, aliases: number) {
  const server = await startProcess(
    'src/main.ts',
    ['start'],
    { DATABASE_URL: url, MAIL_DOMAIN: DOMAIN, INTAKE_ADMIN_TOKEN: 'bench', PORT: '4707', SMTP_PORT: String(PORT), MAIL_MAX_BYTES: String((megabytes + 8) * 1024 * 1024) },
    '',
  );
  try {
    while (!(await listening())) await new Promise((r) => setTimeout(r, 200));
    // A small mail first, so that the baseline memory includes a server that has stored mail.
    await send({ from: 'warm@example.com', to: [`alias-1@${DOMAIN}`] }, smallMail(0));
    const before = peakRssMb(server.pid!);
    const to = Array.from({ length: aliases }, (_, i) => `alias-${i + 1}@${DOMAIN}`);
    let bigDone = false;
    const big = send({ from: 'big@example.com', to }, bigMail(megabytes, to)).finally(() => (bigDone = true));
    const smallLatencies: number[] = [];
    for (let i = 1; !bigDone; i++) smallLatencies.push(await send({ from: `small${i}@example.com`, to: [`alias-1@${DOMAIN}`] }, smallMail(i)));
    const seconds = (await big) / 1000;
    return { seconds, peakRssMb: peakRssMb(server.pid!), rssBeforeMb: before, smallMaxMs: Math.round(Math.max(0, ...smallLatencies)), smallMails: smallLatencies.length };
  } finally {
    await stopProcess(server);
  }
}

/**
 * One large mail to 20 aliases against the same mail to one alias (issue 12): memory and time
 * should stay under 2× the single alias, and small mails sent meanwhile answered within 2 s.
 */
export async function benchSmtpAmplification() {
  const megabytes = Number(process.env.BENCH_MAIL_MB || 20);
  const results: Record<'one' | 'many', Awaited<ReturnType<typeof run>>> = {} as never;
  for (const [key, aliases] of [['one', 1], ['many', ALIASES]] as const) {
    const url = await freshDatabase(DB);
    const database = openPostgres(url, { max: 2 });
    await migrateDatabase(database, url);
    for (let i = 1; i <= ALIASES; i++) await createTeam(database.db, { mailDomain: DOMAIN }, { name: `Alias ${i}` });
    await database.close();
    results[key] = await run(url, megabytes, aliases);
  }
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);
  const { one, many } = results;
  const base = { bench: 'smtp_amplification_postgres', mail_mb: megabytes, aliases: ALIASES };
  const growth = (r: typeof one) => r.peakRssMb - r.rssBeforeMb;
  report({ ...base, figure: 'peak_rss_mb', intake: many.peakRssMb, baseline: one.peakRssMb, ratio: ratio(many.peakRssMb, one.peakRssMb), target_ratio: 2 });
  report({ ...base, figure: 'rss_growth_mb', intake: growth(many), baseline: growth(one), ratio: ratio(growth(many), growth(one)), target_ratio: 2 });
  report({ ...base, figure: 'seconds_to_250', intake: many.seconds, baseline: one.seconds, ratio: ratio(many.seconds, one.seconds), target_ratio: 2 });
  report({ ...base, figure: 'small_mail_max_latency_ms', intake: many.smallMaxMs, baseline: one.smallMaxMs, small_mails: many.smallMails, target_max: 2000 });
}
