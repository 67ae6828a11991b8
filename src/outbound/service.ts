import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import { inTransaction, queryRows, type DbOrTx } from '../db/client.js';
import { fail } from '../errors.js';
import { addSystemNote } from '../tickets/chatter.js';
import { outboundMails } from './tables.js';
import { currentRequestId } from '../log.js';

export type OutboundMailRow = typeof outboundMails.$inferSelect;
/** The states the API shows: SENDING is shown as PENDING. */
export type OutboundMailStatus = 'HELD' | 'PENDING' | 'SENT' | 'DEFERRED' | 'FAILED';
export type OutboundMailKind = OutboundMailRow['kind'];

/** The NOTIFY channel that wakes the senders of every instance when mail is queued. */
export const OUTBOUND_CHANNEL = 'intake_outbound';

/** The tag a ticket gets when a mail about it could not be delivered: agents find such tickets by it. */
export const DELIVERY_FAILED_TAG = 'delivery-failed';

/** A mail to queue: what the message says and whom it goes to. */
export interface NewOutboundMail {
  kind: OutboundMailKind;
  ticketId: number | null;
  /** The chatter entry the mail carries (a reply), whose `delivery` shows this mail. */
  ticketMessageId?: number | null;
  /** The From header, e.g. `"Customer Care" <customer-care@example.com>`. */
  from: string;
  replyTo?: string | null;
  to: string[];
  cc?: string[];
  subject: string;
  text: string;
  html?: string | null;
  /** Further header fields: In-Reply-To, References, Auto-Submitted, X-Auto-Response-Suppress… */
  headers?: Record<string, string>;
  /** Message-ID without <>; made here (`<uuid>@<mail domain>`) when not given. Fixed for every attempt. */
  messageId?: string;
}

export interface QueueSettings {
  mailDomain: string;
  outbound: { relayUrl: string | null };
}

/** A Message-ID of ours for a mail about to be queued (without <>). */
export function newMessageId(mailDomain: string): string {
  return `${randomUUID()}@${mailDomain}`;
}

/** Header names a caller may not set: the sender sets them from the row. */
const RESERVED_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'reply-to', 'subject', 'message-id', 'date', 'content-type', 'mime-version', 'content-transfer-encoding']);

/**
 * Queues a mail in the caller's transaction: it is sent only if that transaction commits, and
 * then surely (or FAILED with a note on the ticket). Senders on every instance are woken on
 * commit. Without a relay (SMTP_RELAY_URL) the mail is HELD until one is set.
 */
export async function queueOutboundMail(db: DbOrTx, settings: QueueSettings, mail: NewOutboundMail): Promise<OutboundMailRow> {
  if (mail.to.length === 0) throw new Error('an outbound mail needs at least one recipient');
  const headers = mail.headers ?? {};
  for (const name of Object.keys(headers)) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new Error(`the ${name} header is set from the mail itself`);
    if (!/^[A-Za-z0-9-]+$/.test(name) || /[\r\n]/.test(headers[name]!)) throw new Error(`a header field must be a plain name with a one-line value: ${name}`);
  }
  const held = settings.outbound.relayUrl === null;
  return inTransaction(db, async (tx) => {
    // Sent together: on one connection the notification follows the insert without a round trip between.
    const [[row]] = await Promise.all([
      tx
        .insert(outboundMails)
        .values({
          kind: mail.kind,
          ticketId: mail.ticketId,
          ticketMessageId: mail.ticketMessageId ?? null,
          status: held ? 'HELD' : 'PENDING',
          messageId: (mail.messageId ?? newMessageId(settings.mailDomain)).replace(/^<|>$/g, ''),
          fromAddress: mail.from,
          replyTo: mail.replyTo ?? null,
          to: mail.to,
          cc: mail.cc ?? [],
          subject: mail.subject,
          bodyText: mail.text,
          bodyHtml: mail.html ?? null,
          headers,
          nextAttemptAt: held ? null : sql`now()`,
          requestId: currentRequestId() ?? null,
        })
        .returning(),
      held ? null : wakeSenders(tx),
    ]);
    return row!;
  });
}

