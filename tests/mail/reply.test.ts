import { decodeGlobalID } from '@pothos/plugin-relay';
import { asc, eq } from 'drizzle-orm';
import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundMails } from '../../src/outbound/tables.js';
import { createTeam, createTicket, createToken } from '../support/fixtures.js';
import { MAIL_DOMAIN, startTestServer, subscribe, untilSubscribed, type TestServer } from '../support/server.js';
import { deliver, mail, smtpDialogue } from '../support/smtp.js';

// No SMTP_RELAY_URL: replies stay HELD in the outbox, where this file reads them.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const REPLY = gql`
  mutation ($input: ReplyToTicketInput!) {
    replyToTicket(input: $input) {
      message { id kind bodyText bodyHtml author { kind name } }
      ticket { id number stage { name } }
      userErrors { field code message }
    }
  }
`;
const TICKET = gql`
  query ($id: ID!) {
    node(id: $id) { ... on Ticket { id number title stage { name } messages(first: 50) { nodes { kind bodyText author { kind email } } } } }
  }
`;
const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);
const outboxOf = (ticketGlobalId: string) =>
  server.app.database.db.select().from(outboundMails).where(eq(outboundMails.ticketId, rowId(ticketGlobalId))).orderBy(asc(outboundMails.id));
async function reply(input: Record<string, unknown>, token?: string) {
  const { replyToTicket } = await server.client(token).request<any>(REPLY, { input });
  return replyToTicket;
}
async function ticketOf(id: string) {
  return (await server.client().request<any>(TICKET, { id })).node;
}
async function ticketsOfTeam(teamId: string) {
  const { tickets } = await server.client().request<any>(gql`query ($t: ID!) { tickets(filter: { teamId: $t }, first: 50) { nodes { id number title } } }`, { t: teamId });
  return tickets.nodes as Array<{ id: string; number: number; title: string }>;
}

/** A ticket opened by mail from ann@example.com to the team's alias, with its mail's Message-ID. */
async function ticketFromMail(team: { id: string }, alias: string, subject: string) {
  const messageId = `${subject.replace(/\W+/g, '-')}-${Math.random().toString(36).slice(2)}@mail.example.com`;
  const sent = await deliver(server.smtpPort, { from: 'ann@example.com', to: alias, raw: mail({ from: 'Ann <ann@example.com>', to: alias, subject, body: 'It broke.', messageId }) });
  expect(sent.ok).toBe(true);
  const [ticket] = (await ticketsOfTeam(team.id)).filter((t) => t.title === subject);
  return { ...ticket!, messageId };
}

describe('replyToTicket', () => {
  it('adds an AGENT message, queues its mail with it and moves the ticket to its next stage; ticketUpdated carries it', async () => {
    const team = await createTeam(server, 'Reply Desk');
    const agent = await createToken(server, 'AGENT', 'Bea Agent');
    const ticket = await ticketFromMail(team, `reply-desk@${MAIL_DOMAIN}`, 'Printer broken');
    const updates = subscribe(server.wsClient(), `subscription ($t: ID) { ticketUpdated(teamId: $t) { node { number stage { name } } } }`, { t: team.id });
    await untilSubscribed(server, 1);

    const result = await reply({ ticketId: ticket.id, body: 'Hello Ann,\n\nplease see https://help.example/printers.\n\nBea', cc: ['boss@example.com', 'Boss@example.com', 'ann@example.com'] }, agent);
    expect(result.userErrors).toEqual([]);
    expect(result.message).toMatchObject({ kind: 'MESSAGE', author: { kind: 'AGENT', name: 'Bea Agent' } });
    expect(result.message.bodyHtml).toContain('<a href="https://help.example/printers"');
    expect(result.message.bodyHtml).toContain('<p>Hello Ann,</p>');
    expect(result.ticket.stage.name).toBe('In Progress');
    const [event] = await updates.waitFor(1);
    expect(event).toMatchObject({ ticketUpdated: { node: { number: ticket.number, stage: { name: 'In Progress' } } } });
    updates.dispose();

    const [queued, ...more] = await outboxOf(ticket.id);
    expect(more).toEqual([]);
    expect(queued).toMatchObject({
      kind: 'REPLY',
      status: 'HELD',
      ticketMessageId: rowId(result.message.id),
      fromAddress: `"Reply Desk" <reply-desk@${MAIL_DOMAIN}>`,
      to: ['ann@example.com'],
      cc: ['boss@example.com'],
      subject: `Re: Printer broken [#${ticket.number}]`,
      bodyText: 'Hello Ann,\n\nplease see https://help.example/printers.\n\nBea',
      headers: { 'In-Reply-To': `<${ticket.messageId}>`, References: `<${ticket.messageId}>` },
    });
    expect(queued!.messageId).toMatch(new RegExp(`^[0-9a-f-]{36}@${MAIL_DOMAIN.replace('.', '\\.')}$`));
    expect(queued!.replyTo).toMatch(new RegExp(`^reply-desk\\+t${rowId(ticket.id)}\\.[0-9a-f]{16}@${MAIL_DOMAIN.replace('.', '\\.')}$`));
    expect(queued!.bodyHtml).toContain('<a href="https://help.example/printers"');

    // A second answer continues the thread: it answers our first one and references both.
    await reply({ ticketId: ticket.id, body: 'Any news?' }, agent);
    const second = (await outboxOf(ticket.id))[1]!;
    expect(second.headers).toEqual({ 'In-Reply-To': `<${queued!.messageId}>`, References: `<${ticket.messageId}> <${queued!.messageId}>` });
    expect(second.messageId).not.toBe(queued!.messageId);
    expect((await ticketOf(ticket.id)).stage.name).toBe('In Progress');
  });

  it('sanitises bodyHtml like inbound HTML and uses it for the mail', async () => {
    const team = await createTeam(server, 'Html Desk');
    const ticket = await createTicket(server, { teamId: team.id, title: 'Html', customerEmail: 'hal@example.com' });
    const result = await reply({ ticketId: ticket.id, body: 'Plain', bodyHtml: '<p onclick="x()">Hi <b>there</b></p><script>alert(1)</script><img src="https://tracker.example/p.gif">' });
    expect(result.userErrors).toEqual([]);
    expect(result.message.bodyHtml).toContain('<p>Hi <b>there</b></p>');
    expect(result.message.bodyHtml).not.toMatch(/onclick|script|tracker/);
    const [queued] = await outboxOf(ticket.id);
    expect(queued!.bodyHtml).toContain('<p>Hi <b>there</b></p>');
    expect(queued!.bodyHtml).not.toMatch(/onclick|script|tracker/);
    expect(queued!.bodyText).toBe('Plain');
    expect(queued!.headers).toEqual({});
  });

  it('refuses a ticket whose customer has no address, bad cc and blank bodies, and changes nothing', async () => {
    const team = await createTeam(server, 'Refusing Desk');
    const nameOnly = await createTicket(server, { teamId: team.id, title: 'By phone', customerName: 'Sam' });
    const nobody = await createTicket(server, { teamId: team.id, title: 'Nobody' });
    for (const ticket of [nameOnly, nobody]) {
      const result = await reply({ ticketId: ticket.id, body: 'Hello' });
      expect(result).toMatchObject({ message: null, ticket: null, userErrors: [{ field: ['input', 'ticketId'], code: 'NO_CUSTOMER_ADDRESS' }] });
      const after = await ticketOf(ticket.id);
      expect(after.stage.name).toBe('New');
      expect(after.messages.nodes.filter((m: any) => m.author.kind === 'AGENT')).toEqual([]);
      expect(await outboxOf(ticket.id)).toEqual([]);
    }
    const ok = await createTicket(server, { teamId: team.id, title: 'Mail', customerEmail: 'cy@example.com' });
    const bad = await reply({ ticketId: ok.id, body: '  ', cc: ['fine@example.com', 'not an address', 'x@y@z'] });
    expect(bad.userErrors).toEqual([
      expect.objectContaining({ field: ['input', 'body'], code: 'REQUIRED' }),
      expect.objectContaining({ field: ['input', 'cc', '1'], code: 'INVALID_EMAIL' }),
      expect.objectContaining({ field: ['input', 'cc', '2'], code: 'INVALID_EMAIL' }),
    ]);
    const tooMany = await reply({ ticketId: ok.id, body: 'x', cc: Array.from({ length: 21 }, (_, i) => `p${i}@example.com`) });
    expect(tooMany.userErrors).toEqual([expect.objectContaining({ field: ['input', 'cc'], code: 'TOO_MANY' })]);
    const missing = await reply({ ticketId: Buffer.from('Ticket:999999').toString('base64'), body: 'x' });
    expect(missing.userErrors).toEqual([expect.objectContaining({ field: ['input', 'ticketId'], code: 'NOT_FOUND' })]);
    expect(await outboxOf(ok.id)).toEqual([]);
  });

  it('counts as the first response of an SLA policy aimed at the second stage', async () => {
    const team = await createTeam(server, 'Sla Desk');
    const inProgress = team.stages.find((s) => s.name === 'In Progress')!;
    const { createSlaPolicy } = await server.client().request<any>(
      gql`mutation ($input: CreateSlaPolicyInput!) { createSlaPolicy(input: $input) { userErrors { code } } }`,
      { input: { teamId: team.id, name: 'First response', targetStageId: inProgress.id, hours: 4 } },
    );
    expect(createSlaPolicy.userErrors).toEqual([]);
    const ticket = await createTicket(server, { teamId: team.id, title: 'Slow', customerEmail: 'dee@example.com' });
    const statuses = gql`query ($id: ID!) { node(id: $id) { ... on Ticket { slaStatuses { status reachedAt policy { name } } } } }`;
    expect((await server.client().request<any>(statuses, { id: ticket.id })).node.slaStatuses).toEqual([expect.objectContaining({ status: 'ONGOING', reachedAt: null })]);
    await reply({ ticketId: ticket.id, body: 'On it.' });
    expect((await server.client().request<any>(statuses, { id: ticket.id })).node.slaStatuses).toEqual([expect.objectContaining({ status: 'REACHED', reachedAt: expect.any(String) })]);
  });
});

