import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { createTeam } from '../support/fixtures.js';
import { ADMIN_TOKEN, MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mailWithAttachment, smtpDialogue } from '../support/smtp.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SMTP_MAX_RECIPIENTS: '20' });
});
afterAll(async () => {
  await server?.stop();
});

const aliases = Array.from({ length: 20 }, (_, i) => `fanout-${i + 1}@${MAIL_DOMAIN}`);

describe('one mail to many aliases', () => {
  it('stores the raw message and each attachment once, referenced by every team’s record and ticket', async () => {
    for (let i = 1; i <= 20; i++) await createTeam(server, `Fanout ${i}`);
    const file = Buffer.alloc(512 * 1024, 7);
    const raw = mailWithAttachment({
      from: 'Wide Sender <wide@sender.example>',
      to: aliases.join(', '),
      subject: 'To everyone',
      messageId: 'fanout-1@sender.example',
      body: 'Please read the report.',
      filename: 'report.bin',
      attachment: file,
    });
    expect(await deliver(server.smtpPort, { from: 'wide@sender.example', to: aliases, raw })).toEqual({ ok: true, response: expect.stringMatching(/^250 /) });

    const db = server.app.database.db;
    const records = await queryRows<{ raw_mail_id: number | null; ticket_id: number | null; status: string }>(
      db,
      sql`select raw_mail_id, ticket_id, status from inbound_mails where message_id = 'fanout-1@sender.example'`,
    );
    expect(records).toHaveLength(20);
    expect(records.every((r) => r.status === 'PROCESSED' && r.ticket_id !== null)).toBe(true);
    expect(new Set(records.map((r) => r.raw_mail_id)).size).toBe(1);
    const [{ n: rawRows }] = (await queryRows<{ n: number }>(db, sql`select count(*)::int as n from raw_mails where id = ${records[0]!.raw_mail_id}`)) as [{ n: number }];
    expect(rawRows).toBe(1);

    const attachments = await queryRows<{ id: number; blob_id: number | null; has_own_data: boolean }>(
      db,
      sql`select a.id, a.blob_id, a.data is not null as has_own_data from ticket_attachments a join ticket_messages m on m.id = a.message_id
          where m.ticket_id in (select ticket_id from inbound_mails where message_id = 'fanout-1@sender.example')`,
    );
    expect(attachments).toHaveLength(20);
    expect(new Set(attachments.map((a) => a.blob_id)).size).toBe(1);
    expect(attachments.some((a) => a.has_own_data)).toBe(false);

    // Each ticket's attachment still downloads with its bytes.
    const response = await fetch(`${server.url}/attachments/${attachments[19]!.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(file)).toBe(true);
  });

  it('answers 452 4.5.3 past SMTP_MAX_RECIPIENTS', async () => {
    const smtp = await smtpDialogue(server.smtpPort);
    await smtp.send('EHLO client.example');
    expect(await smtp.send('MAIL FROM:<many@sender.example>')).toMatch(/^250/);
    for (const to of aliases) expect(await smtp.send(`RCPT TO:<${to}>`)).toMatch(/^250/);
    expect(await smtp.send(`RCPT TO:<postmaster@${MAIL_DOMAIN}>`)).toMatch(/^452 4\.5\.3 /);
    smtp.close();
  });
});
