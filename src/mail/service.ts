import { createHash } from 'node:crypto';
import { and, eq, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import { inTransaction, queryRows, type DbOrTx } from '../db/client.js';
import { fail } from '../errors.js';
import {
  DEFAULT_REFUSAL_TEXT,
  findTeams,
  type MailSettings as TeamMailSettings,
} from '../teams/service.js';
import { teamDirectoryOf } from '../teams/directory.js';
import { isEmailAddress } from '../text/email-address.js';
import { addCustomerMessage, addSystemNote } from '../tickets/chatter.js';
import { customerIdsByEmail, findCustomerByEmail } from '../tickets/customers.js';
import {
  createTickets,
  findTickets,
  findTicketsByNumbers,
  validateNewTicket,
  type NewAttachment,
  type NewTicket,
} from '../tickets/service.js';
import { cleanText, cutByCodePoints } from '../text/clean.js';
import { ticketsOfOutboundMessageIds } from '../outbound/history.js';
import { mailSigner } from '../outbound/signing.js';
import { acknowledgeNewTickets, type AcknowledgementSettings } from './acknowledge.js';
import { ticketOfReplyAddress } from './compose.js';
import { automatedReason, isBounce, normaliseMessageId, referencedMessageIds, subjectTicketNumber, type MailFacts } from './classify.js';
import { readBlob } from '../tickets/blobs.js';
import { mailParsePool, parseMime } from './parse-pool.js';
import { inboundMails, rawMails } from './tables.js';

export type InboundMailRow = typeof inboundMails.$inferSelect;
export type InboundMailStatus = InboundMailRow['status'];

export interface MailSettings extends TeamMailSettings, AcknowledgementSettings {
  mailLoopMaxTickets: number;
  mailLoopWindowMinutes: number;
}

export interface Envelope {
  mailFrom: string | null;
  rcptTo: string[];
  remoteAddress?: string | null;
}

/** What the SMTP listener answers to RCPT TO. */
export type RecipientDecision =
  | { accept: true; teamId: number | null }
  | { accept: false; code: 550; message: string; reason: 'relaying_denied' | 'no_such_mailbox' | 'contact_policy' };

/**
 * RCPT TO: only aliases of teams whose email channel is on, on a domain we serve, from a
 * sender the alias's contact policy lets in. We are not a relay. The aliases and domains come
 * from the app's team directory: in memory while it is trusted, else one statement that
 * concurrent sessions share.
 */
export async function checkRecipient(db: DbOrTx, settings: MailSettings, address: string, mailFrom: string | null): Promise<RecipientDecision> {
  // RFC 5321 §4.1.1.3: the domainless postmaster is ours too.
  if (address.toLowerCase() === 'postmaster') return { accept: true, teamId: null };
  const at = address.lastIndexOf('@');
  const localPart = address.slice(0, at).toLowerCase();
  const domain = address.slice(at + 1).toLowerCase();
  const directory = await teamDirectoryOf(db).current();
  const ours = at >= 1 && (domain === settings.mailDomain || directory.domains.has(domain));
  if (!ours) return { accept: false, code: 550, message: `5.7.1 <${address}>: relaying denied, we only receive mail for our own domains`, reason: 'relaying_denied' };
  // alias+token@domain (the Reply-To of our mail) reaches the alias; a token whose signature
  // holds names a ticket, and its answer is let in whatever the contact policy.
  const plus = localPart.indexOf('+');
  const team = directory.teams.get(`${plus > 0 ? localPart.slice(0, plus) : localPart}@${domain}`);
  if (plus > 0 && team?.useEmailAlias && ticketOfReplyAddress(await mailSigner(db, settings), address) !== null) return { accept: true, teamId: team.id };
  // RFC 5321 §4.5.1: postmaster of every domain we serve takes mail; kept for an administrator.
  if (localPart === 'postmaster' && (!team || !team.useEmailAlias)) return { accept: true, teamId: null };
  if (!team || !team.useEmailAlias) return { accept: false, code: 550, message: `5.1.1 <${address}>: no such mailbox`, reason: 'no_such_mailbox' };
  // Bounces come with an empty sender and must reach us whatever the policy.
  if (team.aliasContactPolicy === 'KNOWN_CUSTOMERS' && mailFrom && !(await findCustomerByEmail(db, mailFrom))) {
    return { accept: false, code: 550, message: `5.7.1 ${team.aliasRefusalText ?? DEFAULT_REFUSAL_TEXT}`, reason: 'contact_policy' };
  }
  return { accept: true, teamId: team.id };
}

export interface ReceivedMail {
  /** Null for mail to postmaster, kept for an administrator. */
  teamId: number | null;
  status: InboundMailStatus;
  ticketId: number | null;
  reason: string | null;
}

/** What routing needs of a mail, read once when it arrives (outside any transaction). */
export interface Parsed {
  mail: ParsedMail | null;
  parseError: string | null;
  facts: MailFacts;
  messageId: string | null;
  messageKey: string;
  /** sha256 of the raw bytes: tells a resent copy from another mail reusing a Message-ID. */
  digest: string;
  subject: string | null;
  from: { email: string; name: string | null } | null;
  /** Message ids it answers (In-Reply-To, then References newest first). */
  references: string[];
  /** Plus-addresses it was sent to (envelope, To, Cc): a signed one names the ticket it answers. */
  plusAddresses: string[];
  /** Body text and HTML, cleaned and cut to what a ticket keeps. */
  text: string;
  html: string | null;
  /** The first MAX_ATTACHMENTS attachments, names cleaned; the raw message keeps them all. */
  attachments: NewAttachment[];
  attachmentsLeftOut: number;
}

const MAX_TITLE = 300;
const MAX_TEXT = 200_000;
const MAX_HTML = 2_000_000;
const MAX_SUBJECT = 1000;
const MAX_ATTACHMENTS = 100;
const MAX_REASON = 500;

/** Text from a mail, made storable and cut to `max` code points. */
const storable = (text: string, max: number) => cleanText(cutByCodePoints(text, max));

async function parseMail(raw: Buffer, envelope: Envelope): Promise<Parsed> {
  let mail: ParsedMail | null = null;
  let parseError: string | null = null;
  try {
    // Large mails are parsed on a worker thread, small ones here (PARSER_OPTIONS says why its options).
    mail = await parseMime(mailParsePool, raw);
  } catch (err) {
    parseError = storable(`cannot parse the message: ${(err as Error).message}`, MAX_REASON);
  }
  const headers = new Map<string, string>();
  for (const { key, line } of mail?.headerLines ?? []) {
    if (!headers.has(key)) headers.set(key, line.slice(line.indexOf(':') + 1).trim());
  }
  const contentTypeHeader = mail?.headers.get('content-type') as { value?: string } | undefined;
  const fromHeader = mail?.from?.value.find((a) => a.address && isEmailAddress(a.address));
  const fallbackSender = envelope.mailFrom && isEmailAddress(envelope.mailFrom) ? envelope.mailFrom : null;
  const from = fromHeader
    ? { email: cleanText(fromHeader.address!), name: fromHeader.name ? storable(fromHeader.name, 200) : null }
    : fallbackSender
      ? { email: cleanText(fallbackSender), name: null }
      : null;
  const rawMessageId = normaliseMessageId(mail?.messageId);
  const messageId = rawMessageId === null ? null : cleanText(rawMessageId);
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  const attachments = mail ? attachmentsOf(mail) : [];
  return {
    mail,
    parseError,
    facts: { headers, contentType: (contentTypeHeader?.value ?? "text/plain").toLowerCase(), fromAddress: from?.email.toLowerCase() ?? null },
    messageId,
    // Without a Message-ID the digest stands in, so a resent copy is still recognised.
    messageKey: messageId ?? digest,
    digest,
    subject: mail?.subject?.trim() ? storable(mail.subject.trim(), MAX_SUBJECT) : null,
    from,
    references: referencedMessageIds(headers.get('in-reply-to'), headers.get('references')).map(cleanText),
    plusAddresses: plusAddressesOf(envelope, mail),
    text: storable((mail?.text ?? '').trim(), MAX_TEXT),
    html: mail?.html ? storable(mail.html, MAX_HTML) : null,
    attachments: attachments.slice(0, MAX_ATTACHMENTS),
    attachmentsLeftOut: Math.max(0, attachments.length - MAX_ATTACHMENTS),
  };
}

/** The recipients that are plus-addresses (at most a few: each costs a signature check). */
function plusAddressesOf(envelope: Envelope, mail: ParsedMail | null): string[] {
  const headerAddresses = [mail?.to, mail?.cc]
    .flatMap((field) => (field === undefined ? [] : Array.isArray(field) ? field : [field]))
    .flatMap((group) => group.value.map((a) => a.address ?? ''));
  const all = [...envelope.rcptTo, ...headerAddresses].filter((a) => /^[^@\s]+\+[^@\s]+@/.test(a)).map((a) => a.toLowerCase());
  return [...new Set(all)].slice(0, 8);
}

export interface IncomingMail {
  raw: Buffer;
  envelope: Envelope;
  /** The teams of the accepted recipients; null for postmaster, kept for an administrator. */
  teamIds: Array<number | null>;
  /** Set when the raw bytes were staged before the transaction (a large mail, see staging.ts). */
  rawBlobId?: number;
  /** The request (SMTP transaction) that brought it: written on its inbound mail rows, as in its log lines. */
  requestId?: string | null;
}

export type ParsedIncomingMail = IncomingMail & { parsed: Parsed };

/** Parses a mail before it joins a transaction: parsing is the CPU-heavy part and needs no lock. */
export async function parseIncomingMail(input: IncomingMail): Promise<ParsedIncomingMail> {
  return { ...input, parsed: await parseMail(input.raw, input.envelope) };
}

/** The key of a mail that reuses another sender's Message-ID: its own content decides. */
const secondKeyOf = (parsed: Parsed) => `${parsed.messageKey} ${parsed.digest}`;

const POSTMASTER_REASON = 'addressed to postmaster: kept for an administrator';

/** Rows per INSERT into inbound_mails, well under PostgreSQL's 65 535 bind parameters. */
const RECORDS_PER_INSERT = 1000;

/**
 * DATA: stores each raw mail once with its envelope and turns it into a ticket, a reply, a
 * system note or a kept record for each receiving team, all mails in one transaction with one
 * statement per kind of row. When this resolves, everything is committed and the listener may
 * answer 250; when it throws, nothing was. The mails must not depend on each other
 * (MailIntakeQueue sees to it): none shares a message key or a sender with another, and none
 * answers another.
 */
export async function receiveMails(db: DbOrTx, settings: MailSettings, mails: ParsedIncomingMail[]): Promise<ReceivedMail[][]> {
  const allUnits = mails.flatMap((mail, index) => [...new Set(mail.teamIds)].map((teamId) => ({ index, mail, teamId })));
  if (allUnits.length === 0) return mails.map(() => []);
  const units = allUnits.flatMap((u) => (u.teamId === null ? [] : [{ ...u, teamId: u.teamId }]));
  const forPostmaster = allUnits.filter((u) => u.teamId === null);
  return inTransaction(db, async (tx) => {
    // Independent lookups go out together: postgres.js pipelines them into one round trip.
    // The stored copies of these mails come in the statement that reads the routing facts.
    const originalKeys = units.length
      ? { teamIds: [...new Set(units.map((u) => u.teamId))], keys: [...new Set(units.flatMap((u) => [u.mail.parsed.messageKey, secondKeyOf(u.mail.parsed)]))] }
      : undefined;
    const facts = await routingFacts(tx, settings, units.map((unit) => ({ parsed: unit.mail.parsed, teamId: unit.teamId })), { checkLoop: true, originalKeys });
    const { originals } = facts;
    const routed = units.map((unit, i) => {
      const { parsed } = unit.mail;
      const sameKey = originals.find((o) => o.teamId === unit.teamId && o.messageKey === parsed.messageKey);
      // A Message-ID is a duplicate only from the same sender; another sender's mail is kept under its digest.
      const reused = sameKey && sameKey.fromAddress !== parsed.facts.fromAddress;
      const original = reused ? originals.find((o) => o.teamId === unit.teamId && o.messageKey === secondKeyOf(parsed)) : sameKey;
      return { ...unit, parsed, thread: facts.threads[i]!, original, messageKey: reused ? secondKeyOf(parsed) : parsed.messageKey };
    });
    const fresh = routed.filter((unit) => !unit.original);
    const rawIdsStored = storeRawMails(tx, mails, [...fresh, ...forPostmaster].map((u) => u.index));
    let results: Array<{ index: number; result: ReceivedMail }> = [];
    // The intake records go out with the new tickets' follow-up statements, in one round trip.
    const storeRecords = async (outcomes: Outcome[]) => {
      const outcomeOf = new Map(fresh.map((unit, n) => [unit, outcomes[n]!]));
      const rawIds = await rawIdsStored;
      const written = [
        ...routed.map((unit) => {
          const { original } = unit;
          // The sender retried after a lost 250: acknowledge, record the attempt, store nothing twice.
          const outcome = original
            ? { status: 'DUPLICATE' as const, reason: `duplicate of inbound mail ${original.id}`, ticketId: original.ticketId, rawMailId: null }
            : { ...outcomeOf.get(unit)!, rawMailId: rawIds.get(unit.index)! };
          return {
            index: unit.index,
            record: recordOf(unit.mail, unit.teamId, unit.messageKey, outcome),
            result: { teamId: unit.teamId as number | null, status: outcome.status, ticketId: outcome.ticketId, reason: original ? null : outcome.reason },
          };
        }),
        ...forPostmaster.map((unit) => ({
          index: unit.index,
          record: recordOf(unit.mail, null, unit.mail.parsed.messageKey, { ...kept('QUARANTINED', POSTMASTER_REASON), rawMailId: rawIds.get(unit.index)! }),
          result: { teamId: null, status: 'QUARANTINED' as const, ticketId: null, reason: POSTMASTER_REASON },
        })),
      ];
      const inserts: Array<Promise<unknown>> = [];
      for (let i = 0; i < written.length; i += RECORDS_PER_INSERT) {
        inserts.push(tx.insert(inboundMails).values(written.slice(i, i + RECORDS_PER_INSERT).map((r) => r.record)));
      }
      await Promise.all(inserts);
      results = written;
    };
    await Promise.all([routeInboundMails(tx, settings, fresh, facts, storeRecords), rawIdsStored]);
    return mails.map((_, index) => results.filter((r) => r.index === index).map((r) => r.result));
  });
}

/** A raw_mails row: the bytes themselves, or the blob they were staged in. */
const rawMailRow = (mail: IncomingMail) => ({ size: mail.raw.length, data: mail.rawBlobId === undefined ? mail.raw : null, blobId: mail.rawBlobId ?? null });

/** The raw bytes of a kept mail record, wherever they are stored. */
async function rawBytesOf(tx: DbOrTx, row: { raw: Buffer | null; rawMailId: number | null }): Promise<Buffer | null> {
  if (row.raw) return row.raw;
  if (row.rawMailId === null) return null;
  const [stored] = await tx.select({ data: rawMails.data, blobId: rawMails.blobId }).from(rawMails).where(eq(rawMails.id, row.rawMailId));
  if (!stored) return null;
  return stored.data ?? (stored.blobId === null ? null : readBlob(tx, stored.blobId));
}

/** Raw bytes per INSERT into raw_mails: small mails share a statement, a big one goes alone. */
const RAW_BYTES_PER_INSERT = 1024 * 1024;

/**
 * The raw bytes of each mail that is kept (not a mere duplicate), once per mail: mail index →
 * raw_mails id. Mails share one INSERT up to RAW_BYTES_PER_INSERT, so a group of ordinary mails
 * costs one round trip, and a batch of megabytes never has more than one big mail in flight twice.
 */
async function storeRawMails(tx: DbOrTx, mails: ParsedIncomingMail[], indexes: number[]): Promise<Map<number, number>> {
  const keptMails = [...new Set(indexes)];
  const ids = new Map<number, number>();
  for (let start = 0; start < keptMails.length; ) {
    let end = start + 1;
    for (let bytes = mails[keptMails[start]!]!.raw.length; end < keptMails.length && bytes + mails[keptMails[end]!]!.raw.length <= RAW_BYTES_PER_INSERT; end++) {
      bytes += mails[keptMails[end]!]!.raw.length;
    }
    const group = keptMails.slice(start, end);
    const rows = await tx
      .insert(rawMails)
      .values(group.map((index) => rawMailRow(mails[index]!)))
      .returning({ id: rawMails.id, size: rawMails.size });
    // A multi-row VALUES insert returns its rows in order; checked, since ids are paired by it.
    if (rows.length !== group.length || rows.some((row, n) => row.size !== mails[group[n]!]!.raw.length)) throw new Error('inserted raw mails came back out of order');
    group.forEach((index, n) => ids.set(index, rows[n]!.id));
    start = end;
  }
  return ids;
}

/**
 * Keeps a mail that could not be stored the usual way (the database refused some part of it):
 * its raw bytes, QUARANTINED with the reason, one record per receiving team, so the sender gets
 * 250 and a person can look at it. Throws when even that fails (then the sender retries).
 */
export async function quarantineUnstorableMail(db: DbOrTx, mail: ParsedIncomingMail, cause: unknown): Promise<ReceivedMail[]> {
  const reason = storable(`${UNSTORED} (${sqlStateOf(cause) ?? 'error'}): ${causeMessage(cause)}`, MAX_REASON);
  const teamIds = mail.teamIds.length ? [...new Set(mail.teamIds)] : [null];
  return inTransaction(db, async (tx) => {
    const [raw] = await tx.insert(rawMails).values(rawMailRow(mail)).returning({ id: rawMails.id });
    // The usual key could be what the database refused, or already taken: the digest is neither.
    const records = teamIds.map((teamId) => ({
      ...recordOf(mail, teamId, mail.parsed.digest, { ...kept('QUARANTINED', reason), rawMailId: raw!.id }),
      messageId: null,
      subject: null,
      fromAddress: null,
    }));
    await tx.insert(inboundMails).values(records).onConflictDoNothing();
    return teamIds.map((teamId) => ({ teamId, status: 'QUARANTINED' as const, ticketId: null, reason }));
  });
}

/**
 * How quarantine reasons of unstorable mail begin: "(SQLSTATE)" or "(error)" follows, or
 * "(retried)" once an automatic retry failed. Earlier versions wrote a colon at once, also when
 * the database was only away: those are retried by `retryUnstoredQuarantines`.
 */
const UNSTORED = 'could not be stored';

/** The SQLSTATE of the database's refusal, when the database refused. */
function sqlStateOf(err: unknown): string | null {
  for (let current = err as { code?: unknown; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code)) return `SQLSTATE ${current.code}`;
  }
  return null;
}

