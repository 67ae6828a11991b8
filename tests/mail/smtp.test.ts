import { sql } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../support/fixtures.js';
import { ADMIN_TOKEN, MAIL_DOMAIN, startTestServer, subscribe, untilSubscribed, type TestServer } from '../support/server.js';
import { deliver, mail, smtpDialogue } from '../support/smtp.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ MAIL_MAX_BYTES: String(200 * 1024), MAIL_LOOP_MAX_TICKETS: '3' });
});
afterAll(async () => {
  await server?.stop();
});

const TICKETS = gql`
  query ($teamId: ID!) {
    tickets(filter: { teamId: $teamId }, first: 20) {
      totalCount
      nodes {
        id number title description channel stage { name }
        customer { name email }
        messages(first: 10) { totalCount nodes { kind bodyText bodyHtml author { kind name email } attachments { filename contentType size contentId url } } }
      }
    }
  }
`;
async function ticketsOf(teamId: string) {
  const { tickets } = await server.client().request<any>(TICKETS, { teamId });
  return tickets as { totalCount: number; nodes: any[] };
}
async function inboundMails(status?: string) {
  const { inboundMails } = await server.client().request<any>(
    gql`query ($status: InboundMailStatus) { inboundMails(status: $status, first: 100) { totalCount nodes { id status subject reason from envelope { mailFrom rcptTo } ticket { number } team { name } } } }`,
    { status },
  );
  return inboundMails as { totalCount: number; nodes: any[] };
}
const alias = (name: string) => `${name}@${MAIL_DOMAIN}`;

describe('the listener', () => {
  it('greets as Intake and offers neither AUTH nor STARTTLS without a certificate', async () => {
    const smtp = await smtpDialogue(server.smtpPort);
    expect(smtp.greeting).toMatch(/^220 .*Intake ESMTP/);
    const ehlo = await smtp.send('EHLO client.example');
    expect(ehlo).toMatch(/^250/);
    expect(ehlo).not.toMatch(/AUTH|STARTTLS/);
    expect(ehlo).toMatch(/SIZE 204800/);
    expect(await smtp.send('AUTH PLAIN AGFhAGI=')).toMatch(/^5\d\d/);
    smtp.close();
  });

  it('refuses unknown domains (not a relay), unknown aliases and switched-off channels', async () => {
    const team = await createTeam(server, 'Quiet Mailbox');
    await server.client().request(gql`mutation ($id: ID!) { updateTeam(input: { id: $id, useEmailAlias: false }) { team { id } } }`, { id: team.id });
    const smtp = await smtpDialogue(server.smtpPort);
    await smtp.send('EHLO client.example');
    expect(await smtp.send('MAIL FROM:<ann@example.com>')).toMatch(/^250/);
    expect(await smtp.send('RCPT TO:<someone@elsewhere.example>')).toMatch(/^550 5\.7\.1 /);
    expect(await smtp.send(`RCPT TO:<nobody@${MAIL_DOMAIN}>`)).toMatch(/^550 5\.1\.1 /);
    expect(await smtp.send(`RCPT TO:<quiet-mailbox@${MAIL_DOMAIN}>`)).toMatch(/^550 5\.1\.1 /);
    smtp.close();
  });
});

