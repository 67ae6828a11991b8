import { and, asc, eq, isNotNull } from 'drizzle-orm';
import { inTransaction, type DbOrTx } from '../db/client.js';
import { ErrorCollector, fail, requiredText } from '../errors.js';
import { outboundMessageIdsOfTicket } from '../outbound/history.js';
import { newMessageId, queueOutboundMail, type OutboundMailRow, type QueueSettings } from '../outbound/service.js';
import { mailSigner } from '../outbound/signing.js';
import { findTeam, type TeamRow } from '../teams/service.js';
import { isLongerThan } from '../text/clean.js';
import { isEmailAddress } from '../text/email-address.js';
import { sanitizeMessageHtml, textToHtml } from '../text/html.js';
import { addAgentMessage, type NoteAuthor } from '../tickets/chatter.js';
import { findCustomer } from '../tickets/customers.js';
import type { TicketMessageRow, TicketRow } from '../tickets/service.js';
import { formatAddress, htmlDocument, replySubject, threadHeaders, ticketReplyAddress } from './compose.js';
import { inboundMails } from './tables.js';

/** What sending mail about a ticket needs of the installation (Config has it all). */
export interface OutgoingMailSettings extends QueueSettings {
  mailSigningSecret?: string | undefined;
}

const MAX_BODY = 200_000;
const MAX_HTML = 2_000_000;
const MAX_CC = 20;

export interface ReplyInput {
  ticketId: number;
  /** Plain text; the HTML part is made from it unless `bodyHtml` is given. */
  body: string;
  /** HTML of the same reply, sanitised like inbound HTML; replaces the one made from `body`. */
  bodyHtml?: string | null;
  cc?: readonly string[] | null;
  author: NoteAuthor;
}

/**
 * An agent answers the customer: an AGENT message on the chatter and its mail to the customer,
 * queued in the same transaction (so the mail exists exactly when the message does). Refused
 * with NO_CUSTOMER_ADDRESS when the customer has no address.
 */
export async function replyToTicket(db: DbOrTx, settings: OutgoingMailSettings, input: ReplyInput): Promise<{ ticket: TicketRow; message: TicketMessageRow; mail: OutboundMailRow }> {
  const errors = new ErrorCollector();
  const body = requiredText(errors, 'body', input.body, MAX_BODY);
  const html = input.bodyHtml?.trim() ? input.bodyHtml : null;
  if (html !== null && isLongerThan(html, MAX_HTML)) errors.add('bodyHtml', 'TOO_LONG', `bodyHtml must be at most ${MAX_HTML} characters.`);
  const cc = checkedCc(errors, input.cc ?? []);
  errors.throwIfAny();
  const bodyHtml = html === null ? textToHtml(body, { links: true }) : sanitizeMessageHtml(html);

  return inTransaction(db, async (tx) => {
    const signer = await mailSigner(tx, settings);
    const { ticket, message, result } = await addAgentMessage(tx, { ticketId: input.ticketId, bodyText: body, bodyHtml, author: input.author }, async (tx, ticket, message) => {
      const customer = ticket.customerId === null ? undefined : await findCustomer(tx, ticket.customerId);
      if (!customer?.email) fail('ticketId', 'NO_CUSTOMER_ADDRESS', 'The ticket has no customer with a mail address: it cannot be answered by mail. Add an internal note instead.');
      const team = (await findTeam(tx, ticket.teamId))!;
      const to = customer.email;
      const sender = senderOf(team, settings);
      return queueOutboundMail(tx, settings, {
        kind: 'REPLY',
        ticketId: ticket.id,
        ticketMessageId: message.id,
        from: formatAddress(team.name, sender.address),
        replyTo: sender.alias ? ticketReplyAddress(signer, sender.alias, ticket.id) : null,
        to: [to],
        cc: cc.filter((address) => address.toLowerCase() !== to.toLowerCase()),
        subject: replySubject(ticket.title, ticket.number),
        text: body,
        html: htmlDocument(bodyHtml),
        headers: threadHeaders(await mailThreadOf(tx, ticket.id)),
        messageId: newMessageId(sender.domain),
      });
    });
    return { ticket, message, mail: result };
  });
}

/** cc addresses, each checked, repeated ones once. */
function checkedCc(errors: ErrorCollector, cc: readonly string[]): string[] {
  if (cc.length > MAX_CC) {
    errors.add('cc', 'TOO_MANY', `At most ${MAX_CC} cc addresses.`);
    return [];
  }
  const seen = new Map<string, string>();
  cc.forEach((raw, i) => {
    const address = raw.trim();
    if (!isEmailAddress(address)) errors.add(['cc', String(i)], 'INVALID_EMAIL', 'Each cc must be an email address such as jane@example.com.');
    else if (!seen.has(address.toLowerCase())) seen.set(address.toLowerCase(), address);
  });
  return [...seen.values()];
}

/**
 * The address mail about the team's tickets comes from: its alias (kept while the email channel
 * is off). A team whose alias was cleared writes from MAIL_DOMAIN's no-reply address.
 */
export function senderOf(team: TeamRow, settings: { mailDomain: string }): { address: string; domain: string; alias: { localPart: string; domain: string } | null } {
  if (team.aliasLocalPart && team.aliasDomain) {
    const alias = { localPart: team.aliasLocalPart, domain: team.aliasDomain };
    return { address: `${alias.localPart}@${alias.domain}`, domain: alias.domain, alias };
  }
  return { address: `noreply@${settings.mailDomain}`, domain: settings.mailDomain, alias: null };
}

/**
 * The Message-IDs of a ticket's mail thread, oldest first: the mails the customer sent about it
 * and ours.
 */
export async function mailThreadOf(db: DbOrTx, ticketId: number): Promise<string[]> {
  const [received, sent] = await Promise.all([
    db
      .select({ messageId: inboundMails.messageId, at: inboundMails.receivedAt })
      .from(inboundMails)
      .where(and(eq(inboundMails.ticketId, ticketId), isNotNull(inboundMails.messageId), eq(inboundMails.status, 'PROCESSED')))
      .orderBy(asc(inboundMails.id)),
    outboundMessageIdsOfTicket(db, ticketId),
  ]);
  return [...received.map((r) => ({ messageId: r.messageId!, at: r.at })), ...sent].sort((a, b) => a.at.getTime() - b.at.getTime()).map((r) => r.messageId);
}