/** The innermost message of an error: drizzle wraps the driver's error as `cause`. */
function causeMessage(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  while (current?.cause) current = current.cause as typeof current;
  return String(current?.message ?? err);
}

function recordOf(
  mail: { parsed: Parsed; raw: Buffer; envelope: Envelope; requestId?: string | null },
  teamId: number | null,
  messageKey: string,
  outcome: { status: InboundMailStatus; reason: string | null; ticketId: number | null; ticketMessageId?: number | null; createdTicket?: boolean; rawMailId: number | null },
) {
  const { parsed, envelope } = mail;
  return {
    teamId,
    status: outcome.status,
    reason: outcome.reason,
    ticketId: outcome.ticketId,
    ticketMessageId: outcome.ticketMessageId ?? null,
    createdTicket: outcome.createdTicket ?? false,
    messageKey,
    messageId: parsed.messageId,
    envelope: {
      mailFrom: envelope.mailFrom === null ? null : cleanText(envelope.mailFrom),
      rcptTo: envelope.rcptTo.map(cleanText),
      remoteAddress: envelope.remoteAddress ?? null,
    },
    fromAddress: parsed.facts.fromAddress,
    subject: parsed.subject,
    size: mail.raw.length,
    rawMailId: outcome.rawMailId,
    requestId: mail.requestId ?? null,
  };
}

