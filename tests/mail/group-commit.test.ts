import { sql } from 'drizzle-orm';
import { gql } from 'graphql-request';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suitePostgresUrl } from '../support/databases.js';
import { createTeam } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { MAIL_DOMAIN, startTestServer, subscribe, untilSubscribed, type TestServer } from '../support/server.js';
import { deliver, mail, type Delivery } from '../support/smtp.js';

// Mails that arrive while others are being stored share a transaction (MailIntakeQueue). These
// tests deliver concurrently over real SMTP connections and check that sharing changes nothing
// a sender or an agent can see.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SMTP_MAX_CLIENTS_PER_ADDRESS: '100' });
});
afterAll(async () => {
  await server?.stop();
});

const TICKETS = gql`
  query ($teamId: ID!) {
    tickets(filter: { teamId: $teamId }, first: 100) {
      totalCount
      nodes { id title description createdAt customer { name email } messages(first: 10) { nodes { bodyText author { email } } } }
    }
  }
`;
async function ticketsOf(teamId: string) {
  const { tickets } = await server.client().request<any>(TICKETS, { teamId });
  return tickets as { totalCount: number; nodes: any[] };
}
async function inboundStatuses(subjectPrefix: string) {
  const { inboundMails } = await server.client().request<any>(gql`{ inboundMails(first: 100) { nodes { status subject ticket { title } } } }`);
  return (inboundMails.nodes as any[]).filter((n) => n.subject?.startsWith(subjectPrefix));
}

describe('mail arriving together', () => {
  it('gives each mail its own ticket, customer and first message, and tells subscribers of each', async () => {
    const team = await createTeam(server, 'Together');
    const to = `together@${MAIL_DOMAIN}`;
    const created = subscribe(server.wsClient(), `subscription ($t: ID) { ticketCreated(teamId: $t) { node { title customer { email } } } }`, { t: team.id });
    await untilSubscribed(server, 1);
    const count = 24;
    const deliveries = await Promise.all(
      Array.from({ length: count }, (_, n) =>
        deliver(server.smtpPort, { from: `sender-${n}@example.com`, to, raw: mail({ from: `Sender ${n} <sender-${n}@example.com>`, to, subject: `Together ${n}`, body: `Body of mail ${n}` }) }),
      ),
    );
    expect(deliveries.filter((d) => !d.ok)).toEqual([]);

    const { totalCount, nodes } = await ticketsOf(team.id);
    expect(totalCount).toBe(count);
    for (const ticket of nodes) {
      const n = /^Together (\d+)$/.exec(ticket.title)![1];
      expect(ticket.customer).toEqual({ name: `Sender ${n}`, email: `sender-${n}@example.com` });
      expect(ticket.description).toBe(`Body of mail ${n}`);
      expect(ticket.messages.nodes).toEqual([{ bodyText: `Body of mail ${n}`, author: { email: `sender-${n}@example.com` } }]);
    }

    const events = await created.waitFor(count);
    expect(events.map((e: any) => e.ticketCreated.node.title).sort()).toEqual(nodes.map((t) => t.title).sort());
    created.dispose();
  });

  it('makes one ticket per team for a mail to several aliases among others', async () => {
    const first = await createTeam(server, 'Billing Desk');
    const second = await createTeam(server, 'Sales Desk');
    const both = [`billing-desk@${MAIL_DOMAIN}`, `sales-desk@${MAIL_DOMAIN}`];
    const deliveries = await Promise.all([
      deliver(server.smtpPort, { from: 'both@example.com', to: both, raw: mail({ from: 'both@example.com', to: both.join(', '), subject: 'For both desks' }) }),
      ...[1, 2, 3].map((n) =>
        deliver(server.smtpPort, { from: `only-${n}@example.com`, to: both[0]!, raw: mail({ from: `only-${n}@example.com`, to: both[0]!, subject: `Billing only ${n}` }) }),
      ),
    ]);
    expect(deliveries.every((d) => d.ok)).toBe(true);
    expect((await ticketsOf(first.id)).nodes.map((t) => t.title).sort()).toEqual(['Billing only 1', 'Billing only 2', 'Billing only 3', 'For both desks']);
    expect((await ticketsOf(second.id)).nodes.map((t) => t.title)).toEqual(['For both desks']);
  });
});

// Holding a lock on inbound_mails from a second connection stalls the batch being stored, so
// the mails delivered meanwhile are all waiting when it is released: what a busy server sees.
// PGlite has a single connection, so these run in the PostgreSQL pass of the suite.

