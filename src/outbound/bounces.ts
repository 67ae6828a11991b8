import { simpleParser } from 'mailparser';
import type { DbOrTx } from '../db/client.js';
import { cleanText, cutByCodePoints } from '../text/clean.js';
import { recordBounce, type OutboundMailRow } from './service.js';
import { looksLikeBounceAddress, mailSigner, outboundMailIdOfBounceAddress } from './signing.js';

export interface DeliveryReport {
  /** The report's Action (failed, delayed, delivered, relayed, expanded); null when it has none. */
  action: string | null;
  /** What a person reads: the Diagnostic-Code, else the Status, else the report's subject and first lines. */
  diagnostic: string;
}

const MAX_DIAGNOSTIC = 1000;

/** Reads a delivery status notification (RFC 3464): its message/delivery-status part, or its text when it has none. */
export async function parseDeliveryReport(raw: Buffer): Promise<DeliveryReport> {
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true });
  const status = mail.attachments.find((a) => /^message\/(global-)?delivery-status$/i.test(a.contentType))?.content.toString('utf8') ?? deliveryStatusPart(raw);
  const field = (name: string) => (status ? new RegExp(`^${name}:\\s*(.+(?:\\r?\\n[ \\t].+)*)`, 'im').exec(status)?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim() ?? null : null);
  const action = field('Action')?.toLowerCase() ?? null;
  const code = field('Diagnostic-Code')?.replace(/^smtp;\s*/i, '');
  const statusCode = field('Status');
  const fallback = [mail.subject, (mail.text ?? '').trim().split(/\r?\n/).slice(0, 5).join(' ')].filter(Boolean).join(': ');
  const diagnostic = code || (statusCode ? `status ${statusCode}` : fallback) || 'a delivery failure report without details';
  return { action, diagnostic: cleanText(cutByCodePoints(diagnostic, MAX_DIAGNOSTIC)) };
}

/**
 * The message/delivery-status part as written (mailparser folds it into the text): from its
 * header to the next MIME boundary. Reports send it as plain 7-bit text.
 */
function deliveryStatusPart(raw: Buffer): string | null {
  const text = raw.toString('latin1');
  const start = /^content-type:\s*message\/(global-)?delivery-status\b.*$/im.exec(text);
  if (!start) return null;
  const rest = text.slice(start.index + start[0].length);
  const end = rest.search(/\r?\n--/);
  return end === -1 ? rest : rest.slice(0, end);
}

/** Whether RCPT TO names one of our bounce addresses, with a signature that holds: then it is a bounce of our mail. */
export async function bounceRecipient(db: DbOrTx, settings: { mailDomain: string; mailSigningSecret?: string | undefined }, address: string): Promise<number | null> {
  if (!looksLikeBounceAddress(address, settings.mailDomain)) return null;
  return outboundMailIdOfBounceAddress(await mailSigner(db, settings), address, settings.mailDomain);
}

/**
 * A report that arrived at the bounce addresses of `outboundMailIds`: a failure marks each mail
 * FAILED with the diagnostic and notes it on its ticket. Reports of delay or success change
 * nothing. It never becomes a ticket and is never answered. Resolves once committed.
 */
export async function receiveBounce(db: DbOrTx, raw: Buffer, outboundMailIds: number[]): Promise<{ report: DeliveryReport; failed: OutboundMailRow[] }> {
  const report = await parseDeliveryReport(raw);
  const failed: OutboundMailRow[] = [];
  // A report without an Action is a bounce in an older form: taken as a failure.
  if (report.action !== null && !report.action.startsWith('failed')) return { report, failed };
  for (const id of [...new Set(outboundMailIds)]) {
    const row = await recordBounce(db, id, report.diagnostic);
    if (row) failed.push(row);
  }
  return { report, failed };
}