interface Outcome {
  status: InboundMailStatus;
  reason: string | null;
  ticketId: number | null;
  ticketMessageId: number | null;
  createdTicket: boolean;
}

const kept = (status: InboundMailStatus, reason: string, ticketId: number | null = null, ticketMessageId: number | null = null): Outcome => ({
  status,
  reason,
  ticketId,
  ticketMessageId,
  createdTicket: false,
});

interface StoredMail {
  id: number;
  ticketId: number | null;
  teamId: number | null;
  messageKey: string;
  fromAddress: string | null;
}

interface RoutingFacts {
  /** Per unit: the ticket the mail answers, or null. */
  threads: Array<number | null>;
  ownAddresses: Set<string>;
  /** New tickets per sender within the loop window; empty when the loop guard is off. */
  recentTickets: Map<string, number>;
  /** Stored mails (not duplicates) of `originalKeys`' teams under those keys. */
  originals: StoredMail[];
  /** The receiving teams that acknowledge new tickets by mail. */
  acknowledging: Set<number>;
}

/**
 * What routing reads from the database, for all the mails at once: our own alias addresses, the
 * loop guard's counts and the stored copies of the mails (the dedupe) in one statement, threads
 * beside it.
 */
async function routingFacts(
  tx: DbOrTx,
  settings: MailSettings,
  units: Array<{ parsed: Parsed; teamId: number }>,
  options: { checkLoop: boolean; originalKeys?: { teamIds: number[]; keys: string[] } },
): Promise<RoutingFacts> {
  const senders = units.map((u) => u.parsed.facts.fromAddress).filter((a): a is string => a !== null);
  const [threads, lookups] = await Promise.all([
    threadTargets(tx, settings, units),
    intakeLookups(tx, {
      originals: options.originalKeys,
      senders: options.checkLoop ? senders : [],
      windowMinutes: settings.mailLoopWindowMinutes,
      teamIds: [...new Set(units.map((u) => u.teamId))],
    }),
  ]);
  return { threads, ...lookups };
}

