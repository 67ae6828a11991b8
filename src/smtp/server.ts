import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { isListedAddress } from '../http/client-address.js';
import { runWithRequestId, type Logger } from '../log.js';
import { metricsOf } from '../observability/metrics.js';
import type { SpanHandle, Tracing } from '../observability/tracing.js';
import { MailIntakeQueue } from '../mail/queue.js';
import { checkRecipient } from '../mail/service.js';
import { bounceRecipient, receiveBounce } from '../outbound/bounces.js';
import { installConnectionRules, type ConnectionRuleOptions } from './connection-rules.js';

export interface SmtpListener {
  port: number;
  close(): Promise<void>;
}

/** An SMTP reply for smtp-server: the code, then the enhanced status code and text. */
function smtpReply(code: number, message: string): Error {
  const error = new Error(message) as Error & { responseCode: number };
  error.responseCode = code;
  return error;
}

const TRY_AGAIN = () => smtpReply(451, '4.3.0 Temporary failure on our side, please try again later');

/** The promise's value, or a rejection once `ms` have passed: a sender should not wait on a stalled database. */
function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** One SMTP transaction (MAIL FROM to the reply to DATA, or RSET): a request with its id, and its span when tracing. */
interface SmtpTransaction {
  number: number;
  requestId: string;
  span: SpanHandle | null;
}

/**
 * The inbound MX of Intake: no AUTH, STARTTLS only with a configured certificate, recipients
 * checked at RCPT TO, and 250 only once the mail is committed to the database. Each transaction
 * is a request: its id is in its log lines and on the inbound mail rows it writes.
 */
