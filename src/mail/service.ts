import { createHash } from 'node:crypto';
import { and, count, eq, gt, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import { simpleParser, type ParsedMail } from 'mailparser';
import { inTransaction, type DbOrTx } from '../db/client.js';
import { fail, UserInputError } from '../errors.js';
import {
  aliasAddresses,
  DEFAULT_REFUSAL_TEXT,
  findTeamByAlias,
  listMailDomains,
  type MailSettings as TeamMailSettings,
} from '../teams/service.js';
import { isEmailAddress } from '../tickets/email-address.js';
import {
  addCustomerMessage,
  addSystemNote,
  createTicket,
  findCustomerByEmail,
  findTicketByNumber,
  type NewAttachment,
} from '../tickets/service.js';
import { automatedReason, isBounce, normaliseMessageId, referencedMessageIds, subjectTicketNumber, type MailFacts } from './classify.js';
import { inboundMails } from './tables.js';

export type InboundMailRow = typeof inboundMails.$inferSelect;
export type InboundMailStatus = InboundMailRow['status'];

export interface MailSettings extends TeamMailSettings {
  mailLoopMaxTickets: number;
  mailLoopWindowMinutes: number;
}

export interface Envelope {
  mailFrom: string | null;
  rcptTo: string[];
  remoteAddress?: string | null;
}

/** What the SMTP listener answers to RCPT TO. */
export type RecipientDecision = { accept: true; teamId: number } | { accept: false; code: 550; message: string };

/**
 * RCPT TO: only aliases of teams whose email channel is on, on a domain we serve, from a
 * sender the alias's contact policy lets in. We are not a relay.
 */
export async function checkRecipient(db: DbOrTx, settings: MailSettings, address: string, mailFrom: string | null): Promise<RecipientDecision> {
  const at = address.lastIndexOf('@');
  const localPart = address.slice(0, at).toLowerCase();
  const domain = address.slice(at + 1).toLowerCase();
  if (at < 1 || !(await listMailDomains(db, settings)).includes(domain)) {
    return { accept: false, code: 550, message: `5.7.1 <${address}>: relaying denied, we only receive mail for our own domains` };
  }
  const team = await findTeamByAlias(db, localPart, domain);
  if (!team || !team.useEmailAlias) return { accept: false, code: 550, message: `5.1.1 <${address}>: no such mailbox` };
  // Bounces come with an empty sender and must reach us whatever the policy.
  if (team.aliasContactPolicy === 'KNOWN_CUSTOMERS' && mailFrom && !(await findCustomerByEmail(db, mailFrom))) {
    return { accept: false, code: 550, message: `5.7.1 ${team.aliasRefusalText ?? DEFAULT_REFUSAL_TEXT}` };
  }
  return { accept: true, teamId: team.id };
}

export interface ReceivedMail {
  teamId: number;
  status: InboundMailStatus;
  ticketId: number | null;
  reason: string | null;
}

interface Parsed {
  mail: ParsedMail | null;
  parseError: string | null;
  facts: MailFacts;
  messageId: string | null;
  messageKey: string;
  subject: string | null;
  from: { email: string; name: string | null } | null;
}

async function parseMail(raw: Buffer, envelope: Envelope): Promise<Parsed> {
  let mail: ParsedMail | null = null;
  let parseError: string | null = null;
  try {
    mail = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true, maxHtmlLengthToParse: 5 * 1024 * 1024 });
  } catch (err) {
    parseError = `cannot parse the message: ${(err as Error).message}`.slice(0, 500);
  }
  const headers = new Map<string, string>();
  for (const { key, line } of mail?.headerLines ?? []) {
    if (!headers.has(key)) headers.set(key, line.slice(line.indexOf(':') + 1).trim());
  }
  const contentTypeHeader = mail?.headers.get('content-type') as { value?: string } | undefined;
  const fromHeader = mail?.from?.value.find((a) => a.address && isEmailAddress(a.address));
  const fallbackSender = envelope.mailFrom && isEmailAddress(envelope.mailFrom) ? envelope.mailFrom : null;
  const from = fromHeader ? { email: fromHeader.address!, name: fromHeader.name || null } : fallbackSender ? { email: fallbackSender, name: null } : null;
  const messageId = normaliseMessageId(mail?.messageId);
  return {
    mail,
    parseError,
    facts: { headers, contentType: (contentTypeHeader?.value ?? "text/plain").toLowerCase(), fromAddress: from?.email.toLowerCase() ?? null },
    messageId,
    // Without a Message-ID a digest of the raw bytes stands in, so a resent copy is still recognised.
    messageKey: messageId ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    subject: mail?.subject?.trim() || null,
    from,
  };
}