/** A JSON array parameter as a set to test `in`: drizzle would spread a JS array into one parameter per value. */
const textSet = (values: string[]) => sql`(select value from json_array_elements_text(${JSON.stringify(values)}::text::json))`;
const intSet = (values: number[]) => sql`(select value::int from json_array_elements_text(${JSON.stringify(values)}::text::json))`;

/**
 * Every alias address in use (mail from one is our own, looping back), the new tickets each
 * sender opened by mail within the loop window, and the stored mails under the given keys: one
 * round trip for what a group of mails needs to read before it is routed.
 */
async function intakeLookups(
  tx: DbOrTx,
  input: { originals?: { teamIds: number[]; keys: string[] }; senders: string[]; windowMinutes: number; teamIds: number[] },
): Promise<Omit<RoutingFacts, 'threads'>> {
  const parts = [
    sql`select 'alias' as kind, null::int as id, null::int as ticket_id, null::int as team_id, alias_local_part || '@' || alias_domain as message_key, null::text as from_address, null::int as n
      from teams where alias_local_part is not null and alias_domain is not null`,
  ];
  if (input.originals) {
    parts.push(sql`select 'original', id, ticket_id, team_id, message_key, from_address, null from inbound_mails
      where team_id in ${intSet(input.originals.teamIds)} and message_key in ${textSet(input.originals.keys)} and status <> 'DUPLICATE'`);
  }
  if (input.teamIds.length) {
    parts.push(sql`select 'acknowledging', id, null, null, null, null, null from teams where acknowledge_new_tickets and id in ${intSet(input.teamIds)}`);
  }
  if (input.senders.length) {
    parts.push(sql`select 'recent', null, null, null, null, from_address, count(*)::int from inbound_mails
      where from_address in ${textSet([...new Set(input.senders)])} and created_ticket and received_at > now() - make_interval(mins => ${input.windowMinutes}::int)
      group by from_address`);
  }
  type Row = { kind: 'alias' | 'original' | 'recent' | 'acknowledging'; id: number | null; ticket_id: number | null; team_id: number | null; message_key: string | null; from_address: string | null; n: number | null };
  const rows = await queryRows<Row>(tx, sql.join(parts, sql` union all `));
  const result: Omit<RoutingFacts, 'threads'> = { ownAddresses: new Set(), recentTickets: new Map(), originals: [], acknowledging: new Set() };
  for (const row of rows) {
    if (row.kind === 'alias') result.ownAddresses.add(row.message_key!);
    else if (row.kind === 'acknowledging') result.acknowledging.add(row.id!);
    else if (row.kind === 'recent') result.recentTickets.set(row.from_address!, row.n!);
    else result.originals.push({ id: row.id!, ticketId: row.ticket_id, teamId: row.team_id, messageKey: row.message_key!, fromAddress: row.from_address });
  }
  return result;
}

