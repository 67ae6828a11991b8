/**
 * Pure decisions about an inbound mail: is it automated, which messages does it answer, which
 * ticket does its subject name. Kept free of I/O so they are tested table by table.
 */

import { cutByCodePoints } from '../text/clean.js';

export interface MailFacts {
  /** Lower-cased header names → raw values (first occurrence). */
  headers: Map<string, string>;
  /** Content type of the whole message, lower case, without parameters. */
  contentType: string;
  /** Address of the From header, lower case, or null. */
  fromAddress: string | null;
}

/** Why a mail is machine-made (bounce, auto-reply, list), or null for a person's mail. */
export function automatedReason(mail: MailFacts, ownAddresses: ReadonlySet<string>): string | null {
  const h = mail.headers;
  if (mail.contentType === 'multipart/report') return 'delivery report (multipart/report)';
  const local = mail.fromAddress?.split('@')[0] ?? '';
  if (local === 'mailer-daemon' || local === 'postmaster') return `sent by ${local}`;
  if (mail.fromAddress && ownAddresses.has(mail.fromAddress)) return 'sent from one of our own aliases (mail loop)';
  const autoSubmitted = h.get('auto-submitted')?.trim().toLowerCase();
  if (autoSubmitted && autoSubmitted.split(';')[0]!.trim() !== 'no') return `Auto-Submitted: ${autoSubmitted}`;
  const precedence = h.get('precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') return `Precedence: ${precedence}`;
  if (h.has('x-autoreply')) return 'X-Autoreply header';
  if (h.has('x-autorespond')) return 'X-Autorespond header';
  return null;
}

/** True when the automated mail is a bounce (kept as a system note) rather than an auto-reply. */
export function isBounce(mail: MailFacts): boolean {
  const local = mail.fromAddress?.split('@')[0] ?? '';
  return mail.contentType === 'multipart/report' || local === 'mailer-daemon' || local === 'postmaster';
}

const MESSAGE_ID = /<([^<>\s]+)>/g;

/** At most this many ids are looked up per mail: a header may hold tens of thousands. */
export const MAX_REFERENCED_IDS = 32;

/** Message ids a mail answers: In-Reply-To, then References newest first; 32 at most. */
export function referencedMessageIds(inReplyTo: string | undefined, references: string | undefined): string[] {
  const ids: string[] = [];
  for (const match of (inReplyTo ?? '').matchAll(MESSAGE_ID)) {
    if (ids.length >= MAX_REFERENCED_IDS) break;
    if (!ids.includes(match[1]!)) ids.push(match[1]!);
  }
  const refs = [...(references ?? '').matchAll(MESSAGE_ID)].map((m) => m[1]!).slice(-MAX_REFERENCED_IDS).reverse();
  for (const id of refs) if (ids.length < MAX_REFERENCED_IDS && !ids.includes(id)) ids.push(id);
  return ids;
}

/** "<abc@host>" → "abc@host"; null when there is no usable id. */
export function normaliseMessageId(value: string | undefined | null): string | null {
  if (!value) return null;
  const match = /<([^<>\s]+)>/.exec(value) ?? /^\s*([^<>\s]+@[^<>\s]+)\s*$/.exec(value);
  return match ? cutByCodePoints(match[1]!, 500) : null;
}

/** The ticket number in a "[#123]" subject tag, or null. */
export function subjectTicketNumber(subject: string | undefined): number | null {
  const match = /\[#(\d{1,9})\]/.exec(subject ?? '');
  return match ? Number(match[1]) : null;
}