export async function startSmtpServer({ config, database, log, publicUrl, tracing = null }: { config: Config; database: Database; log: Logger; publicUrl: string; tracing?: Tracing | null }): Promise<SmtpListener> {
  const tls = config.smtpTlsKey && config.smtpTlsCert ? { key: readFileSync(config.smtpTlsKey), cert: readFileSync(config.smtpTlsCert) } : null;
  // Team of each accepted recipient (null: postmaster), per session; read back at DATA for the current envelope.
  const teamsOf = new WeakMap<SMTPServerSession, Map<string, number | null>>();
  // Bounce addresses of our outbound mail accepted in the session: address → outbound mail id.
  const bouncesOf = new WeakMap<SMTPServerSession, Map<string, number>>();
  const intake = new MailIntakeQueue(database.db, config, log, config.smtpLookupTimeoutMs);
  // Open connections per client address: one sender must not take every slot.
  const connectionsFrom = new Map<string, number>();
  // Sessions counted in connectionsFrom (onClose also runs for connections refused at onConnect).
  const counted = new Set<string>();
  installConnectionRules();
  const transactions = new WeakMap<SMTPServerSession, SmtpTransaction>();

  /** The session's current transaction, begun at its first command (smtp-server numbers them; EHLO and RSET start another). */
  const transactionOf = (session: SMTPServerSession): SmtpTransaction => {
    const current = transactions.get(session);
    if (current && current.number === session.transaction) return current;
    current?.span?.end();
    const requestId = randomUUID();
    const span = tracing?.startSpan('smtp transaction', { kind: 'server', attributes: { 'intake.request_id': requestId, 'smtp.session_id': session.id, 'client.address': session.remoteAddress } }) ?? null;
    const transaction = { number: session.transaction, requestId, span };
    transactions.set(session, transaction);
    return transaction;
  };
  /** Runs `work` as part of the transaction: its request id in log lines, its span the parent of the statements. */
  const within = <T>(transaction: SmtpTransaction, work: () => T): T =>
    runWithRequestId(transaction.requestId, () => (transaction.span ? tracing!.withSpan(transaction.span, work) : work()));
  /** The transaction's span ends with the reply to its DATA. */
  const endTransaction = (transaction: SmtpTransaction, code: number) => {
    transaction.span?.setAttributes({ 'smtp.reply_code': code });
    if (code >= 400) transaction.span?.fail(new Error(`SMTP ${code}`));
    transaction.span?.end();
    transaction.span = null;
  };
  const metrics = metricsOf(database.db);
  const refused = (reason: string) => metrics?.mailsRefused.inc({ reason });
  const tryAgain = (reason: string) => (metrics?.mailsDeferred.inc({ reason }), TRY_AGAIN());
  // Sessions counted open in the metrics (onClose also runs for connections refused at onConnect).
  const metricsOpen = new Set<string>();
  const countOpened = (session: SMTPServerSession) => {
    if (!metrics) return;
    metricsOpen.add(session.id);
    metrics.smtpConnections.inc();
    metrics.smtpConnectionsOpen.inc();
  };

  const server = new SMTPServer({
    name: new URL(publicUrl).hostname,
    banner: 'Intake ESMTP helpdesk intake ready',
    authOptional: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(tls ?? {}),
    size: config.mailMaxBytes,
    maxClients: config.smtpMaxClients,
    // Counted in onRcptTo instead: smtp-server's own limit answers without the 4.5.3 status code.
    maxRecipients: 0,
    maxCommandLength: 4096,
    socketTimeout: config.smtpSocketTimeoutMs,
    ...({ intakeMaxIdleCommands: config.smtpMaxIdleCommands } satisfies ConnectionRuleOptions),
    closeTimeout: 3000,
    disableReverseLookup: true,
    logger: false,

    onConnect(session, callback) {
      const from = session.remoteAddress;
      // A relay in front of us carries many senders' mail: only SMTP_MAX_CLIENTS bounds it.
      if (isListedAddress(from, config.smtpTrustedRelays)) return (countOpened(session), callback());
      const open = connectionsFrom.get(from) ?? 0;
      if (open >= config.smtpMaxClientsPerAddress) {
        metrics?.mailsDeferred.inc({ reason: 'too_many_connections' });
        return callback(smtpReply(421, '4.7.0 Too many connections from your address, try again later'));
      }
      connectionsFrom.set(from, open + 1);
      counted.add(session.id);
      countOpened(session);
      callback();
    },

    onMailFrom(_address, session, callback) {
      transactionOf(session);
      callback();
    },

    onClose(session) {
      transactions.get(session)?.span?.end();
      if (metricsOpen.delete(session.id)) metrics?.smtpConnectionsOpen.dec();
      if (!counted.delete(session.id)) return;
      const left = (connectionsFrom.get(session.remoteAddress) ?? 1) - 1;
      if (left > 0) connectionsFrom.set(session.remoteAddress, left);
      else connectionsFrom.delete(session.remoteAddress);
    },

    onRcptTo(address, session, callback) {
      const rcptTo = session.envelope.rcptTo;
      const known = rcptTo.some((r) => r.address.toLowerCase() === address.address.toLowerCase());
      if (!known && rcptTo.length >= config.smtpMaxRecipients) {
        metrics?.mailsDeferred.inc({ reason: 'too_many_recipients' });
        return callback(smtpReply(452, `4.5.3 Too many recipients: at most ${config.smtpMaxRecipients} per message, send the rest in another`));
      }
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null;
      const check = async () => {
        const bounced = await bounceRecipient(database.db, config, address.address);
        if (bounced === null) return checkRecipient(database.db, config, address.address, mailFrom);
        let bounces = bouncesOf.get(session);
        if (!bounces) bouncesOf.set(session, (bounces = new Map()));
        bounces.set(address.address.toLowerCase(), bounced);
        return { accept: true as const, teamId: undefined };
      };
      within(transactionOf(session), () => withinTime(check(), config.smtpLookupTimeoutMs, 'recipient check').then(
        (decision) => {
          if (!decision.accept) {
            refused(decision.reason);
            return callback(smtpReply(decision.code, decision.message));
          }
          if (decision.teamId === undefined) return callback();
          let teams = teamsOf.get(session);
          if (!teams) teamsOf.set(session, (teams = new Map()));
          teams.set(address.address.toLowerCase(), decision.teamId);
          callback();
        },
        (err) => {
          log.error('smtp recipient check failed', { sessionId: session.id, err });
          callback(tryAgain('recipient_check_failed'));
        },
      ));
    },

    onData(stream, session, callback) {
      const transaction = transactionOf(session);
      const reply = (err: (Error & { responseCode?: number }) | null, message?: string) => {
        endTransaction(transaction, err?.responseCode ?? (err ? 451 : 250));
        callback(err, message);
      };
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // Past the limit the rest is read and dropped: the sender gets 552, we keep no partial mail.
        if (size <= config.mailMaxBytes) chunks.push(chunk);
      });
      stream.on('error', (err) =>
        within(transaction, () => {
          log.warn('smtp data stream failed', { sessionId: session.id, err });
          reply(tryAgain('data_stream_failed'));
        }),
      );
      // Stream events run outside the transaction's context: `within` brings it back.
      stream.on('end', () => within(transaction, () => {
        transaction.span?.setAttributes({ 'smtp.message_bytes': size, 'smtp.recipients': session.envelope.rcptTo.length });
        if (stream.sizeExceeded) {
          refused('too_large');
          return reply(smtpReply(552, `5.3.4 Message exceeds the maximum size of ${config.mailMaxBytes} bytes`));
        }
        const teams = teamsOf.get(session) ?? new Map<string, number | null>();
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        const teamIds = rcptTo.map((a) => teams.get(a.toLowerCase())).filter((id): id is number | null => id !== undefined);
        const envelope = { mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null, rcptTo, remoteAddress: session.remoteAddress };
        const raw = Buffer.concat(chunks);
        // Reports about our own mail go to the outbox, never to the intake: no ticket, no answer.
        const bounces = bouncesOf.get(session);
        const bounced = rcptTo.flatMap((a) => (bounces?.has(a.toLowerCase()) ? [bounces.get(a.toLowerCase())!] : []));
        const reported = bounced.length ? receiveBounce(database.db, raw, bounced) : Promise.resolve(null);
        const received = bounced.length === rcptTo.length ? Promise.resolve([]) : intake.receive({ raw, envelope, teamIds, requestId: transaction.requestId });
        Promise.all([reported, received]).then(
          ([bounce, results]) => {
            if (bounce) log.info('bounce of outbound mail received', { sessionId: session.id, outboundMailIds: bounced, action: bounce.report.action, failed: bounce.failed.map((m) => m.id) });
            if (bounced.length !== rcptTo.length) log.info('mail received', { sessionId: session.id, from: envelope.mailFrom, results });
            if (metrics) {
              metrics.mailsAccepted.inc();
              metrics.mailBytes.inc(size);
              const quarantined = results.filter((r) => r.status === 'QUARANTINED').length;
              if (quarantined > 0) metrics.mailsQuarantined.inc(quarantined);
            }
            reply(null, '2.0.0 Message accepted');
          },
          (err) => {
            log.error('mail intake failed, sender will retry', { sessionId: session.id, err });
            reply(tryAgain((err as { code?: unknown })?.code === 'ETIMEDOUT' ? 'storing_timed_out' : 'storing_failed'));
          },
        );
      }));
    },
  });
  server.on('error', (err) => log.warn('smtp connection error', { err }));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(config.smtpPort, config.smtpHost, () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