/**
 * Decides what each team does with its parsed mail, and does it inside the caller's
 * transaction. New tickets take one statement per kind of row for all the mails; replies and
 * notes (the rarer outcomes) are written one by one.
 */
async function routeInboundMails(
  tx: DbOrTx,
  settings: MailSettings,
  units: Array<{ parsed: Parsed; teamId: number; thread: number | null }>,
  facts: RoutingFacts,
  /** The caller's writes of the outcomes, sent with the new tickets' own follow-up statements. */
  storeOutcomes?: (outcomes: Outcome[]) => Promise<void>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const creating: Array<{ i: number; input: NewTicket; note: string | null }> = [];

  for (const [i, { parsed, teamId, thread }] of units.entries()) {
    if (!parsed.mail) {
      outcomes[i] = kept('QUARANTINED', parsed.parseError ?? 'cannot parse the message');
      continue;
    }
    const { text, html, attachments } = parsed;
    // The raw message keeps every attachment; the ticket gets the first MAX_ATTACHMENTS.
    const attachmentNote = parsed.attachmentsLeftOut ? `${parsed.attachmentsLeftOut} attachments beyond the first ${MAX_ATTACHMENTS} are only in the raw message` : null;
    const automated = automatedReason(parsed.facts, facts.ownAddresses);
    const sender = parsed.facts.fromAddress;
    if (automated && !thread) {
      outcomes[i] = kept('IGNORED', automated);
    } else if (automated) {
      const kind = isBounce(parsed.facts) ? 'Delivery failure report' : 'Automatic reply';
      const note = await addSystemNote(tx, {
        ticketId: thread!,
        body: `${kind} from ${parsed.from?.email ?? 'an unknown sender'}: ${parsed.subject ?? '(no subject)'}\n\n${cutByCodePoints(text, 4000)}`,
      });
      outcomes[i] = kept('IGNORED', automated, thread, note.messageId);
    } else if (thread && !parsed.from) {
      outcomes[i] = kept('QUARANTINED', 'a reply without a usable sender address');
    } else if (thread) {
      const reply = await addCustomerMessage(tx, { ticketId: thread, customer: parsed.from!, bodyText: text, bodyHtml: html, attachments });
      outcomes[i] = { status: 'PROCESSED', reason: attachmentNote, ticketId: thread, ticketMessageId: reply.messageId, createdTicket: false };
    } else if (sender && (facts.recentTickets.get(sender) ?? 0) >= settings.mailLoopMaxTickets) {
      outcomes[i] = kept('QUARANTINED', `more than ${settings.mailLoopMaxTickets} new tickets from ${sender} within ${settings.mailLoopWindowMinutes} minutes: possible mail loop`);
    } else {
      const input: NewTicket = {
        teamId,
        channel: 'EMAIL',
        title: cutByCodePoints(parsed.subject ?? '(no subject)', MAX_TITLE),
        description: text,
        descriptionHtml: html,
        customer: parsed.from,
        attachments,
      };
      // Input the ticket rules refuse: kept for a person to look at.
      const refusals = validateNewTicket(input).errors;
      if (refusals.length) outcomes[i] = kept('QUARANTINED', storable(`refused by ticket rules: ${refusals.map((e) => e.message).join(' ')}`, MAX_REASON));
      else creating.push({ i, input, note: attachmentNote });
    }
  }

  // New tickets, the common outcome, go in together; the teams the acknowledgements need (when
  // one of them acknowledges) are read in the same round trip as the tickets themselves.
  const acknowledging = creating.filter((c) => c.input.customer && facts.acknowledging.has(c.input.teamId));
  const acknowledged = new Set(acknowledging.map((c) => c.input));
  const teamsRead = acknowledging.length ? findTeams(tx, [...new Set(acknowledging.map((c) => c.input.teamId))]) : undefined;
  teamsRead?.catch(() => {}); // a failure fails the transaction; awaited below when it gets that far
  const created = await createTickets(
    tx,
    creating.map((c) => c.input),
    async (created) => {
      creating.forEach(({ i, note }, n) => (outcomes[i] = { status: 'PROCESSED', reason: note, ticketId: created[n]!.id, ticketMessageId: null, createdTicket: true }));
      await storeOutcomes?.(outcomes);
    },
  );
  await acknowledgeNewTickets(
    tx,
    settings,
    creating.flatMap(({ i, input }, n) => {
      if (!acknowledged.has(input)) return [];
      const { parsed } = units[i]!;
      const headers = parsed.facts.headers;
      return [{ ticket: created[n]!, customer: parsed.from, language: headers.get('content-language') ?? headers.get('accept-language') ?? null, automated: null, messageId: parsed.messageId }];
    }),
    teamsRead,
  );
  return outcomes;
}