/** Wakes the senders of every instance once the transaction commits. */
function wakeSenders(tx: DbOrTx) {
  return tx.execute(sql`select pg_notify(${OUTBOUND_CHANNEL}, '')`);
}

/** The status the API shows for a row. */
export function visibleStatus(row: Pick<OutboundMailRow, 'status'>): OutboundMailStatus {
  return row.status === 'SENDING' ? 'PENDING' : row.status;
}

/**
 * The delay before retry number `attempt` (1: after the first failure): about 5 s, 30 s, 2 min,
 * 10 min, 30 min, then hourly, with the base 5 s; the whole schedule scales with `baseSeconds`,
 * and each delay is moved by up to ±20 % so that mail deferred together does not return together.
 */
export function retryDelayMs(attempt: number, baseSeconds: number, random: () => number = Math.random): number {
  const steps = [1, 6, 24, 120, 360, 720];
  const step = steps[Math.min(Math.max(attempt, 1), steps.length) - 1]!;
  return Math.round(step * baseSeconds * 1000 * (0.8 + 0.4 * random()));
}

/** Mail HELD for want of a relay becomes due: a relay is configured now. */
export async function releaseHeldMail(db: DbOrTx): Promise<number> {
  const rows = await db
    .update(outboundMails)
    .set({ status: 'PENDING', nextAttemptAt: sql`now()`, updatedAt: sql`now()` })
    .where(eq(outboundMails.status, 'HELD'))
    .returning({ id: outboundMails.id });
  return rows.length;
}

/**
 * Claims up to `limit` due mails for this sender and marks them SENDING until the lease ends,
 * committed before any SMTP transaction starts. Due: PENDING or DEFERRED whose time has come,
 * or SENDING whose sender let its lease run out (it died mid-transaction). Rows another sender
 * is claiming right now are skipped, not waited for.
 */
export async function claimDueMail(db: DbOrTx, limit: number, leaseMs: number): Promise<OutboundMailRow[]> {
  // Two index walks (the partial indexes), not one scan with OR: the table keeps every mail ever sent.
  const due = sql`select id from (select id from ${outboundMails} where status in ('PENDING', 'DEFERRED') and next_attempt_at <= now()
      order by next_attempt_at limit ${limit} for update skip locked) due
    union all
    select id from (select id from ${outboundMails} where status = 'SENDING' and lease_until < now()
      order by lease_until limit ${limit} for update skip locked) expired`;
  return db
    .update(outboundMails)
    .set({
      status: 'SENDING',
      leaseUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
      attempts: sql`${outboundMails.attempts} + 1`,
      updatedAt: sql`now()`,
    })
    .where(sql`${outboundMails.id} in (${due})`)
    .returning();
}

/** When the next mail falls due (a retry, or a lease running out); null when none waits. */
export async function nextDueAt(db: DbOrTx): Promise<Date | null> {
  const [row] = await queryRows<{ at: string | Date | null }>(
    db,
    sql`select least(
      (select min(next_attempt_at) from ${outboundMails} where status in ('PENDING', 'DEFERRED')),
      (select min(lease_until) from ${outboundMails} where status = 'SENDING')) as at`,
  );
  return row?.at ? new Date(row.at) : null;
}

/** The claim of one attempt: the row is still ours only while it is SENDING with this attempt number. */
const stillClaimed = (claim: Pick<OutboundMailRow, 'id' | 'attempts'>) =>
  and(eq(outboundMails.id, claim.id), eq(outboundMails.status, 'SENDING'), eq(outboundMails.attempts, claim.attempts));

/**
 * The relay said 250: SENT with its reply, for several mails in one statement. Nothing takes a
 * SENT mail again. Returns the ids still claimed by these attempts (the others' claims ran out).
 */