/**
 * DATA: stores the raw mail with its envelope and turns it into a ticket, a reply, a system
 * note or a kept record, one transaction per receiving team. When this resolves, everything
 * is committed and the listener may answer 250; when it throws, nothing was and it answers 451.
 */
export async function receiveMail(db: DbOrTx, settings: MailSettings, input: { raw: Buffer; envelope: Envelope; teamIds: number[] }): Promise<ReceivedMail[]> {
  const parsed = await parseMail(input.raw, input.envelope);
  const results: ReceivedMail[] = [];
  for (const teamId of [...new Set(input.teamIds)]) {
    results.push(
      await inTransaction(db, async (tx) => {
        const [original] = await tx
          .select({ id: inboundMails.id, ticketId: inboundMails.ticketId })
          .from(inboundMails)
          .where(and(eq(inboundMails.teamId, teamId), eq(inboundMails.messageKey, parsed.messageKey), ne(inboundMails.status, 'DUPLICATE')));
        if (original) {
          // The sender retried after a lost 250: acknowledge, record the attempt, store nothing twice.
          await tx.insert(inboundMails).values(recordOf(parsed, input, teamId, { status: 'DUPLICATE', reason: `duplicate of inbound mail ${original.id}`, ticketId: original.ticketId, raw: null }));
          return { teamId, status: 'DUPLICATE' as const, ticketId: original.ticketId, reason: null };
        }
        const outcome = await routeInboundMail(tx, settings, parsed, teamId, { checkLoop: true });
        await tx.insert(inboundMails).values(recordOf(parsed, input, teamId, { ...outcome, raw: input.raw }));
        return { teamId, status: outcome.status, ticketId: outcome.ticketId, reason: outcome.reason };
      }),
    );
  }
  return results;
}

function recordOf(
  parsed: Parsed,
  input: { raw: Buffer; envelope: Envelope },
  teamId: number,
  outcome: { status: InboundMailStatus; reason: string | null; ticketId: number | null; ticketMessageId?: number | null; createdTicket?: boolean; raw: Buffer | null },
) {
  return {
    teamId,
    status: outcome.status,
    reason: outcome.reason,
    ticketId: outcome.ticketId,
    ticketMessageId: outcome.ticketMessageId ?? null,
    createdTicket: outcome.createdTicket ?? false,
    messageKey: parsed.messageKey,
    messageId: parsed.messageId,
    envelope: { mailFrom: input.envelope.mailFrom, rcptTo: input.envelope.rcptTo, remoteAddress: input.envelope.remoteAddress ?? null },
    fromAddress: parsed.facts.fromAddress,
    subject: parsed.subject?.slice(0, 1000) ?? null,
    size: input.raw.length,
    raw: outcome.raw,
  };
}

interface Outcome {
  status: InboundMailStatus;
  reason: string | null;
  ticketId: number | null;
  ticketMessageId: number | null;
  createdTicket: boolean;
}

const MAX_TITLE = 300;
const MAX_TEXT = 200_000;

/** Decides what one team does with a parsed mail, and does it inside the caller's transaction. */
async function routeInboundMail(tx: DbOrTx, settings: MailSettings, parsed: Parsed, teamId: number, options: { checkLoop: boolean }): Promise<Outcome> {
  const kept = (status: InboundMailStatus, reason: string, ticketId: number | null = null, ticketMessageId: number | null = null): Outcome => ({
    status,
    reason,
    ticketId,
    ticketMessageId,
    createdTicket: false,
  });
  if (!parsed.mail) return kept('QUARANTINED', parsed.parseError ?? 'cannot parse the message');
  const mail = parsed.mail;
  const text = (mail.text ?? '').trim().slice(0, MAX_TEXT);
  const thread = await threadTarget(tx, parsed, teamId);

  const automated = automatedReason(parsed.facts, await aliasAddresses(tx));
  if (automated) {
    if (!thread) return kept('IGNORED', automated);
    const kind = isBounce(parsed.facts) ? 'Delivery failure report' : 'Automatic reply';
    const note = await addSystemNote(tx, {
      ticketId: thread,
      body: `${kind} from ${parsed.from?.email ?? 'an unknown sender'}: ${parsed.subject ?? '(no subject)'}\n\n${text.slice(0, 4000)}`,
    });
    return kept('IGNORED', automated, thread, note.messageId);
  }

  try {
    if (thread) {
      if (!parsed.from) return kept('QUARANTINED', 'a reply without a usable sender address');
      const reply = await addCustomerMessage(tx, {
        ticketId: thread,
        customer: parsed.from,
        bodyText: text,
        bodyHtml: mail.html || null,
        attachments: attachmentsOf(mail),
      });
      return { status: 'PROCESSED', reason: null, ticketId: thread, ticketMessageId: reply.messageId, createdTicket: false };
    }
    if (options.checkLoop && parsed.facts.fromAddress && (await recentTicketCount(tx, parsed.facts.fromAddress, settings.mailLoopWindowMinutes)) >= settings.mailLoopMaxTickets) {
      return kept('QUARANTINED', `more than ${settings.mailLoopMaxTickets} new tickets from ${parsed.facts.fromAddress} within ${settings.mailLoopWindowMinutes} minutes: possible mail loop`);
    }
    const ticket = await createTicket(tx, {
      teamId,
      channel: 'EMAIL',
      title: (parsed.subject ?? '(no subject)').slice(0, MAX_TITLE),
      description: text,
      descriptionHtml: mail.html || null,
      customer: parsed.from,
      attachments: attachmentsOf(mail),
    });
    return { status: 'PROCESSED', reason: null, ticketId: ticket.id, ticketMessageId: null, createdTicket: true };
  } catch (err) {
    // Input the ticket rules refuse (checked before anything is written): kept for a person to look at.
    if (err instanceof UserInputError) return kept('QUARANTINED', `refused by ticket rules: ${err.message}`.slice(0, 500));
    throw err;
  }
}