describe.runIf(suitePostgresUrl !== undefined)('mail waiting behind a busy batch (PostgreSQL)', () => {
  async function withIntakeStalled(work: (send: (message: Parameters<typeof deliver>[1]) => Promise<{ delivery: Promise<Delivery> }>) => Promise<void>) {
    const admin = postgres(server.app.config.databaseUrl!, { max: 1, onnotice: () => {} });
    const sent: Array<Promise<Delivery>> = [];
    try {
      await admin.begin(async (tx) => {
        await tx`lock table inbound_mails in access exclusive mode`;
        // This mail's batch blocks on the lock; everything sent after it queues up.
        sent.push(deliver(server.smtpPort, { from: 'first@example.com', to: `waiting@${MAIL_DOMAIN}`, raw: mail({ from: 'first@example.com', to: `waiting@${MAIL_DOMAIN}`, subject: 'Stalled first' }) }));
        await waitFor(async () => (await tx<Array<{ n: number }>>`select count(*)::int as n from pg_locks where relation = 'inbound_mails'::regclass and not granted`)[0]!.n > 0, {
          what: 'the first batch waiting for the lock',
        });
        await work(async (message) => {
          const delivery = deliver(server.smtpPort, message);
          sent.push(delivery);
          // Queued in this order: each mail is parsed and waiting before the next is sent. The
          // one fixed wait left in the suite: the intake queue's length is not visible from
          // outside src/mail (a read-only count there would make this a wait for a fact).
          await new Promise((resolve) => setTimeout(resolve, 150));
          return { delivery };
        });
      });
      expect((await Promise.all(sent)).filter((d) => !d.ok && d.code !== 451)).toEqual([]);
    } finally {
      await admin.end({ timeout: 1 });
    }
  }

  it('keeps threads, duplicates and one sender apart: each sees the mail it depends on committed', async () => {
    const team = await createTeam(server, 'Waiting');
    const to = `waiting@${MAIL_DOMAIN}`;
    const results: Record<string, Promise<Delivery>> = {};
    await withIntakeStalled(async (send) => {
      results.original = (await send({ from: 'ann@example.com', to, raw: mail({ from: 'Ann <ann@example.com>', to, subject: 'Dependent original', messageId: 'dep-original@example.com' }) })).delivery;
      results.other = (await send({ from: 'otto@example.com', to, raw: mail({ from: 'otto@example.com', to, subject: 'Dependent unrelated' }) })).delivery;
      results.reply = (await send({
        from: 'bob@example.com',
        to,
        raw: mail({ from: 'bob@example.com', to, subject: 'Re: Dependent original', body: 'A reply', headers: { 'In-Reply-To': '<dep-original@example.com>' } }),
      })).delivery;
      results.again = (await send({ from: 'ann@example.com', to, raw: mail({ from: 'Ann <ann@example.com>', to, subject: 'Dependent original', messageId: 'dep-original@example.com' }) })).delivery;
      results.second = (await send({ from: 'ann@example.com', to, raw: mail({ from: 'ann@example.com', to, subject: 'Dependent second from Ann' }) })).delivery;
    });
    for (const delivery of Object.values(results)) expect((await delivery).ok).toBe(true);

    const { nodes } = await ticketsOf(team.id);
    const byTitle = new Map(nodes.map((t) => [t.title, t]));
    expect([...byTitle.keys()].sort()).toEqual(['Dependent original', 'Dependent second from Ann', 'Dependent unrelated', 'Stalled first']);
    // The reply waited for its original's batch and was threaded onto it.
    expect(byTitle.get('Dependent original').messages.nodes.map((m: any) => m.bodyText)).toEqual(['Hello', 'A reply']);
    // The independent ones went together: one transaction, one timestamp.
    expect(byTitle.get('Dependent original').createdAt).toBe(byTitle.get('Dependent unrelated').createdAt);
    expect(byTitle.get('Dependent second from Ann').createdAt).not.toBe(byTitle.get('Dependent original').createdAt);
    const statuses = await inboundStatuses('Dependent original');
    expect(statuses.map((s) => s.status).sort()).toEqual(['DUPLICATE', 'PROCESSED']);
  });

  it('keeps the one mail the database refuses as QUARANTINED (250, with the cause) and stores the rest of its batch', async () => {
    const team = await createTeam(server, 'Isolated');
    const to = `isolated@${MAIL_DOMAIN}`;
    await server.app.database.rows(sql`
      create function refuse_exploding_ticket() returns trigger language plpgsql as $$
      begin
        if new.title = 'Explodes' then raise exception 'refused by test trigger'; end if;
        return new;
      end $$`);
    await server.app.database.rows(sql`create trigger refuse_exploding before insert on tickets for each row execute function refuse_exploding_ticket()`);
    const raw = mail({ from: 'carl@example.com', to, subject: 'Explodes', messageId: 'explodes@example.com' });
    const results: Promise<Delivery>[] = [];
    try {
      await withIntakeStalled(async (send) => {
        results.push((await send({ from: 'dora@example.com', to, raw: mail({ from: 'dora@example.com', to, subject: 'Survives 1' }) })).delivery);
        results.push((await send({ from: 'carl@example.com', to, raw })).delivery);
        results.push((await send({ from: 'emil@example.com', to, raw: mail({ from: 'emil@example.com', to, subject: 'Survives 2' }) })).delivery);
      });
    } finally {
      await server.app.database.rows(sql`drop trigger refuse_exploding on tickets`);
      await server.app.database.rows(sql`drop function refuse_exploding_ticket`);
    }
    const [first, exploding, second] = await Promise.all(results);
    expect(first!.ok).toBe(true);
    expect(second!.ok).toBe(true);
    // Not 451: the sender would retry for days a mail we can never store as it is.
    expect(exploding).toMatchObject({ ok: true });
    expect((await ticketsOf(team.id)).nodes.map((t) => t.title).sort()).toEqual(['Survives 1', 'Survives 2']);
    const { inboundMails } = await server.client().request<any>(gql`{ inboundMails(first: 100) { nodes { status reason envelope { mailFrom } } } }`);
    const kept = (inboundMails.nodes as any[]).filter((n) => n.envelope.mailFrom === 'carl@example.com');
    expect(kept).toEqual([{ status: 'QUARANTINED', reason: expect.stringContaining('refused by test trigger'), envelope: { mailFrom: 'carl@example.com' } }]);
    // Sent again once the cause is gone: exactly one ticket.
    expect((await deliver(server.smtpPort, { from: 'carl@example.com', to, raw })).ok).toBe(true);
    expect((await ticketsOf(team.id)).nodes.map((t) => t.title).sort()).toEqual(['Explodes', 'Survives 1', 'Survives 2']);
  });
});
