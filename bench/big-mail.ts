import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { mailWithAttachment } from '../tests/support/smtp.js';
import { dropDatabase, freshDatabase, report, startProcess, stopProcess } from './support.js';

const PORT = 4791;
const SMTP_PORT = 2791;
const DB = 'intake_bench_big_mail';

function bigMail(megabytes: number): string {
  return mailWithAttachment({
    from: 'Big <big@example.com>',
    to: 'customer-care@bench.test',
    subject: 'Large report',
    messageId: `big-${process.pid}-${Date.now()}-${Math.random()}@example.com`,
    body: 'The report is attached.',
    filename: 'report.bin',
    attachment: Buffer.alloc(Math.floor((megabytes * 1024 * 1024 * 3) / 4), 'x'),
  });
}

/** The slowest /healthz answer while `during` runs, asking again 20 ms after each answer. */
async function slowestHealth(during: Promise<unknown>): Promise<number> {
  let done = false;
  void during.finally(() => (done = true));
  let slowest = 0;
  while (!done) {
    const started = performance.now();
    await fetch(`http://127.0.0.1:${PORT}/healthz`).then((res) => res.text());
    slowest = Math.max(slowest, performance.now() - started);
    await new Promise((r) => setTimeout(r, 20));
  }
  await during;
  return Math.round(slowest);
}

/**
 * Sends one mail over a raw socket: the body goes out in one write, so the sender costs this
 * process (which also times /healthz) next to nothing, unlike a client that dot-stuffs in JS.
 */
async function send(raw: string): Promise<number> {
  const started = performance.now();
  const socket = net.connect(SMTP_PORT, '127.0.0.1');
  socket.setEncoding('latin1');
  let buffered = '';
  const waiters: Array<(line: string) => void> = [];
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let at; (at = buffered.indexOf('\r\n')) !== -1; ) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 2);
      // Continuation lines of a multi-line reply ("250-…") are skipped.
      if (/^\d{3} /.test(line)) waiters.shift()?.(line);
    }
  });
  const reply = () => new Promise<string>((resolve) => waiters.push(resolve));
  const expectCode = async (code: string, command?: string) => {
    const answer = reply();
    if (command !== undefined) socket.write(command);
    const line = await answer;
    if (!line.startsWith(code)) throw new Error(`expected ${code}, got ${line}`);
  };
  try {
    await expectCode('220');
    await expectCode('250', 'EHLO bench.example\r\n');
    await expectCode('250', 'MAIL FROM:<big@example.com>\r\n');
    await expectCode('250', 'RCPT TO:<customer-care@bench.test>\r\n');
    await expectCode('354', 'DATA\r\n');
    // No line of the mail starts with a dot: nothing to stuff.
    await expectCode('250', `${raw}\r\n.\r\n`);
    socket.end('QUIT\r\n');
    return performance.now() - started;
  } finally {
    socket.destroySoon();
  }
}

/**
 * Issue 24: a 10 MB mail must not freeze the server. The slowest /healthz answer while one is
 * stored, beside the slowest while nothing is (as long), taking turns, on the embedded database
 * and on PostgreSQL; target 200 ms.
 */
export async function benchBigMail(rounds: number) {
  const megabytes = Number(process.env.BENCH_MAIL_MB || 10);
  for (const kind of ['pglite', 'postgres'] as const) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'intake-bench-big-'));
    const env: Record<string, string> = { INTAKE_DATA_DIR: dir, MAIL_DOMAIN: 'bench.test', INTAKE_ADMIN_TOKEN: 'bench', PORT: String(PORT), SMTP_PORT: String(SMTP_PORT), MAIL_MAX_BYTES: String((megabytes + 8) * 1024 * 1024) };
    if (kind === 'postgres') env.DATABASE_URL = await freshDatabase(DB);
    const server = await startProcess('src/main.ts', ['start'], env, `http://127.0.0.1:${PORT}/healthz`);
    try {
      const idle: number[] = [];
      const busy: number[] = [];
      const seconds: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const started = performance.now();
        busy.push(await slowestHealth(send(bigMail(megabytes)).then((ms) => seconds.push(ms / 1000))));
        idle.push(await slowestHealth(new Promise((r) => setTimeout(r, performance.now() - started))));
      }
      const base = { bench: `big_mail_${kind}`, mail_mb: megabytes, rounds };
      report({ ...base, figure: 'healthz_slowest_ms', intake: Math.max(...busy), baseline: Math.max(...idle), baseline_is: 'same server, nothing stored', target_max: 200 });
      report({ ...base, figure: 'seconds_to_250', intake: Math.round(Math.max(...seconds) * 100) / 100 });
    } finally {
      await stopProcess(server);
      rmSync(dir, { recursive: true, force: true });
      if (kind === 'postgres') await dropDatabase(DB);
    }
  }
}