/**
 * The ticket a mail answers: a stored message it names in In-Reply-To/References; else a
 * "[#n]" subject tag, but only from that ticket's own customer.
 */
async function threadTarget(tx: DbOrTx, parsed: Parsed, teamId: number): Promise<number | null> {
  const mail = parsed.mail!;
  const header = (name: string) => parsed.facts.headers.get(name);
  const ids = referencedMessageIds(header('in-reply-to'), header('references'));
  if (ids.length > 0) {
    const rows = await tx
      .select({ messageId: inboundMails.messageId, ticketId: inboundMails.ticketId })
      .from(inboundMails)
      .where(and(eq(inboundMails.teamId, teamId), inArray(inboundMails.messageId, ids), isNotNull(inboundMails.ticketId)));
    for (const id of ids) {
      const hit = rows.find((r) => r.messageId === id);
      if (hit) return hit.ticketId;
    }
  }
  const number = subjectTicketNumber(mail.subject);
  if (number !== null && parsed.facts.fromAddress) {
    const ticket = await findTicketByNumber(tx, number);
    if (ticket && ticket.teamId === teamId && ticket.customerId !== null) {
      const customer = await findCustomerByEmail(tx, parsed.facts.fromAddress);
      if (customer?.id === ticket.customerId) return ticket.id;
    }
  }
  return null;
}

async function recentTicketCount(tx: DbOrTx, fromAddress: string, windowMinutes: number): Promise<number> {
  const [row] = await tx
    .select({ n: count() })
    .from(inboundMails)
    .where(
      and(
        eq(inboundMails.fromAddress, fromAddress),
        eq(inboundMails.createdTicket, true),
        gt(inboundMails.receivedAt, sql`now() - make_interval(mins => ${windowMinutes})`),
      ),
    );
  return row?.n ?? 0;
}

function attachmentsOf(mail: ParsedMail): NewAttachment[] {
  return mail.attachments.map((a, i) => ({
    filename: a.filename || `attachment-${i + 1}`,
    contentType: a.contentType || 'application/octet-stream',
    contentId: a.cid ?? null,
    data: a.content,
  }));
}

/** Runs a kept mail through routing again (after a fix, or to release a quarantined sender). */
export async function reprocessInboundMail(db: DbOrTx, settings: MailSettings, input: { id: number }): Promise<InboundMailRow> {
  return inTransaction(db, async (tx) => {
    const [row] = await tx.select().from(inboundMails).where(eq(inboundMails.id, input.id)).for('update');
    if (!row) fail('id', 'NOT_FOUND', 'No inbound mail has this id.');
    if (row.status !== 'QUARANTINED' && row.status !== 'IGNORED') fail('id', 'ALREADY_PROCESSED', `Only QUARANTINED or IGNORED mail can be reprocessed; this one is ${row.status}.`);
    if (!row.raw || row.teamId === null) fail('id', 'NOTHING_TO_REPROCESS', 'The raw message or its team is gone.');
    const parsed = await parseMail(row.raw, row.envelope);
    // An explicit reprocess releases the sender from the loop quarantine.
    const outcome = await routeInboundMail(tx, settings, parsed, row.teamId, { checkLoop: false });
    const [updated] = await tx.update(inboundMails).set(outcome).where(eq(inboundMails.id, row.id)).returning();
    return updated!;
  });
}