export async function markSent(db: DbOrTx, sent: Array<{ id: number; attempts: number; response: string }>): Promise<Set<number>> {
  if (sent.length === 0) return new Set();
  const rows = await queryRows<{ id: number }>(
    db,
    sql`update ${outboundMails} m set status = 'SENT', sent_at = now(), last_response = v.response, lease_until = null, next_attempt_at = null, updated_at = now()
      from json_to_recordset(${JSON.stringify(sent.map(({ id, attempts, response }) => ({ id, attempts, response })))}::text::json) as v(id int, attempts int, response text)
      where m.id = v.id and m.status = 'SENDING' and m.attempts = v.attempts
      returning m.id`,
  );
  return new Set(rows.map((r) => r.id));
}


export interface RetrySettings {
  retryBaseSeconds: number;
  retryHours: number;
}

/**
 * A temporary failure (4xx, a timeout, a dropped connection): DEFERRED to the next step of the
 * schedule, or FAILED once the mail has been retried for OUTBOUND_RETRY_HOURS.
 */
export async function markDeferred(
  db: DbOrTx,
  claim: Pick<OutboundMailRow, 'id' | 'attempts' | 'retryFrom'>,
  response: string,
  settings: RetrySettings,
  now = new Date(),
): Promise<{ status: 'DEFERRED' | 'FAILED'; delayMs: number }> {
  const retriedFor = now.getTime() - claim.retryFrom.getTime();
  if (retriedFor >= settings.retryHours * 3_600_000) {
    await markFailed(db, claim, `${response} (gave up after ${claim.attempts} attempts over ${formatDuration(retriedFor)})`);
    return { status: 'FAILED', delayMs: 0 };
  }
  const delay = retryDelayMs(claim.attempts, settings.retryBaseSeconds);
  await db
    .update(outboundMails)
    .set({ status: 'DEFERRED', lastResponse: response, leaseUntil: null, nextAttemptAt: sql`now() + make_interval(secs => ${delay / 1000})`, updatedAt: sql`now()` })
    .where(stillClaimed(claim));
  return { status: 'DEFERRED', delayMs: delay };
}

/** A permanent failure (5xx, or out of retries): FAILED, a SYSTEM note on the ticket saying why, and the ticket tagged. */
export async function markFailed(db: DbOrTx, claim: Pick<OutboundMailRow, 'id' | 'attempts'>, response: string): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const [row] = await tx
      .update(outboundMails)
      .set({ status: 'FAILED', lastResponse: response, leaseUntil: null, nextAttemptAt: null, updatedAt: sql`now()` })
      .where(stillClaimed(claim))
      .returning();
    if (!row) return false;
    await noteFailure(tx, row, response);
    return true;
  });
}

async function noteFailure(tx: DbOrTx, row: OutboundMailRow, why: string): Promise<void> {
  if (row.ticketId === null) return;
  const what = row.kind === 'REPLY' ? 'The reply' : 'The acknowledgement';
  await addSystemNote(tx, {
    ticketId: row.ticketId,
    body: `${what} "${row.subject}" to ${row.to.join(', ')} could not be delivered: ${why}`,
    tag: DELIVERY_FAILED_TAG,
  });
}

/**
 * A delivery status notification for a mail we sent (a bounce to its bounce address): FAILED
 * with the report's diagnostic, noted on the ticket. Also after SENT: the relay accepted the mail,
 * the destination refused it later. A report for a mail already FAILED changes nothing.
 */
export async function recordBounce(db: DbOrTx, outboundMailId: number, diagnostic: string): Promise<OutboundMailRow | null> {
  return inTransaction(db, async (tx) => {
    const [current] = await tx.select().from(outboundMails).where(eq(outboundMails.id, outboundMailId)).for('update');
    if (!current || current.status === 'FAILED') return current ?? null;
    const why = `bounced: ${diagnostic}`;
    const [row] = await tx
      .update(outboundMails)
      .set({ status: 'FAILED', lastResponse: why, leaseUntil: null, nextAttemptAt: null, updatedAt: sql`now()` })
      .where(eq(outboundMails.id, outboundMailId))
      .returning();
    await noteFailure(tx, row!, why);
    return row!;
  });
}

