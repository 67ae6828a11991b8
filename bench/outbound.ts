import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { openPostgres } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { queueOutboundMail } from '../src/outbound/service.js';
import { dropDatabase, freshDatabase, ratio, report, startProcess, stopProcess, takeTurns, type LoadRun, closedLoop } from './support.js';

const DB = 'intake_bench_outbound';
const DOMAIN = 'bench.test';
const HTTP_PORT = 4707;
/** Replies in flight at once, for both contenders: agents answering, each waiting for the relay's 250. */
const IN_FLIGHT = 16;
/** SMTP connections to the relay, for both contenders (OUTBOUND_CONCURRENCY for Intake). */
const CONNECTIONS = 8;

const body = `Hello Jane,\n\n${'Thank you for your patience, we are looking into it. '.repeat(40)}\n\nCustomer Care`;

/**
 * The outbox to a local relay, beside nodemailer sending the same mails straight to it. Each of
 * 16 loops queues a reply (a transaction of its own, as replyToTicket's) and waits until the
 * relay has answered 250 for its Message-ID; the baseline's loops call sendMail over a pool of
 * the same 8 connections. Latency: from the start of the queueing transaction (of sendMail) to
 * the relay's 250.
 */
export async function benchOutbound(seconds: number) {
  const url = await freshDatabase(DB);
  const migrating = openPostgres(url, { max: 2 });
  await migrateDatabase(migrating, url);
  await migrating.close();

  // The relay runs in this process: it tells each loop when its mail got the 250.
  const waiting = new Map<string, () => void>();
  const relay = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 4096) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        callback(null, 'OK');
        const id = /^Message-ID:\s*<([^>]+)>/im.exec(head)?.[1];
        if (id) waiting.get(id)?.();
      });
    },
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
  const relayPort = (relay.server.address() as AddressInfo).port;
  const until = (messageId: string) => new Promise<void>((resolve) => waiting.set(messageId, () => (waiting.delete(messageId), resolve())));

  const settings = { mailDomain: DOMAIN, outbound: { relayUrl: `smtp://127.0.0.1:${relayPort}` } };
  const queueing = openPostgres(url, { max: IN_FLIGHT });
  const direct = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, pool: true, maxConnections: CONNECTIONS, maxMessages: Infinity });
  let counter = 0;
  const mail = () => {
    const n = counter++;
    return { n, messageId: `bench-${process.pid}-${n}@${DOMAIN}`, subject: `Re: Bench ticket ${n} [#${n}]` };
  };
  const loops = (seconds: number, one: () => Promise<void>): Promise<LoadRun> => closedLoop(IN_FLIGHT, seconds, one);

  let server: ChildProcess | null = null;
  let results;
  try {
    server = await startProcess(
      'src/main.ts',
      ['start'],
      { DATABASE_URL: url, MAIL_DOMAIN: DOMAIN, INTAKE_ADMIN_TOKEN: 'bench', PORT: String(HTTP_PORT), SMTP_RELAY_URL: settings.outbound.relayUrl, OUTBOUND_CONCURRENCY: String(CONNECTIONS) },
      `http://127.0.0.1:${HTTP_PORT}/healthz`,
    );
    results = await takeTurns(
      {
        outbox: (s) =>
          loops(s, async () => {
            const { messageId, subject } = mail();
            const sent = until(messageId);
            await queueing.db.transaction((tx) =>
              queueOutboundMail(tx, settings, { kind: 'REPLY', ticketId: null, from: `"Customer Care" <customer-care@${DOMAIN}>`, to: ['jane@customer.example'], subject, text: body, messageId }),
            );
            await sent;
          }),
        nodemailer: (s) =>
          loops(s, async () => {
            const { messageId, subject } = mail();
            await direct.sendMail({ envelope: { from: `bounces@${DOMAIN}`, to: ['jane@customer.example'] }, from: `"Customer Care" <customer-care@${DOMAIN}>`, to: 'jane@customer.example', subject, text: body, messageId: `<${messageId}>` });
          }),
      },
      seconds,
    );
  } finally {
    if (server) await stopProcess(server);
    direct.close();
    await queueing.close();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);

  const { outbox, nodemailer: baseline } = results;
  const base = { bench: 'outbound_mail_postgres', in_flight: IN_FLIGHT, connections: CONNECTIONS, seconds };
  report({ ...base, figure: 'mails_per_s', outbox: outbox.rps, baseline: baseline.rps, ratio: ratio(outbox.rps, baseline.rps), target_ratio: 0.5, errors: outbox.errors + baseline.errors });
  report({ ...base, figure: 'queue_to_250_p50_ms', outbox: outbox.p50, baseline: baseline.p50 });
  report({ ...base, figure: 'queue_to_250_p99_ms', outbox: outbox.p99, baseline: baseline.p99 });
}
