import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../support/fixtures.js';
import { MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail, smtpDialogue } from '../support/smtp.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function inboundMails() {
  const { inboundMails } = await server.client().request<any>(
    gql`{ inboundMails(first: 100) { nodes { status reason subject team { name } ticket { title } envelope { mailFrom rcptTo } } } }`,
  );
  return inboundMails.nodes as any[];
}

describe('addresses every mail server must take', () => {
  it('accepts postmaster of our domain, with or without the domain, and keeps the mail for an administrator', async () => {
    const smtp = await smtpDialogue(server.smtpPort);
    await smtp.send('EHLO client.example');
    expect(await smtp.send('MAIL FROM:<admin@sender.example>')).toMatch(/^250/);
    expect(await smtp.send(`RCPT TO:<postmaster@${MAIL_DOMAIN}>`)).toMatch(/^250/);
    expect(await smtp.send('DATA')).toMatch(/^354/);
    expect(await smtp.data(mail({ from: 'admin@sender.example', to: `postmaster@${MAIL_DOMAIN}`, subject: 'Your server' }))).toMatch(/^250/);
    expect(await smtp.send('MAIL FROM:<admin@sender.example>')).toMatch(/^250/);
    expect(await smtp.send('RCPT TO:<Postmaster>')).toMatch(/^250/);
    expect(await smtp.send('DATA')).toMatch(/^354/);
    expect(await smtp.data(mail({ from: 'admin@sender.example', to: 'postmaster', subject: 'Bare postmaster' }))).toMatch(/^250/);
    smtp.close();

    const kept = (await inboundMails()).filter((m) => m.envelope.mailFrom === 'admin@sender.example');
    expect(kept.map((m) => [m.subject, m.status, m.team]).sort()).toEqual([
      ['Bare postmaster', 'QUARANTINED', null],
      ['Your server', 'QUARANTINED', null],
    ]);
    expect(kept[0].reason).toMatch(/postmaster/);
  });

  it('takes a MAIL FROM with a quoted local part', async () => {
    await createTeam(server, 'Quoted');
    const smtp = await smtpDialogue(server.smtpPort);
    await smtp.send('EHLO client.example');
    expect(await smtp.send('MAIL FROM:<"john doe"@sender.example>')).toMatch(/^250/);
    expect(await smtp.send(`RCPT TO:<quoted@${MAIL_DOMAIN}>`)).toMatch(/^250/);
    expect(await smtp.send('DATA')).toMatch(/^354/);
    expect(await smtp.data(mail({ from: '"john doe"@sender.example', to: `quoted@${MAIL_DOMAIN}`, subject: 'Quoted sender' }))).toMatch(/^250/);
    smtp.close();
    const kept = (await inboundMails()).filter((m) => m.subject === 'Quoted sender');
    expect(kept.map((m) => [m.envelope.mailFrom, m.status])).toEqual([['"john doe"@sender.example', 'PROCESSED']]);
  });

  it('keeps a quoted local part of the From header as the address of the mail and of the customer', async () => {
    await createTeam(server, 'Quoted From');
    // The envelope sender differs (a list or a forwarder): the From header names the customer.
    const raw = mail({ from: 'John Doe <"john doe"@sender.example>', to: `quoted-from@${MAIL_DOMAIN}`, subject: 'Quoted From header' });
    expect((await deliver(server.smtpPort, { from: 'relay@forwarder.example', to: `quoted-from@${MAIL_DOMAIN}`, raw })).ok).toBe(true);
    const { inboundMails } = await server.client().request<any>(gql`{ inboundMails(first: 100) { nodes { subject status from ticket { customer { email name } } } } }`);
    expect(inboundMails.nodes.filter((m: any) => m.subject === 'Quoted From header')).toEqual([
      { subject: 'Quoted From header', status: 'PROCESSED', from: '"john doe"@sender.example', ticket: { customer: { email: '"john doe"@sender.example', name: 'John Doe' } } },
    ]);
  });

  it('keeps a mail that reuses a Message-ID from another sender, and still drops a resent copy', async () => {
    await createTeam(server, 'Reuse');
    const to = `reuse@${MAIL_DOMAIN}`;
    const first = mail({ from: 'first@sender.example', to, subject: 'First', messageId: 'shared-id@sender.example' });
    const second = mail({ from: 'second@other.example', to, subject: 'Second', messageId: 'shared-id@sender.example' });
    for (const [from, raw] of [['first@sender.example', first], ['second@other.example', second], ['second@other.example', second], ['first@sender.example', first]]) {
      expect((await deliver(server.smtpPort, { from: from!, to, raw: raw! })).ok).toBe(true);
    }
    const kept = (await inboundMails()).filter((m) => m.team?.name === 'Reuse');
    expect(kept.map((m) => `${m.subject}:${m.status}`).sort()).toEqual(['First:DUPLICATE', 'First:PROCESSED', 'Second:DUPLICATE', 'Second:PROCESSED']);
    expect(kept.filter((m) => m.status === 'PROCESSED').map((m) => m.ticket.title).sort()).toEqual(['First', 'Second']);
  });
});
