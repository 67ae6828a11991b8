import net from 'node:net';
import nodemailer from 'nodemailer';

export type Delivery = { ok: true; response: string } | { ok: false; code: number; response: string };

/** Delivers a raw message over SMTP with nodemailer, as a sending mail server would. */
export async function deliver(port: number, message: { from: string; to: string | string[]; raw: string | Buffer }): Promise<Delivery> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, connectionTimeout: 10_000, greetingTimeout: 10_000 });
  try {
    const info = await transport.sendMail({ envelope: { from: message.from, to: message.to }, raw: message.raw });
    return { ok: true, response: info.response };
  } catch (error: any) {
    return { ok: false, code: error.responseCode ?? 0, response: String(error.response ?? error.message) };
  } finally {
    transport.close();
  }
}

/** Builds a simple RFC 5322 message. */
export function mail(fields: { from: string; to: string; subject?: string; body?: string; messageId?: string; headers?: Record<string, string>; html?: string }): string {
  const head = [
    `From: ${fields.from}`,
    `To: ${fields.to}`,
    ...(fields.subject === undefined ? [] : [`Subject: ${fields.subject}`]),
    `Message-ID: <${fields.messageId ?? `${Math.random().toString(36).slice(2)}@sender.example`}>`,
    'Date: Sat, 21 Nov 2026 09:00:00 +0000',
    'MIME-Version: 1.0',
    ...Object.entries(fields.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  if (fields.html) {
    const b = 'b-' + Math.random().toString(36).slice(2);
    return [...head, `Content-Type: multipart/alternative; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain; charset=utf-8', '', fields.body ?? '', `--${b}`, 'Content-Type: text/html; charset=utf-8', '', fields.html, `--${b}--`, ''].join('\r\n');
  }
  return [...head, 'Content-Type: text/plain; charset=utf-8', '', fields.body ?? 'Hello', ''].join('\r\n');
}

/** A message of a short text and one attachment, base64 in lines of 76 (a big mail when the file is big). */
export function mailWithAttachment(fields: { from: string; to: string; subject: string; messageId: string; body: string; filename: string; attachment: Buffer }): string {
  const b = 'attachment-boundary';
  return [
    `From: ${fields.from}`,
    `To: ${fields.to}`,
    `Subject: ${fields.subject}`,
    `Message-ID: <${fields.messageId}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    fields.body,
    `--${b}`,
    `Content-Type: application/octet-stream; name="${fields.filename}"`,
    `Content-Disposition: attachment; filename="${fields.filename}"`,
    'Content-Transfer-Encoding: base64',
    '',
    fields.attachment.toString('base64').replace(/.{76}/g, '$&\r\n'),
    `--${b}--`,
    '',
  ].join('\r\n');
}

/** A hand-driven SMTP dialogue over a raw socket, for exact reply codes and malformed input. */
export async function smtpDialogue(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waiting: Array<(reply: string) => void> = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    // A reply is complete at a line "NNN text" (a space, not a dash, after the code).
    for (;;) {
      const match = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
      if (!match) break;
      const end = match.index + match[0].length;
      const reply = buffer.slice(0, end).replace(/^\r\n/, '');
      buffer = buffer.slice(end);
      waiting.shift()?.(reply);
    }
  });
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const greeting = await next();
  return {
    greeting,
    async send(line: string): Promise<string> {
      const reply = next();
      socket.write(line + '\r\n');
      return reply;
    },
    /** Sends message data (dot-stuffed) and the final ".". */
    async data(content: string | Buffer): Promise<string> {
      const reply = next();
      const text = Buffer.isBuffer(content) ? content.toString('latin1') : content;
      const stuffed = text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
      socket.write(Buffer.from(stuffed.endsWith('\r\n') ? stuffed : stuffed + '\r\n', 'latin1'));
      socket.write('.\r\n');
      return reply;
    },
    close() {
      socket.end();
      socket.destroy();
    },
  };
}