/**
 * The ticket each mail answers: a stored message it names in In-Reply-To/References; else a
 * "[#n]" subject tag, but only from that ticket's own customer.
 */
async function threadTargets(tx: DbOrTx, settings: MailSettings, units: Array<{ parsed: Parsed; teamId: number }>): Promise<Array<number | null>> {
  const referenced = [...new Set(units.flatMap((u) => (u.parsed.mail ? u.parsed.references : [])))];
  const tagged = units.flatMap(({ parsed }, i) => {
    const number = parsed.mail ? subjectTicketNumber(parsed.mail.subject) : null;
    return number !== null && parsed.facts.fromAddress ? [{ i, number, sender: parsed.facts.fromAddress }] : [];
  });
  const withTokens = units.some((u) => u.parsed.mail && u.parsed.plusAddresses.length);
  const signer = withTokens ? await mailSigner(tx, settings) : null;
  const tokenTickets = units.map(({ parsed }) => {
    if (!signer || !parsed.mail) return [];
    return parsed.plusAddresses.map((a) => ticketOfReplyAddress(signer, a)).filter((id): id is number => id !== null);
  });
  const [stored, numbered, senders, ours] = await Promise.all([
    referenced.length
      ? tx
          .select({ messageId: inboundMails.messageId, ticketId: inboundMails.ticketId, teamId: inboundMails.teamId })
          .from(inboundMails)
          .where(and(inArray(inboundMails.teamId, [...new Set(units.map((u) => u.teamId))]), inArray(inboundMails.messageId, referenced), isNotNull(inboundMails.ticketId)))
      : [],
    findTicketsByNumbers(tx, tagged.map((t) => t.number)),
    customerIdsByEmail(tx, tagged.map((t) => t.sender)),
    referenced.length ? ticketsOfOutboundMessageIds(tx, referenced) : new Map<string, number>(),
  ]);
  // The teams of the tickets named by a token or by one of our Message-IDs: a ticket is answered through its own team.
  const teamOf = new Map((await findTickets(tx, [...tokenTickets.flat(), ...ours.values()])).map((t) => [t.id, t.teamId]));
  const targets = units.map(({ parsed, teamId }, i) => {
    if (!parsed.mail) return null;
    // The signed Reply-To names the ticket even when a provider rewrote our Message-ID or the subject changed.
    const named = tokenTickets[i]!.find((id) => teamOf.get(id) === teamId);
    if (named !== undefined) return named;
    for (const id of parsed.references) {
      const hit = stored.find((r) => r.messageId === id && r.teamId === teamId);
      if (hit) return hit.ticketId;
      const sent = ours.get(id);
      if (sent !== undefined && teamOf.get(sent) === teamId) return sent;
    }
    return null;
  });
  for (const { i, number, sender } of tagged) {
    if (targets[i] !== null) continue;
    const ticket = numbered.find((t) => t.number === number);
    const customerId = senders.get(sender.toLowerCase());
    if (ticket && ticket.teamId === units[i]!.teamId && ticket.customerId !== null && customerId === ticket.customerId) targets[i] = ticket.id;
  }
  return targets;
}

