import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { retryDelayMs } from '../../src/outbound/service.js';
import { ticketMessages } from '../../src/tickets/tables.js';
import { listTicketTags } from './tags.js';
import { createTestDatabase } from '../support/databases.js';
import { ADMIN_TOKEN, graphqlClient, MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver } from '../support/smtp.js';
import { startRelay, type TestRelay } from './relay.js';
import { outboundMail, queueMail, ticketToAnswer, untilStatus } from './support.js';

/** Retries within a test's patience: 50 ms, 300 ms, 1.2 s … */
const FAST = { OUTBOUND_RETRY_BASE_SECONDS: '0.05', OUTBOUND_LEASE_MS: '2000', OUTBOUND_POLL_INTERVAL_MS: '200' };

describe('the outbox against a real relay', () => {
  let relay: TestRelay;
  let server: TestServer;
  beforeAll(async () => {
    relay = await startRelay();
    server = await startTestServer({ ...FAST, SMTP_RELAY_URL: relay.url });
  });
  afterAll(async () => {
    await server?.stop();
    await relay?.close();
  });
  afterEach(() => {
    relay.answer = () => 'accept';
  });
  const db = () => server.app.database.db;
  const config = () => server.app.config;

  it('sends a queued mail once, with its Message-ID, envelope sender its signed bounce address, and records the relay’s 250', async () => {
    const { ticket } = await ticketToAnswer(db(), config());
    const queued = await queueMail(db(), config(), ticket.id, { headers: { 'In-Reply-To': '<first@customer.example>', 'Auto-Submitted': 'auto-replied' }, replyTo: `care+t.abc@${MAIL_DOMAIN}`, html: '<p>Have you tried</p>' });
    expect(queued.status).toBe('PENDING');
    const sent = await untilStatus(db(), queued.id, ['SENT']);
    const copies = relay.received.filter((m) => m.messageId === queued.messageId);
    expect(copies).toHaveLength(1);
    expect(copies[0]!.mailFrom).toMatch(new RegExp(`^bounces\\+${queued.id}\\.[0-9a-f]{16}@${MAIL_DOMAIN.replace('.', '\\.')}$`));
    expect(copies[0]!.rcptTo).toEqual(['jane@customer.example']);
    expect(copies[0]!.raw).toMatch(/^In-Reply-To: <first@customer\.example>/m);
    expect(copies[0]!.raw).toMatch(/^Auto-Submitted: auto-replied/m);
    expect(copies[0]!.raw).toMatch(/^Reply-To: care\+t\.abc@intake\.test/m);
    expect(copies[0]!.raw).toMatch(/multipart\/alternative/);
    expect(sent).toMatchObject({ attempts: 1, lastResponse: expect.stringMatching(/^250 .*Queued as test/), leaseUntil: null });
    expect(sent.sentAt).toBeInstanceOf(Date);
  });

  it('a relay answering 451 twice, then 250, gets the mail once; the same Message-ID every time', async () => {
    const tries: string[] = [];
    relay.answer = ({ messageId }) => {
      tries.push(messageId!);
      return tries.length <= 2 ? { code: 451, message: '4.3.0 Try again later' } : 'accept';
    };
    const queued = await queueMail(db(), config(), null);
    const sent = await untilStatus(db(), queued.id, ['SENT']);
    expect(tries).toEqual([queued.messageId, queued.messageId, queued.messageId]);
    expect(relay.accepted().filter((m) => m.messageId === queued.messageId)).toHaveLength(1);
    expect(sent.attempts).toBe(3);
  });

  it('a relay that takes the message and drops the connection before answering gets it at most twice, both with the same Message-ID', async () => {
    let n = 0;
    relay.answer = () => (n++ === 0 ? 'drop' : 'accept');
    const queued = await queueMail(db(), config(), null);
    const sent = await untilStatus(db(), queued.id, ['SENT']);
    const copies = relay.received.filter((m) => m.messageId === queued.messageId);
    expect(copies.length).toBeGreaterThanOrEqual(1);
    expect(copies.length).toBeLessThanOrEqual(2);
    expect(copies.map((c) => c.answer)).toEqual(['drop', 'accept']);
    expect(sent.attempts).toBe(2);
  });

  it('550 marks the mail FAILED at once, notes why on the ticket and flags it', async () => {
    relay.answer = () => ({ code: 550, message: '5.1.1 No such user here' });
    const { ticket } = await ticketToAnswer(db(), config());
    const queued = await queueMail(db(), config(), ticket.id);
    const failed = await untilStatus(db(), queued.id, ['FAILED']);
    expect(failed.attempts).toBe(1);
    expect(failed.lastResponse).toMatch(/^550 .*No such user here/);
    const notes = await db().select().from(ticketMessages).where(eq(ticketMessages.ticketId, ticket.id));
    const note = notes.find((m) => m.kind === 'SYSTEM');
    expect(note?.bodyText).toMatch(/could not be delivered: 550 .*No such user here/);
    expect(note?.bodyText).toContain('jane@customer.example');
    expect(await listTicketTags(db(), ticket.id)).toEqual(['delivery-failed']);
  });

  it('a temporary failure that lasts past OUTBOUND_RETRY_HOURS ends FAILED with a note', async () => {
    await server.stop();
    // 0.0005 h: 1.8 s of retries.
    server = await startTestServer({ ...FAST, OUTBOUND_RETRY_HOURS: '0.0005', SMTP_RELAY_URL: relay.url });
    relay.answer = () => ({ code: 421, message: '4.7.0 Busy, come back later' });
    const { ticket } = await ticketToAnswer(db(), config());
    const queued = await queueMail(db(), config(), ticket.id);
    const failed = await untilStatus(db(), queued.id, ['FAILED']);
    expect(failed.attempts).toBeGreaterThanOrEqual(3);
    expect(failed.lastResponse).toMatch(/Busy, come back later \(gave up after \d+ attempts/);
    const notes = await db().select().from(ticketMessages).where(eq(ticketMessages.ticketId, ticket.id));
    expect(notes.some((m) => m.kind === 'SYSTEM' && /could not be delivered/.test(m.bodyText))).toBe(true);
  });

  it('a delivery report to the bounce address, through our SMTP listener, marks the mail FAILED with its diagnostic; no ticket, no answer', async () => {
    const { ticket } = await ticketToAnswer(db(), config());
    const queued = await queueMail(db(), config(), ticket.id);
    await untilStatus(db(), queued.id, ['SENT']);
    const bounceTo = relay.received.find((m) => m.messageId === queued.messageId)!.mailFrom;
    const before = relay.received.length;
    const ticketsBefore = (await server.client().request<any>('{ tickets { totalCount } }')).tickets.totalCount;

    const delivery = await deliver(server.smtpPort, { from: '', to: bounceTo, raw: dsn(bounceTo, queued.messageId) });
    expect(delivery.ok).toBe(true);
    const failed = await outboundMail(db(), queued.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.lastResponse).toBe('bounced: 550 5.1.1 <jane@customer.example>: Recipient address rejected: User unknown');
    const notes = await db().select().from(ticketMessages).where(eq(ticketMessages.ticketId, ticket.id));
    expect(notes.filter((m) => m.kind === 'SYSTEM').map((m) => m.bodyText)).toEqual([expect.stringContaining('bounced: 550 5.1.1')]);
    expect((await server.client().request<any>('{ tickets { totalCount } }')).tickets.totalCount).toBe(ticketsBefore);
    expect(relay.received.length).toBe(before);

    // A forged signature is no bounce address: refused at RCPT TO.
    const forged = bounceTo.replace(/\.([0-9a-f]{16})@/, (_, sig: string) => `.${sig.startsWith('0') ? '1' : '0'}${sig.slice(1)}@`);
    const refused = await deliver(server.smtpPort, { from: '', to: forged, raw: dsn(forged, queued.messageId) });
    expect(refused).toMatchObject({ ok: false, code: 550 });
  });

  it('a delay report changes nothing', async () => {
    const queued = await queueMail(db(), config(), null);
    await untilStatus(db(), queued.id, ['SENT']);
    const bounceTo = relay.received.find((m) => m.messageId === queued.messageId)!.mailFrom;
    expect((await deliver(server.smtpPort, { from: '', to: bounceTo, raw: dsn(bounceTo, queued.messageId, 'delayed') })).ok).toBe(true);
    expect((await outboundMail(db(), queued.id)).status).toBe('SENT');
  });

  it('shows deliveries in the API: outboundMails for admins, retryOutboundMail sends a FAILED mail again with the same row and Message-ID', async () => {
    relay.answer = () => ({ code: 554, message: '5.7.1 Rejected for policy reasons' });
    const { ticket } = await ticketToAnswer(db(), config());
    const queued = await queueMail(db(), config(), ticket.id);
    await untilStatus(db(), queued.id, ['FAILED']);
    const admin = server.client();
    const list = await admin.request<any>(
      `query ($status: OutboundMailStatus) { outboundMails(status: $status, first: 50) { totalCount nodes { id kind to subject messageId status attempts lastResponse nextAttemptAt sentAt ticket { id } } } }`,
      { status: 'FAILED' },
    );
    const listed = list.outboundMails.nodes.find((n: any) => n.messageId === queued.messageId);
    expect(listed).toMatchObject({ kind: 'REPLY', to: ['jane@customer.example'], status: 'FAILED', attempts: 1, lastResponse: expect.stringMatching(/^554/), nextAttemptAt: null, sentAt: null });
    expect(listed.ticket).not.toBeNull();

    relay.answer = () => 'accept';
    const retried = await admin.request<any>(`mutation ($input: RetryOutboundMailInput!) { retryOutboundMail(input: $input) { outboundMail { id status messageId } userErrors { field code } } }`, {
      input: { outboundMailId: listed.id },
    });
    expect(retried.retryOutboundMail).toMatchObject({ userErrors: [], outboundMail: { id: listed.id, messageId: queued.messageId } });
    const sent = await untilStatus(db(), queued.id, ['SENT']);
    expect(sent.id).toBe(queued.id);
    expect(relay.accepted().filter((m) => m.messageId === queued.messageId)).toHaveLength(1);

    const again = await admin.request<any>(`mutation ($input: RetryOutboundMailInput!) { retryOutboundMail(input: $input) { outboundMail { id } userErrors { field code } } }`, {
      input: { outboundMailId: listed.id },
    });
    expect(again.retryOutboundMail).toEqual({ outboundMail: null, userErrors: [{ field: ['input', 'outboundMailId'], code: 'NOT_FAILED' }] });
  });

  it('TicketMessage.delivery shows an agent whether the reply went out; outboundMails is for admins', async () => {
    const { ticket } = await ticketToAnswer(db(), config());
    const [message] = await db()
      .insert(ticketMessages)
      .values({ ticketId: ticket.id, kind: 'MESSAGE', authorKind: 'AGENT', authorName: 'Ann', bodyText: 'Have you tried', bodyHtml: '<p>Have you tried</p>' })
      .returning();
    const queued = await queueMail(db(), config(), ticket.id, { ticketMessageId: message!.id });
    await untilStatus(db(), queued.id, ['SENT']);
    const created = await server.client().request<any>(`mutation { createAgent(input: { name: "Ann", email: "ann@intake.test" }) { agent { id } } }`);
    const token = await server.client().request<any>(`mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`, {
      input: { name: 'ann', role: 'AGENT', agentId: created.createAgent.agent.id },
    });
    const agent = graphqlClient(server.graphqlUrl, token.createApiToken.token);
    const seen = await agent.request<any>(`query ($id: ID!) { node(id: $id) { ... on Ticket { messages(first: 50) { nodes { bodyText delivery { status attempts lastResponse sentAt messageId } } } } } }`, {
      id: Buffer.from(`Ticket:${ticket.id}`).toString('base64'),
    });
    const reply = seen.node.messages.nodes.find((m: any) => m.bodyText === 'Have you tried');
    expect(reply.delivery).toMatchObject({ status: 'SENT', attempts: 1, messageId: queued.messageId, lastResponse: expect.stringMatching(/^250/) });
    expect(seen.node.messages.nodes.filter((m: any) => m.delivery !== null)).toHaveLength(1);
    await expect(agent.request(`{ outboundMails(first: 5) { totalCount } }`)).rejects.toThrow(/FORBIDDEN|admin/i);
  });
});

describe('without a relay', () => {
  it('mail stays HELD, visible, and goes out once a relay is set', async () => {
    const database = await createTestDatabase();
    const relay = await startRelay();
    const env = { ...database.env, ...FAST, PORT: '0', SMTP_PORT: '0', MAIL_DOMAIN, INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' };
    try {
      const first = await startApp(loadConfig(env));
      let queuedId: number;
      let messageId: string;
      try {
        const { ticket } = await ticketToAnswer(first.database.db, first.config);
        const queued = await queueMail(first.database.db, first.config, ticket.id);
        [queuedId, messageId] = [queued.id, queued.messageId];
        expect(queued.status).toBe('HELD');
        const shown = await graphqlClient(`${first.http.url}/graphql`, ADMIN_TOKEN).request<any>(`{ outboundMails(status: HELD) { totalCount nodes { messageId status } } }`);
        expect(shown.outboundMails).toEqual({ totalCount: 1, nodes: [{ messageId, status: 'HELD' }] });
      } finally {
        await first.stop();
      }
      expect(relay.received).toHaveLength(0);
      const second = await startApp(loadConfig({ ...env, SMTP_RELAY_URL: relay.url }));
      try {
        const sent = await untilStatus(second.database.db, queuedId, ['SENT']);
        expect(sent.messageId).toBe(messageId);
        expect(relay.received.map((m) => m.messageId)).toEqual([messageId]);
      } finally {
        await second.stop();
      }
    } finally {
      await relay.close();
      await database.drop();
    }
  });
});

describe('the retry schedule', () => {
  it('grows 5 s, 30 s, 2 min, 10 min, 30 min, then hourly, scaled by the base, within ±20 %', () => {
    const at = (attempt: number, random: number, base = 5) => retryDelayMs(attempt, base, () => random);
    expect([1, 2, 3, 4, 5, 6, 7, 30].map((n) => at(n, 0.5))).toEqual([5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 3_600_000, 3_600_000]);
    expect(at(1, 0)).toBe(4_000);
    expect(at(1, 1)).toBe(6_000);
    expect(at(2, 0.5, 0.05)).toBe(300);
  });
});

/** A delivery status notification (RFC 3464) for our mail, as a receiving MTA sends it. */
function dsn(to: string, messageId: string, action: 'failed' | 'delayed' = 'failed'): string {
  const b = 'dsn-' + Math.random().toString(36).slice(2);
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <${Math.random().toString(36).slice(2)}@mx.customer.example>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'I could not deliver your message.',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.customer.example',
    '',
    'Final-Recipient: rfc822; jane@customer.example',
    `Action: ${action}`,
    `Status: ${action === 'failed' ? '5.1.1' : '4.4.1'}`,
    `Diagnostic-Code: smtp; ${action === 'failed' ? '550 5.1.1 <jane@customer.example>: Recipient address rejected: User unknown' : '451 4.4.1 Try later'}`,
    '',
    `--${b}`,
    'Content-Type: text/rfc822-headers',
    '',
    `Message-ID: <${messageId}>`,
    'Subject: Re: Printer on fire',
    '',
    `--${b}--`,
    '',
  ].join('\r\n');
}