describe("the customer's answer", () => {
  async function answered() {
    const team = await createTeam(server, `Thread Desk ${Math.random().toString(36).slice(2, 7)}`);
    const alias = `${team.name.toLowerCase().replace(/ /g, '-')}@${MAIL_DOMAIN}`;
    const ticket = await ticketFromMail(team, alias, 'Broken screen');
    expect((await reply({ ticketId: ticket.id, body: 'Which model?' })).userErrors).toEqual([]);
    const [ours] = await outboxOf(ticket.id);
    return { team, alias, ticket, ours: ours! };
  }
  const customerMessages = async (ticketId: string) => (await ticketOf(ticketId)).messages.nodes.filter((m: any) => m.author.kind === 'CUSTOMER').map((m: any) => m.bodyText);

  it('lands on the ticket sent to the Reply-To with In-Reply-To, without it, with a rewritten Message-ID, with a changed subject', async () => {
    const { team, ticket, ours } = await answered();
    const to = ours.replyTo!;
    const answers: Array<{ body: string; subject: string; headers: Record<string, string> }> = [
      { body: 'with in-reply-to', subject: ours.subject, headers: { 'In-Reply-To': `<${ours.messageId}>`, References: `<${ticket.messageId}> <${ours.messageId}>` } },
      { body: 'without in-reply-to', subject: ours.subject, headers: {} },
      // Amazon SES and Microsoft 365 put their own Message-ID on what we sent: the answer names that one.
      { body: 'rewritten message-id', subject: ours.subject, headers: { 'In-Reply-To': '<0100018c-rewritten@email.amazonses.com>' } },
      { body: 'changed subject', subject: 'My screen, again', headers: {} },
    ];
    for (const answer of answers) {
      const raw = mail({ from: 'Ann <ann@example.com>', to, subject: answer.subject, body: answer.body, headers: answer.headers });
      expect(await deliver(server.smtpPort, { from: 'ann@example.com', to, raw })).toMatchObject({ ok: true });
    }
    expect(await customerMessages(ticket.id)).toEqual(['It broke.', ...answers.map((a) => a.body)]);
    expect(await ticketsOfTeam(team.id)).toHaveLength(1);
  });

  it('threads by our Message-ID when sent to the plain alias, and by the token even from another sender', async () => {
    const { team, alias, ticket, ours } = await answered();
    const plain = mail({ from: 'Ann <ann@example.com>', to: alias, subject: 'new words', body: 'to the alias', headers: { 'In-Reply-To': `<${ours.messageId}>` } });
    expect(await deliver(server.smtpPort, { from: 'ann@example.com', to: alias, raw: plain })).toMatchObject({ ok: true });
    // A colleague in cc answers from another address: the token is the invitation.
    const colleague = mail({ from: 'Cole <cole@example.org>', to: ours.replyTo!, subject: 'Hi', body: 'from a colleague' });
    expect(await deliver(server.smtpPort, { from: 'cole@example.org', to: ours.replyTo!, raw: colleague })).toMatchObject({ ok: true });
    expect(await customerMessages(ticket.id)).toEqual(['It broke.', 'to the alias', 'from a colleague']);
    expect(await ticketsOfTeam(team.id)).toHaveLength(1);
  });

  it('a token whose signature fails counts as mail to the plain alias', async () => {
    const { team, ticket, ours } = await answered();
    const forged = ours.replyTo!.replace(/\.([0-9a-f]{16})@/, (_m, sig: string) => `.${sig.startsWith('0') ? '1' : '0'}${sig.slice(1)}@`);
    expect(forged).not.toBe(ours.replyTo);
    const raw = mail({ from: 'Eve <eve@example.net>', to: forged, subject: 'Hello', body: 'forged' });
    expect(await deliver(server.smtpPort, { from: 'eve@example.net', to: forged, raw })).toMatchObject({ ok: true });
    expect(await customerMessages(ticket.id)).toEqual(['It broke.']);
    const titles = (await ticketsOfTeam(team.id)).map((t) => t.title).sort();
    expect(titles).toEqual(['Broken screen', 'Hello']);
  });

  it('plus-addresses are checked at RCPT TO like the alias: unknown bases are refused, a valid token passes the contact policy', async () => {
    const { team, alias, ours } = await answered();
    await server.client().request(gql`mutation ($id: ID!) { updateTeam(input: { id: $id, emailAliasContactPolicy: KNOWN_CUSTOMERS }) { team { id } } }`, { id: team.id });
    const smtp = await smtpDialogue(server.smtpPort);
    await smtp.send('EHLO client.example');
    expect(await smtp.send('MAIL FROM:<stranger@example.net>')).toMatch(/^250/);
    expect(await smtp.send(`RCPT TO:<${ours.replyTo}>`)).toMatch(/^250/);
    expect(await smtp.send(`RCPT TO:<${alias.replace('@', '+t1.0000000000000000@')}>`)).toMatch(/^550 5\.7\.1 /);
    expect(await smtp.send(`RCPT TO:<nobody+t1.0000000000000000@${MAIL_DOMAIN}>`)).toMatch(/^550 5\.1\.1 /);
    smtp.close();
  });
});