function attachmentsOf(mail: ParsedMail): NewAttachment[] {
  return mail.attachments.map((a, i) => ({
    filename: a.filename ? storable(a.filename, 255) : `attachment-${i + 1}`,
    contentType: a.contentType ? storable(a.contentType, 255) : 'application/octet-stream',
    contentId: a.cid ? storable(a.cid, 255) : null,
    data: a.content,
  }));
}

/** Runs a kept mail through routing again (after a fix, or to release a quarantined sender). */
export async function reprocessInboundMail(db: DbOrTx, settings: MailSettings, input: { id: number }): Promise<InboundMailRow> {
  return inTransaction(db, async (tx) => {
    const [row] = await tx.select().from(inboundMails).where(eq(inboundMails.id, input.id)).for('update');
    if (!row) fail('id', 'NOT_FOUND', 'No inbound mail has this id.');
    if (row.status !== 'QUARANTINED' && row.status !== 'IGNORED') fail('id', 'ALREADY_PROCESSED', `Only QUARANTINED or IGNORED mail can be reprocessed; this one is ${row.status}.`);
    const raw = await rawBytesOf(tx, row);
    if (!raw || row.teamId === null) fail('id', 'NOTHING_TO_REPROCESS', 'The raw message or its team is gone.');
    const parsed = await parseMail(raw, row.envelope);
    // An explicit reprocess releases the sender from the loop quarantine.
    const unit = { parsed, teamId: row.teamId };
    const facts = await routingFacts(tx, settings, [unit], { checkLoop: false });
    const [outcome] = await routeInboundMails(tx, settings, [{ ...unit, thread: facts.threads[0]! }], facts);
    const [updated] = await tx.update(inboundMails).set(outcome!).where(eq(inboundMails.id, row.id)).returning();
    return updated!;
  });
}