describe('new mail', () => {
  it('becomes a ticket: title, customer, description, sanitised HTML, attachments, EMAIL channel, live event', async () => {
    const team = await createTeam(server, 'Mail Desk');
    const sub = subscribe(server.wsClient(), `subscription ($t: ID) { ticketCreated(teamId: $t) { node { title channel } } }`, { t: team.id });
    await untilSubscribed(server, 1);
    const boundary = 'mixed-1';
    const raw = [
      'From: "Zoë Smith" <Zoe.Smith@Example.com>',
      `To: ${alias('mail-desk')}`,
      'Subject: =?UTF-8?Q?Caf=C3=A9_machine_broken?=',
      'Message-ID: <first-1@example.com>',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: multipart/alternative; boundary="alt-1"',
      '',
      '--alt-1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The café machine leaks.',
      '--alt-1',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p onclick="steal()">The <b>café</b> machine leaks.</p><script>alert(1)</script><img src="https://tracker.example/pixel.gif"><img src="cid:photo-1">',
      '--alt-1--',
      `--${boundary}`,
      'Content-Type: image/png',
      'Content-ID: <photo-1>',
      'Content-Disposition: inline; filename="leak.png"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('not really a png').toString('base64'),
      `--${boundary}`,
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('%PDF-1.4 fake').toString('base64'),
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const sent = await deliver(server.smtpPort, { from: 'zoe.smith@example.com', to: alias('mail-desk'), raw });
    expect(sent).toMatchObject({ ok: true, response: expect.stringMatching(/^250 /) });

    const { nodes } = await ticketsOf(team.id);
    expect(nodes).toHaveLength(1);
    const ticket = nodes[0];
    expect(ticket).toMatchObject({ title: 'Café machine broken', channel: 'EMAIL', stage: { name: 'New' }, customer: { name: 'Zoë Smith', email: 'Zoe.Smith@Example.com' } });
    expect(ticket.description).toBe('The café machine leaks.');
    const [first] = ticket.messages.nodes;
    expect(first).toMatchObject({ kind: 'MESSAGE', bodyText: 'The café machine leaks.', author: { kind: 'CUSTOMER', name: 'Zoë Smith' } });
    expect(first.bodyHtml).toContain('<b>café</b>');
    expect(first.bodyHtml).not.toMatch(/onclick|script|tracker\.example/);
    expect(first.bodyHtml).toContain('src="cid:photo-1"');
    expect(first.attachments).toEqual([
      { filename: 'leak.png', contentType: 'image/png', size: 16, contentId: 'photo-1', url: expect.stringMatching(/\/attachments\/\d+$/) },
      { filename: 'invoice.pdf', contentType: 'application/pdf', size: 13, contentId: null, url: expect.stringMatching(/\/attachments\/\d+$/) },
    ]);
    const path = new URL(first.attachments[1].url).pathname;
    const anonymous = await fetch(`${server.url}${path}`);
    expect(anonymous.status).toBe(401);
    const download = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''invoice.pdf");
    expect(Buffer.from(await download.arrayBuffer()).toString()).toBe('%PDF-1.4 fake');

    const [event] = await sub.waitFor(1);
    expect(event.ticketCreated.node).toEqual({ title: 'Café machine broken', channel: 'EMAIL' });
    sub.dispose();
  });

  it('titles subject-less mail "(no subject)", derives text from HTML-only mail, decodes other charsets', async () => {
    const team = await createTeam(server, 'Odd Mail');
    await deliver(server.smtpPort, { from: 'a@example.com', to: alias('odd-mail'), raw: mail({ from: 'a@example.com', to: alias('odd-mail'), body: 'no subject here' }) });
    const htmlOnly = ['From: b@example.com', `To: ${alias('odd-mail')}`, 'Subject: html only', 'Message-ID: <html-only@example.com>', 'Content-Type: text/html; charset=utf-8', '', '<p>Hello <b>there</b></p>', ''].join('\r\n');
    await deliver(server.smtpPort, { from: 'b@example.com', to: alias('odd-mail'), raw: htmlOnly });
    const latin1 = Buffer.concat([
      Buffer.from(['From: c@example.com', `To: ${alias('odd-mail')}`, 'Subject: =?ISO-8859-1?Q?R=E9sum=E9?=', 'Message-ID: <latin@example.com>', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: 8bit', '', ''].join('\r\n')),
      Buffer.from('Voil\xe0 mon r\xe9sum\xe9.\r\n', 'latin1'),
    ]);
    expect((await deliver(server.smtpPort, { from: 'c@example.com', to: alias('odd-mail'), raw: latin1 })).ok).toBe(true);
    const { nodes } = await ticketsOf(team.id);
    const byTitle = Object.fromEntries(nodes.map((n: any) => [n.title, n]));
    expect(byTitle['(no subject)'].description).toBe('no subject here');
    expect(byTitle['html only'].description).toMatch(/Hello there/i);
    expect(byTitle['Résumé'].description).toBe('Voilà mon résumé.');
  });

  it('creates one ticket per team when a message goes to several aliases', async () => {
    const a = await createTeam(server, 'Multi A');
    const b = await createTeam(server, 'Multi B');
    const raw = mail({ from: 'multi@example.com', to: `${alias('multi-a')}, ${alias('multi-b')}`, subject: 'For both' });
    expect((await deliver(server.smtpPort, { from: 'multi@example.com', to: [alias('multi-a'), alias('multi-b')], raw })).ok).toBe(true);
    expect((await ticketsOf(a.id)).nodes.map((n) => n.title)).toEqual(['For both']);
    expect((await ticketsOf(b.id)).nodes.map((n) => n.title)).toEqual(['For both']);
  });
});

describe('replies', () => {
  it('threads by In-Reply-To and References, by [#n] only from the customer, and reopens solved tickets', async () => {
    const team = await createTeam(server, 'Threads');
    const to = alias('threads');
    await deliver(server.smtpPort, { from: 'cust@example.com', to, raw: mail({ from: 'Cust <cust@example.com>', to, subject: 'Original', messageId: 'orig@example.com' }) });
    const [ticket] = (await ticketsOf(team.id)).nodes;

    await deliver(server.smtpPort, { from: 'cust@example.com', to, raw: mail({ from: 'cust@example.com', to, subject: 'Re: Original', messageId: 'r1@example.com', headers: { 'In-Reply-To': '<orig@example.com>' }, body: 'reply one' }) });
    await deliver(server.smtpPort, {
      from: 'cust@example.com',
      to,
      raw: mail({ from: 'cust@example.com', to, subject: 'Re: Re: Original', messageId: 'r2@example.com', headers: { References: '<unknown@x> <orig@example.com> <r1@example.com>' }, body: 'reply two' }),
    });
    await deliver(server.smtpPort, { from: 'cust@example.com', to, raw: mail({ from: 'CUST@example.com', to, subject: `Still broken [#${ticket.number}]`, body: 'by tag' }) });
    await deliver(server.smtpPort, { from: 'stranger@example.com', to, raw: mail({ from: 'stranger@example.com', to, subject: `About [#${ticket.number}]`, body: 'not mine' }) });

    let { nodes } = await ticketsOf(team.id);
    expect(nodes.map((n: any) => n.title).sort()).toEqual([`About [#${ticket.number}]`, 'Original']);
    const original = nodes.find((n: any) => n.title === 'Original');
    expect(original.messages.nodes.map((m: any) => m.bodyText)).toEqual(['Hello', 'reply one', 'reply two', 'by tag']);

    const { team: read } = await server.client().request<any>(gql`query ($id: ID!) { team(id: $id) { stages { id name } } }`, { id: team.id });
    const solved = read.stages.find((s: any) => s.name === 'Solved').id;
    await server.client().request(gql`mutation ($t: ID!, $s: ID!) { moveTicketToStage(input: { ticketId: $t, stageId: $s }) { ticket { id } } }`, { t: original.id, s: solved });
    await deliver(server.smtpPort, { from: 'cust@example.com', to, raw: mail({ from: 'cust@example.com', to, subject: 'Re: Original', headers: { 'In-Reply-To': '<r2@example.com>' }, body: 'it broke again' }) });
    ({ nodes } = await ticketsOf(team.id));
    const reopened = nodes.find((n: any) => n.title === 'Original');
    expect(reopened.stage.name).toBe('New');
    expect(reopened.messages.totalCount).toBe(5);
  });
});

describe('duplicates, loops and bounces', () => {
  it('stores the same message once however often it is delivered', async () => {
    const team = await createTeam(server, 'Dupes');
    const to = alias('dupes');
    const raw = mail({ from: 'dup@example.com', to, subject: 'Once', messageId: 'dup-1@example.com' });
    for (let i = 0; i < 3; i++) expect((await deliver(server.smtpPort, { from: 'dup@example.com', to, raw })).ok).toBe(true);
    // Without a Message-ID the digest of the raw message stands in.
    const noId = ['From: dup@example.com', `To: ${to}`, 'Subject: No id', '', 'same bytes', ''].join('\r\n');
    for (let i = 0; i < 2; i++) expect((await deliver(server.smtpPort, { from: 'dup@example.com', to, raw: noId })).ok).toBe(true);
    expect((await ticketsOf(team.id)).nodes.map((n) => n.title).sort()).toEqual(['No id', 'Once']);
    const dupes = (await inboundMails('DUPLICATE')).nodes.filter((m) => m.team?.name === 'Dupes');
    expect(dupes).toHaveLength(3);
  });

  it('never makes tickets of bounces, auto-replies, list mail or our own aliases; a bounce about a ticket becomes a system note', async () => {
    const team = await createTeam(server, 'Robots');
    const to = alias('robots');
    await deliver(server.smtpPort, { from: 'human@example.com', to, raw: mail({ from: 'human@example.com', to, subject: 'Real', messageId: 'real-1@example.com' }) });
    const bounce = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.com>',
      `To: ${to}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <bounce-1@mx.example.com>',
      'In-Reply-To: <real-1@example.com>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
      '',
      '--r',
      'Content-Type: text/plain',
      '',
      'The mail could not be delivered.',
      '--r',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.com',
      '',
      'Final-Recipient: rfc822; gone@example.com',
      'Action: failed',
      'Status: 5.1.1',
      '--r--',
      '',
    ].join('\r\n');
    expect((await deliver(server.smtpPort, { from: '', to, raw: bounce })).ok).toBe(true);
    const autoReply = mail({ from: 'human@example.com', to, subject: 'Out of office', headers: { 'Auto-Submitted': 'auto-replied' } });
    const bulk = mail({ from: 'news@example.com', to, subject: 'Newsletter', headers: { Precedence: 'bulk' } });
    const xauto = mail({ from: 'bot@example.com', to, subject: 'Autoresponder', headers: { 'X-Autoreply': 'yes' } });
    const own = mail({ from: `threads@${MAIL_DOMAIN}`, to, subject: 'From ourselves' });
    const postmaster = mail({ from: 'postmaster@example.org', to, subject: 'Notice' });
    for (const raw of [autoReply, bulk, xauto, own, postmaster]) expect((await deliver(server.smtpPort, { from: 'x@example.com', to, raw })).ok).toBe(true);

    const { nodes } = await ticketsOf(team.id);
    expect(nodes.map((n: any) => n.title)).toEqual(['Real']);
    expect(nodes[0].messages.nodes.map((m: any) => [m.kind, m.author.kind])).toEqual([
      ['MESSAGE', 'CUSTOMER'],
      ['SYSTEM', 'SYSTEM'],
    ]);
    expect(nodes[0].messages.nodes[1].bodyText).toMatch(/^Delivery failure report from mailer-daemon@mx\.example\.com/i);
    const ignored = (await inboundMails('IGNORED')).nodes.filter((m) => m.team?.name === 'Robots');
    expect(ignored.map((m) => m.reason).sort()).toEqual(
      ['Auto-Submitted: auto-replied', 'Precedence: bulk', 'X-Autoreply header', 'delivery report (multipart/report)', 'sent by postmaster', 'sent from one of our own aliases (mail loop)'].sort(),
    );
    expect(ignored.find((m) => m.reason.startsWith('delivery'))!.ticket).toEqual({ number: nodes[0].number });
  });

  it('quarantines a sender past the loop threshold, and reprocessing releases the mail', async () => {
    const team = await createTeam(server, 'Looped');
    const to = alias('looped');
    for (let i = 1; i <= 4; i++) {
      const sent = await deliver(server.smtpPort, { from: 'loop@example.com', to, raw: mail({ from: 'loop@example.com', to, subject: `Loop ${i}` }) });
      expect(sent.ok).toBe(true);
    }
    expect((await ticketsOf(team.id)).totalCount).toBe(3);
    const [quarantined] = (await inboundMails('QUARANTINED')).nodes.filter((m) => m.team?.name === 'Looped');
    expect(quarantined).toMatchObject({ subject: 'Loop 4', reason: expect.stringMatching(/more than 3 new tickets from loop@example.com within 120 minutes/), ticket: null });
    const { reprocessInboundMail } = await server.client().request<any>(
      gql`mutation ($id: ID!) { reprocessInboundMail(input: { id: $id }) { inboundMail { status ticket { number } } userErrors { field code } } }`,
      { id: quarantined.id },
    );
    expect(reprocessInboundMail.inboundMail.status).toBe('PROCESSED');
    expect((await ticketsOf(team.id)).totalCount).toBe(4);
    const again = await server.client().request<any>(gql`mutation ($id: ID!) { reprocessInboundMail(input: { id: $id }) { userErrors { field code } } }`, { id: quarantined.id });
    expect(again.reprocessInboundMail.userErrors).toEqual([{ field: ['input', 'id'], code: 'ALREADY_PROCESSED' }]);
  });
});

describe('who may write, and how much', () => {
  it('refuses unknown senders with the alias refusal text under KNOWN_CUSTOMERS', async () => {
    const team = await createTeam(server, 'Private Desk');
    const { updateTeam } = await server.client().request<any>(
      gql`mutation ($id: ID!) { updateTeam(input: { id: $id, emailAliasContactPolicy: KNOWN_CUSTOMERS, emailAliasRefusalText: "Customers only: see https://example.com/help" }) { team { emailAlias { contactPolicy refusalText } } userErrors { code } } }`,
      { id: team.id },
    );
    expect(updateTeam.team.emailAlias).toEqual({ contactPolicy: 'KNOWN_CUSTOMERS', refusalText: 'Customers only: see https://example.com/help' });
    await server.client().request(gql`mutation ($t: ID!) { createTicket(input: { teamId: $t, title: "known", customerEmail: "known@example.com" }) { ticket { id } } }`, { t: team.id });
    const to = alias('private-desk');
    const refused = await deliver(server.smtpPort, { from: 'unknown@example.com', to, raw: mail({ from: 'unknown@example.com', to, subject: 'let me in' }) });
    expect(refused).toMatchObject({ ok: false, code: 550, response: '550 5.7.1 Customers only: see https://example.com/help' });
    const accepted = await deliver(server.smtpPort, { from: 'Known@Example.com', to, raw: mail({ from: 'known@example.com', to, subject: 'hello again' }) });
    expect(accepted.ok).toBe(true);
    const bad = await server.client().request<any>(gql`mutation ($id: ID!) { updateTeam(input: { id: $id, emailAliasRefusalText: "two\\nlines" }) { userErrors { field code } } }`, { id: team.id });
    expect(bad.updateTeam.userErrors).toEqual([{ field: ['input', 'emailAliasRefusalText'], code: 'INVALID_TEXT' }]);
  });

  it('answers 552 to mail over MAIL_MAX_BYTES, counted on the data stream itself', async () => {
    const team = await createTeam(server, 'Size Limit');
    const to = alias('size-limit');
    const smtp = await smtpDialogue(server.smtpPort);
    await smtp.send('EHLO client.example');
    expect(await smtp.send('MAIL FROM:<big@example.com> SIZE=300000')).toMatch(/^552/);
    // No SIZE declared: the stream is counted.
    expect(await smtp.send('MAIL FROM:<big@example.com>')).toMatch(/^250/);
    expect(await smtp.send(`RCPT TO:<${to}>`)).toMatch(/^250/);
    expect(await smtp.send('DATA')).toMatch(/^354/);
    expect(await smtp.data(mail({ from: 'big@example.com', to, subject: 'huge', body: 'x'.repeat(250 * 1024) }))).toMatch(/^552 5\.3\.4 /);
    // The session goes on: a normal mail afterwards is accepted.
    expect(await smtp.send('MAIL FROM:<big@example.com>')).toMatch(/^250/);
    expect(await smtp.send(`RCPT TO:<${to}>`)).toMatch(/^250/);
    expect(await smtp.send('DATA')).toMatch(/^354/);
    expect(await smtp.data(mail({ from: 'big@example.com', to, subject: 'small' }))).toMatch(/^250/);
    smtp.close();
    expect((await ticketsOf(team.id)).nodes.map((n) => n.title)).toEqual(['small']);
  });

  it('receives mail for custom domains added through the API', async () => {
    const team = await createTeam(server, 'Custom Domain');
    const added = await server.client().request<any>(gql`mutation { addMailDomain(input: { domain: "Help.Example.ORG" }) { domains userErrors { code } } }`);
    expect(added.addMailDomain.domains).toEqual([MAIL_DOMAIN, 'help.example.org']);
    const moved = await server.client().request<any>(gql`mutation ($id: ID!) { updateTeam(input: { id: $id, emailAlias: "desk@help.example.org" }) { team { emailAlias { address } } userErrors { code } } }`, { id: team.id });
    expect(moved.updateTeam.team.emailAlias.address).toBe('desk@help.example.org');
    expect((await deliver(server.smtpPort, { from: 'a@example.com', to: 'desk@help.example.org', raw: mail({ from: 'a@example.com', to: 'desk@help.example.org', subject: 'custom' }) })).ok).toBe(true);
    expect((await ticketsOf(team.id)).nodes.map((n) => n.title)).toEqual(['custom']);
    const inUse = await server.client().request<any>(gql`mutation { removeMailDomain(input: { domain: "help.example.org" }) { domains userErrors { field code } } }`);
    expect(inUse.removeMailDomain.userErrors).toEqual([{ field: ['input', 'domain'], code: 'DOMAIN_IN_USE' }]);
    const invalid = await server.client().request<any>(gql`mutation { addMailDomain(input: { domain: "not a domain" }) { userErrors { field code } } }`);
    expect(invalid.addMailDomain.userErrors).toEqual([{ field: ['input', 'domain'], code: 'INVALID_DOMAIN' }]);
    // Removal reads the domain as adding does: case and a trailing dot make no difference.
    await server.client().request(gql`mutation { addMailDomain(input: { domain: "spare.example.org" }) { domains } }`);
    const removed = await server.client().request<any>(gql`mutation { removeMailDomain(input: { domain: "Spare.Example.org." }) { domains userErrors { code } } }`);
    expect(removed.removeMailDomain).toEqual({ domains: [MAIL_DOMAIN, 'help.example.org'], userErrors: [] });
  });
});

describe('nothing lost', () => {
  it('answers 451 when the database fails, and the retry after recovery makes exactly one ticket', async () => {
    const team = await createTeam(server, 'Outage');
    const to = alias('outage');
    const raw = mail({ from: 'retry@example.com', to, subject: 'During outage', messageId: 'outage-1@example.com' });
    await server.app.database.rows(sql`alter table inbound_mails rename to inbound_mails_away`);
    let failed;
    try {
      failed = await deliver(server.smtpPort, { from: 'retry@example.com', to, raw });
    } finally {
      await server.app.database.rows(sql`alter table inbound_mails_away rename to inbound_mails`);
    }
    expect(failed).toMatchObject({ ok: false, code: 451, response: expect.stringMatching(/^451 4\.3\.0 /) });
    expect((await ticketsOf(team.id)).totalCount).toBe(0);
    expect((await deliver(server.smtpPort, { from: 'retry@example.com', to, raw })).ok).toBe(true);
    expect((await deliver(server.smtpPort, { from: 'retry@example.com', to, raw })).ok).toBe(true);
    expect((await ticketsOf(team.id)).nodes.map((n) => n.title)).toEqual(['During outage']);
  });
});
