/**
 * Pure parts of the mail Intake sends about a ticket: its subject, the threading headers, the
 * addresses. Kept free of I/O so they are tested table by table.
 */

import type { MailSigner } from '../outbound/signing.js';
import { signedToken, splitPlusAddress, verifiedToken } from '../outbound/signing.js';
import { cutByCodePoints } from '../text/clean.js';
import { escapeHtml } from '../text/html.js';

/** Message ids kept in References: the first of the thread and the newest ones (RFC 5322 §3.6.4). */
export const MAX_REFERENCES = 10;
/** A Message-ID longer than this is left out of our headers (a header line must stay sane). */
const MAX_MESSAGE_ID = 250;

/** Subject prefixes of answers and forwards, in the languages our customers write in. */
const ANSWER_PREFIX = /^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|antw|rv|rif|enc|odp)\s*(?:\[\d+\])?\s*:\s*)+/i;

/** `Re: <title> [#<number>]`: one line, the ticket's tag once, earlier prefixes and tags dropped. */
export function replySubject(title: string, number: number): string {
  const tag = `[#${number}]`;
  const plain = title
    .replace(/\s+/g, ' ')
    .replace(ANSWER_PREFIX, '')
    .split(tag)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return `Re: ${cutByCodePoints(plain, 200) || '(no subject)'} ${tag}`;
}

/**
 * In-Reply-To and References of a mail in a thread, from its earlier Message-IDs oldest first
 * (without <>): it answers the newest; References keeps the first and the newest, at most
 * MAX_REFERENCES. Empty without an earlier message.
 */
export function threadHeaders(earlier: readonly string[]): Record<string, string> {
  const ids = [...new Set(earlier.filter((id) => id.length <= MAX_MESSAGE_ID && /^[^<>\s]+$/.test(id)))];
  if (ids.length === 0) return {};
  const kept = ids.length <= MAX_REFERENCES ? ids : [ids[0]!, ...ids.slice(-(MAX_REFERENCES - 1))];
  return { 'In-Reply-To': `<${ids.at(-1)!}>`, References: kept.map((id) => `<${id}>`).join(' ') };
}

/** `"Customer Care" <customer-care@example.com>`: the name quoted, its quotes and backslashes escaped, on one line. */
export function formatAddress(name: string | null, address: string): string {
  const display = (name ?? '').replace(/[\r\n]+/g, ' ').trim();
  return display ? `"${display.replace(/["\\]/g, '\\$&')}" <${address}>` : address;
}

const REPLY = 'reply';

/** `alias+t<ticket id>.<signature>@domain`: mail to it threads onto the ticket, whatever its subject or headers. */
export function ticketReplyAddress(signer: MailSigner, alias: { localPart: string; domain: string }, ticketId: number): string {
  return `${alias.localPart}+${signedToken(signer, REPLY, `t${ticketId}`)}@${alias.domain}`;
}

/** The ticket a plus-address names when its signature holds; null for any other address. */
export function ticketOfReplyAddress(signer: MailSigner, address: string): number | null {
  const parts = splitPlusAddress(address);
  if (!parts) return null;
  const payload = verifiedToken(signer, REPLY, parts.token);
  if (payload === null || !/^t\d{1,10}$/.test(payload)) return null;
  const id = Number(payload.slice(1));
  return id >= 1 && id <= 2_147_483_647 ? id : null;
}

/** The HTML part of a mail: a whole document around the (sanitised) body. */
export function htmlDocument(body: string, lang: string | null = null): string {
  const langAttribute = lang ? ` lang="${escapeHtml(lang)}"` : '';
  return `<!DOCTYPE html>\n<html${langAttribute}><head><meta charset="utf-8"></head><body>\n${body}\n</body></html>\n`;
}
