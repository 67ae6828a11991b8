import type { SendMailOptions } from 'nodemailer';
import type { OutboundMailRow } from './service.js';

/**
 * What nodemailer sends for a row: every attempt builds the same message, with the Message-ID
 * and Date fixed when the mail was queued. The envelope sender is the mail's bounce address.
 */
export function messageOf(row: OutboundMailRow, envelopeFrom: string): SendMailOptions {
  return {
    envelope: { from: envelopeFrom, to: [...row.to, ...row.cc] },
    from: row.fromAddress,
    to: row.to,
    ...(row.cc.length ? { cc: row.cc } : {}),
    ...(row.replyTo ? { replyTo: row.replyTo } : {}),
    subject: row.subject,
    text: row.bodyText,
    ...(row.bodyHtml ? { html: row.bodyHtml } : {}),
    messageId: `<${row.messageId}>`,
    date: row.createdAt,
    headers: row.headers,
    // Deliveries must not fetch anything: no remote attachments or file paths from rows.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}
