import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Database, Db } from '../db/client.js';
import { runWithRequestId, type Logger } from '../log.js';
import type { SpanHandle, Tracing } from '../observability/tracing.js';
import { cutByCodePoints } from '../text/clean.js';
import { messageOf } from './compose.js';
import { dkimFor } from './dkim.js';
import { bounceAddress, mailSigner, type MailSigner } from './signing.js';
import { claimDueMail, markDeferred, markFailed, markSent, nextDueAt, OUTBOUND_CHANNEL, releaseHeldMail, type OutboundMailRow } from './service.js';
import { outboundMails } from './tables.js';
import { metricsOf } from '../observability/metrics.js';

/** How a relay's answer or a transport error is taken. */
export type SendOutcome = { kind: 'sent'; response: string } | { kind: 'temporary' | 'permanent'; response: string };

/** Longest relay reply kept on a row. */
const MAX_RESPONSE = 1000;

/**
 * 5xx is final; everything else — 4xx, a timeout, a refused or dropped connection, a TLS
 * failure — is worth another try later.
 */
export function outcomeOfError(err: unknown): SendOutcome {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const response = cutByCodePoints(e.response || `${e.code ?? 'error'}: ${e.message ?? String(err)}`, MAX_RESPONSE);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600) return { kind: 'permanent', response };
  return { kind: 'temporary', response };
}

/** The nodemailer transport for SMTP_RELAY_URL: a pool, STARTTLS when offered (smtp://), implicit TLS (smtps://). */
export function relayTransport(config: Config): Transporter {
  const { outbound } = config;
  const url = new URL(outbound.relayUrl!);
  const secure = url.protocol === 'smtps:';
  return nodemailer.createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    name: config.mailDomain,
    pool: true,
    maxConnections: outbound.concurrency,
    // A connection that drops mid-message is our outbox's to retry, never the pool's: the row must know.
    maxRequeues: 0,
    connectionTimeout: outbound.connectTimeoutMs,
    greetingTimeout: outbound.connectTimeoutMs,
    socketTimeout: outbound.socketTimeoutMs,
    dnsTimeout: outbound.connectTimeoutMs,
    logger: false,
  } as SMTPPool.Options);
}

/**
 * The outbox's sender on one instance: claims due mail (woken by NOTIFY on queueing, by a timer
 * for retries and expired leases), sends each through the relay, and records the relay's reply.
 * Instances share the work through the database: a claimed row is skipped by the others.
 */