/** Quarantined mail whose storing an automatic retry may still cure, oldest first. */
async function unstoredQuarantines(db: DbOrTx, limit: number): Promise<number[]> {
  const rows = await db
    .select({ id: inboundMails.id })
    .from(inboundMails)
    .where(and(eq(inboundMails.status, 'QUARANTINED'), sql`(${inboundMails.reason} like ${`${UNSTORED}: %`} or ${inboundMails.reason} like ${`${UNSTORED} (error): %`})`))
    .orderBy(inboundMails.id)
    .limit(limit);
  return rows.map((r) => r.id);
}

/**
 * Stores again, once, the mails quarantined because they could not be stored for a reason other
 * than their content: earlier versions quarantined mail when the database was away, and the
 * sender, told 250, never sent it again. Throws on a transient failure (the next round tries
 * again); any other failure is written into the reason, so the mail is left to a person.
 */
export async function retryUnstoredQuarantines(db: DbOrTx, settings: MailSettings, isTransient: (err: unknown) => boolean, limit = 50): Promise<number> {
  let done = 0;
  for (const id of await unstoredQuarantines(db, limit)) {
    try {
      await storeQuarantinedAgain(db, settings, id);
    } catch (err) {
      if (isTransient(err)) throw err;
      const reason = storable(`${UNSTORED} (retried): ${causeMessage(err)}`, MAX_REASON);
      await db.update(inboundMails).set({ reason }).where(and(eq(inboundMails.id, id), eq(inboundMails.status, 'QUARANTINED')));
    }
    done++;
  }
  return done;
}

/** Routes a quarantined mail as if it had just arrived, giving its record back the mail's identity. */
async function storeQuarantinedAgain(db: DbOrTx, settings: MailSettings, id: number): Promise<void> {
  await inTransaction(db, async (tx) => {
    const [row] = await tx.select().from(inboundMails).where(and(eq(inboundMails.id, id), eq(inboundMails.status, 'QUARANTINED'))).for('update', { skipLocked: true });
    if (!row) return; // done meanwhile, or by another instance right now
    const raw = await rawBytesOf(tx, row);
    if (!raw) throw new Error('the raw message is gone');
    const parsed = await parseMail(raw, row.envelope);
    const identity = { messageId: parsed.messageId, subject: parsed.subject, fromAddress: parsed.facts.fromAddress };
    if (row.teamId === null) {
      await tx.update(inboundMails).set({ ...identity, messageKey: parsed.messageKey, reason: POSTMASTER_REASON }).where(eq(inboundMails.id, row.id));
      return;
    }
    const teamId = row.teamId;
    const stored = await tx
      .select({ id: inboundMails.id, ticketId: inboundMails.ticketId, messageKey: inboundMails.messageKey, fromAddress: inboundMails.fromAddress })
      .from(inboundMails)
      .where(and(eq(inboundMails.teamId, teamId), inArray(inboundMails.messageKey, [parsed.messageKey, secondKeyOf(parsed)]), ne(inboundMails.status, 'DUPLICATE'), ne(inboundMails.id, row.id)));
    // As at intake: a Message-ID is a duplicate only from the same sender.
    const sameKey = stored.find((o) => o.messageKey === parsed.messageKey);
    const reused = sameKey && sameKey.fromAddress !== parsed.facts.fromAddress;
    const original = reused ? stored.find((o) => o.messageKey === secondKeyOf(parsed)) : sameKey;
    const messageKey = reused ? secondKeyOf(parsed) : parsed.messageKey;
    if (original) {
      // The sender sent it again meanwhile and that copy was stored: this record is the duplicate.
      await tx
        .update(inboundMails)
        .set({ ...identity, messageKey, status: 'DUPLICATE', reason: `duplicate of inbound mail ${original.id}`, ticketId: original.ticketId })
        .where(eq(inboundMails.id, row.id));
      return;
    }
    const unit = { parsed, teamId };
    const facts = await routingFacts(tx, settings, [unit], { checkLoop: true });
    const [outcome] = await routeInboundMails(tx, settings, [{ ...unit, thread: facts.threads[0]! }], facts);
    await tx.update(inboundMails).set({ ...outcome!, ...identity, messageKey }).where(eq(inboundMails.id, row.id));
  });
}