/** An admin sends a FAILED mail again: the same row and Message-ID, due now, its retry clock restarted. */
export async function retryOutboundMail(db: DbOrTx, settings: QueueSettings, input: { outboundMailId: number }): Promise<OutboundMailRow> {
  return inTransaction(db, async (tx) => {
    const [current] = await tx.select().from(outboundMails).where(eq(outboundMails.id, input.outboundMailId)).for('update');
    if (!current) fail('outboundMailId', 'NOT_FOUND', 'No outbound mail has this id.');
    if (current.status !== 'FAILED') fail('outboundMailId', 'NOT_FAILED', `Only a FAILED mail can be sent again; this one is ${visibleStatus(current)}.`);
    const held = settings.outbound.relayUrl === null;
    const [row] = await tx
      .update(outboundMails)
      .set({ status: held ? 'HELD' : 'PENDING', nextAttemptAt: held ? null : sql`now()`, retryFrom: sql`now()`, updatedAt: sql`now()` })
      .where(eq(outboundMails.id, current.id))
      .returning();
    if (!held) await wakeSenders(tx);
    return row!;
  });
}

export async function findOutboundMails(db: DbOrTx, ids: readonly number[]): Promise<OutboundMailRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(outboundMails).where(inArray(outboundMails.id, [...new Set(ids)]));
}

/** The newest outbound mail of each chatter entry (a reply's delivery), in one query. */
export async function deliveriesOfMessages(db: DbOrTx, ticketMessageIds: readonly number[]): Promise<Map<number, OutboundMailRow>> {
  if (ticketMessageIds.length === 0) return new Map();
  const rows = await db
    .select()
    .from(outboundMails)
    .where(inArray(outboundMails.ticketMessageId, [...new Set(ticketMessageIds)]))
    .orderBy(desc(outboundMails.id));
  const byMessage = new Map<number, OutboundMailRow>();
  for (const row of rows) if (!byMessage.has(row.ticketMessageId!)) byMessage.set(row.ticketMessageId!, row);
  return byMessage;
}

/** Mail claimed by senders whose lease is over: a test waits on it after killing one. */
export async function expiredClaims(db: DbOrTx): Promise<number> {
  return db.$count(outboundMails, and(eq(outboundMails.status, 'SENDING'), lt(outboundMails.leaseUntil, sql`now()`)));
}

function formatDuration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/**
 * What waits in the outbox, by status (SENDING counted as PENDING), and how long the oldest mail
 * not yet sent has waited since it was queued or sent again (`retry_from`), in seconds.
 * `due` leaves HELD mail out: it waits for a relay to be configured, not for one to answer.
 */
export async function outboxFigures(db: DbOrTx): Promise<{ waiting: Record<'HELD' | 'PENDING' | 'DEFERRED', number>; oldestSeconds: number | null; oldestDueSeconds: number | null }> {
  const rows = await queryRows<{ status: string; count: number | string; oldest: number | string | null }>(
    db,
    sql`select case when status = 'SENDING' then 'PENDING' else status::text end as status, count(*) as count,
          extract(epoch from now() - min(retry_from)) as oldest
        from ${outboundMails} where status in ('HELD', 'PENDING', 'SENDING', 'DEFERRED') group by 1`,
  );
  const waiting = { HELD: 0, PENDING: 0, DEFERRED: 0 };
  let oldestSeconds: number | null = null;
  let oldestDueSeconds: number | null = null;
  for (const row of rows) {
    const status = row.status as keyof typeof waiting;
    waiting[status] += Number(row.count);
    const oldest = row.oldest === null ? null : Number(row.oldest);
    if (oldest === null) continue;
    oldestSeconds = Math.max(oldestSeconds ?? 0, oldest);
    if (status !== 'HELD') oldestDueSeconds = Math.max(oldestDueSeconds ?? 0, oldest);
  }
  return { waiting, oldestSeconds, oldestDueSeconds };
}