export class OutboxSender {
  private readonly db: Db;
  private transport: Transporter | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private claiming = false;
  private again = false;
  /** Mail being sent by this instance, by id: its claim is renewed while it is here. */
  private readonly inFlight = new Map<number, Promise<void>>();
  private rounds: Promise<void> = Promise.resolve();
  private signer: MailSigner | null = null;
  /** When the timer fires next (ms since the epoch); a retry due sooner moves it. */
  private timerAt = Infinity;

  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly tracing: Tracing | null = null,
  ) {
    this.db = database.db;
  }

  async start(): Promise<void> {
    if (this.config.outbound.relayUrl === null) {
      this.log.info('no SMTP_RELAY_URL: outbound mail is held until a relay is set');
      return;
    }
    this.transport = relayTransport(this.config);
    this.signer = await mailSigner(this.db, this.config);
    const released = await releaseHeldMail(this.db);
    if (released) this.log.info('outbound mail held for want of a relay is due now', { released });
    this.stopListening = await this.database.listen(OUTBOUND_CHANNEL, () => this.wake(), () => this.wake());
    // Claims are renewed while their SMTP transaction lasts; a dead sender's run out.
    const lease = this.config.outbound.leaseMs;
    this.renewTimer = setInterval(() => void this.renewClaims(), Math.max(Math.floor(lease / 3), 10));
    this.renewTimer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.stopListening?.();
    await this.rounds;
    await Promise.allSettled([...this.inFlight.values()]);
    this.transport?.close();
  }

  /** Looks for due mail now (a notification, a timer, a finished send). */
  wake(): void {
    if (this.stopped || !this.transport) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    this.rounds = this.claimRound()
      .catch((err) => {
        this.log.error('outbox claim failed', { err });
        this.schedule(this.config.outbound.pollIntervalMs);
      })
      .finally(() => {
        this.claiming = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async claimRound(): Promise<void> {
    const { concurrency, leaseMs, pollIntervalMs } = this.config.outbound;
    for (;;) {
      if (this.stopped) return;
      const room = concurrency * 2 - this.inFlight.size;
      if (room <= 0) return; // a finished send wakes us
      const claimed = await claimDueMail(this.db, room, leaseMs);
      for (const row of claimed) this.send(row);
      if (claimed.length === 0) {
        // Idle: sleep until the next retry or expiring claim (another instance's too), or the poll.
        const next = await nextDueAt(this.db);
        this.schedule(next === null ? pollIntervalMs : Math.max(next.getTime() - Date.now(), 0) + 5);
        return;
      }
      if (claimed.length < room) break;
    }
    // Busy: each finished send wakes the sender; the timer only backs that up.
    this.schedule(pollIntervalMs);
  }

  /** Wakes the sender in `ms` (at most the poll interval), unless it is woken sooner already. */
  private schedule(ms: number, onlySooner = false): void {
    if (this.stopped) return;
    const at = Date.now() + Math.min(ms, this.config.outbound.pollIntervalMs);
    if (onlySooner && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.wake();
    }, Math.max(at - Date.now(), 0));
    this.timer.unref();
  }

  /**
   * Sends one claimed mail. Its log lines carry the id of the request that queued it, and with
   * tracing each attempt is a span (`smtp send`, the relay's statements and ours nested in it).
   */
  private send(row: OutboundMailRow): void {
    const { tracing } = this;
    const attempt = () =>
      tracing
        ? tracing.span('smtp send', { kind: 'client', attributes: { 'intake.outbound_mail_id': row.id, 'intake.request_id': row.requestId ?? undefined, 'smtp.attempt': row.attempts } }, (span) => this.deliver(row, span))
        : this.deliver(row, null);
    const done = (row.requestId ? runWithRequestId(row.requestId, attempt) : attempt())
      .catch((err) => this.log.error('outbox could not record a delivery', { outboundMailId: row.id, err }))
      .finally(() => {
        this.inFlight.delete(row.id);
        this.wake();
      });
    this.inFlight.set(row.id, done);
  }

  private async deliver(row: OutboundMailRow, span: SpanHandle | null): Promise<void> {
    const message = messageOf(row, bounceAddress(this.signer!, row.id, this.config.mailDomain), dkimFor(row.fromAddress, this.config.dkim));
    let outcome: SendOutcome;
    try {
      const info = (await this.transport!.sendMail(message)) as { response?: string; rejected?: unknown[] };
      outcome = { kind: 'sent', response: cutByCodePoints(info.response ?? '250', MAX_RESPONSE) };
    } catch (err) {
      outcome = outcomeOfError(err);
    }
    const fields = { outboundMailId: row.id, messageId: row.messageId, attempt: row.attempts, response: outcome.response };
    span?.setAttributes({ 'smtp.outcome': outcome.kind });
    if (outcome.kind !== 'sent') span?.fail(new Error(outcome.response));
    const metrics = metricsOf(this.db);
    if (outcome.kind === 'sent') {
      metrics?.outboundSent.inc();
      if (!(await this.recordSent({ id: row.id, attempts: row.attempts, response: outcome.response }))) this.log.warn('outbound mail sent after its claim ran out', fields);
      else this.log.info('outbound mail sent', fields);
    } else if (outcome.kind === 'permanent') {
      metrics?.outboundFailed.inc();
      await markFailed(this.db, row, outcome.response);
      this.log.warn('outbound mail refused', fields);
    } else {
      const { status, delayMs } = await markDeferred(this.db, row, outcome.response, this.config.outbound);
      (status === 'DEFERRED' ? metrics?.outboundDeferred : metrics?.outboundFailed)?.inc();
      if (status === 'DEFERRED') this.schedule(delayMs + 5, true);
      this.log.info(status === 'FAILED' ? 'outbound mail out of retries' : 'outbound mail deferred', fields);
    }
  }

  private sentBatch: Array<{ id: number; attempts: number; response: string; done: (still: boolean) => void; failed: (err: unknown) => void }> = [];
  private recording = false;

  /** Marks a mail SENT; mails the relay accepted meanwhile are marked in the same statement. */
  private recordSent(sent: { id: number; attempts: number; response: string }): Promise<boolean> {
    return new Promise((done, failed) => {
      this.sentBatch.push({ ...sent, done, failed });
      if (!this.recording) void this.flushSent();
    });
  }

  private async flushSent(): Promise<void> {
    this.recording = true;
    while (this.sentBatch.length) {
      const batch = this.sentBatch.splice(0);
      try {
        const still = await markSent(this.db, batch);
        for (const s of batch) s.done(still.has(s.id));
      } catch (err) {
        for (const s of batch) s.failed(err);
      }
    }
    this.recording = false;
  }

  /** Extends the claims of the mail this instance is sending. */
  private async renewClaims(): Promise<void> {
    if (this.inFlight.size === 0 || this.stopped) return;
    const ids = [...this.inFlight.keys()];
    try {
      await this.db
        .update(outboundMails)
        .set({ leaseUntil: sql`now() + make_interval(secs => ${this.config.outbound.leaseMs / 1000})` })
        .where(sql`${outboundMails.id} = any(${`{${ids.join(',')}}`}::int[]) and ${outboundMails.status} = 'SENDING'`);
    } catch (err) {
      this.log.warn('outbox could not renew its claims', { err });
    }
  }
}
