import { decodeGlobalID } from '@pothos/plugin-relay';
import { and, asc, eq } from 'drizzle-orm';
import { gql, GraphQLClient } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareFirstStart } from '../../src/app.js';
import { outboundMails } from '../../src/outbound/tables.js';
import { createTeam } from '../support/fixtures.js';
import { MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';

// No SMTP_RELAY_URL: acknowledgements stay HELD in the outbox, where this file reads them.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ ACK_MAX_PER_SENDER_PER_HOUR: '3' });
});
afterAll(async () => {
  await server?.stop();
});

const rowId = (globalId: string) => Number(decodeGlobalID(globalId).id);
const acksTo = (address: string) =>
  server.app.database.db
    .select()
    .from(outboundMails)
    .where(and(eq(outboundMails.kind, 'ACKNOWLEDGEMENT'), eq(outboundMails.to, [address])))
    .orderBy(asc(outboundMails.id));
async function ticketsOfTeam(teamId: string) {
  const { tickets } = await server.client().request<any>(gql`query ($t: ID!) { tickets(filter: { teamId: $t }, first: 50) { nodes { id number title } } }`, { t: teamId });
  return tickets.nodes as Array<{ id: string; number: number; title: string }>;
}
async function acknowledgingTeam(name: string) {
  const team = await createTeam(server, name, { acknowledgeNewTickets: true });
  return { team, alias: `${name.toLowerCase().replace(/ /g, '-')}@${MAIL_DOMAIN}` };
}
async function send(from: string, to: string, fields: { subject: string; headers?: Record<string, string>; name?: string; messageId?: string }) {
  const raw = mail({ from: fields.name ? `${fields.name} <${from}>` : from, to, subject: fields.subject, body: 'Help', headers: fields.headers, messageId: fields.messageId });
  expect(await deliver(server.smtpPort, { from, to, raw })).toMatchObject({ ok: true });
}

describe('acknowledgements of new tickets', () => {
  it('are off by default and switched by updateTeam', async () => {
    const plain = await createTeam(server, 'Quiet Desk');
    const read = gql`query ($id: ID!) { team(id: $id) { acknowledgeNewTickets } }`;
    expect((await server.client().request<any>(read, { id: plain.id })).team.acknowledgeNewTickets).toBe(false);
    await send('quiet@example.com', `quiet-desk@${MAIL_DOMAIN}`, { subject: 'Nobody answers' });
    expect(await acksTo('quiet@example.com')).toEqual([]);

    const { updateTeam } = await server.client().request<any>(gql`mutation ($id: ID!) { updateTeam(input: { id: $id, acknowledgeNewTickets: true }) { team { acknowledgeNewTickets } userErrors { code } } }`, { id: plain.id });
    expect(updateTeam).toEqual({ team: { acknowledgeNewTickets: true }, userErrors: [] });
    await send('quiet@example.com', `quiet-desk@${MAIL_DOMAIN}`, { subject: 'Now you do' });
    expect(await acksTo('quiet@example.com')).toHaveLength(1);

  });

  it('mail the customer from the alias with the ticket Reply-To, auto-submitted, in the language of the mail', async () => {
    const { team, alias } = await acknowledgingTeam('Ack Desk');
    await send('zoe@example.com', alias, { subject: 'Facture en double', name: 'Zoë', headers: { 'Content-Language': 'fr-BE' }, messageId: 'first-fr@mail.example.com' });
    const [ticket] = await ticketsOfTeam(team.id);
    const [ack, ...more] = await acksTo('zoe@example.com');
    expect(more).toEqual([]);
    expect(ack).toMatchObject({
      kind: 'ACKNOWLEDGEMENT',
      status: 'HELD',
      ticketId: rowId(ticket!.id),
      fromAddress: `"Ack Desk" <${alias}>`,
      subject: `Reçu: Facture en double [#${ticket!.number}]`,
      headers: {
        'Auto-Submitted': 'auto-replied',
        'X-Auto-Response-Suppress': 'All',
        'Content-Language': 'fr',
        'In-Reply-To': '<first-fr@mail.example.com>',
        References: '<first-fr@mail.example.com>',
      },
    });
    expect(ack!.replyTo).toMatch(new RegExp(`^ack-desk\\+t${rowId(ticket!.id)}\\.[0-9a-f]{16}@`));
    expect(ack!.bodyText).toContain(`#${ticket!.number}`);
    expect(ack!.bodyText).toContain('Facture en double');
    expect(ack!.bodyText).toContain('Ack Desk');
    expect(ack!.bodyText).toMatch(/^Bonjour Zoë,/);

    // An answer to the acknowledgement threads onto the ticket.
    await send('zoe@example.com', ack!.replyTo!, { subject: 'Autre chose' });
    expect(await ticketsOfTeam(team.id)).toHaveLength(1);
    expect(await acksTo('zoe@example.com')).toHaveLength(1);
  });

  it('are English when the language is unknown', async () => {
    const { alias } = await acknowledgingTeam('English Desk');
    await send('eli@example.com', alias, { subject: 'Hello' });
    const [ack] = await acksTo('eli@example.com');
    expect(ack!.subject).toMatch(/^Received: Hello \[#\d+\]$/);
    expect(ack!.headers['Content-Language']).toBe('en');
  });

  it('never answer automated mail or no-reply senders, whose mail still makes its ticket as before', async () => {
    const { team, alias } = await acknowledgingTeam('Robot Desk');
    await send('noreply@shop.example', alias, { subject: 'Your order' });
    await send('do-not-reply@bank.example', alias, { subject: 'Statement' });
    await send('robot@example.com', alias, { subject: 'Out of office', headers: { 'Auto-Submitted': 'auto-replied' } });
    await send('list@example.com', alias, { subject: 'Newsletter', headers: { Precedence: 'bulk' } });
    expect((await ticketsOfTeam(team.id)).map((t) => t.title).sort()).toEqual(['Statement', 'Your order']);
    for (const address of ['noreply@shop.example', 'do-not-reply@bank.example', 'robot@example.com', 'list@example.com']) expect(await acksTo(address)).toEqual([]);
  });

  it(`stop at ACK_MAX_PER_SENDER_PER_HOUR per sender within the hour, across teams`, async () => {
    const one = await acknowledgingTeam('Busy Desk');
    const two = await acknowledgingTeam('Other Busy Desk');
    for (let i = 0; i < 3; i++) await send('busy@example.com', one.alias, { subject: `Question ${i}` });
    await send('busy@example.com', two.alias, { subject: 'Elsewhere' });
    await send('BUSY@example.com', one.alias, { subject: 'Shouting' });
    expect(await ticketsOfTeam(one.team.id)).toHaveLength(4);
    expect(await ticketsOfTeam(two.team.id)).toHaveLength(1);
    expect(await acksTo('busy@example.com')).toHaveLength(3);
    expect(await acksTo('BUSY@example.com')).toHaveLength(0);
    // Another sender is not held back.
    await send('calm@example.com', one.alias, { subject: 'Calm' });
    expect(await acksTo('calm@example.com')).toHaveLength(1);
  });

  it('follow tickets from the website form, in the language of the browser', async () => {
    const { createTeam } = await server.client().request<any>(gql`mutation { createTeam(input: { name: "Form Ack", useWebsiteForm: true, acknowledgeNewTickets: true }) { team { id } } }`);
    const teamId = createTeam.team.id;
    await server.client().request(gql`mutation ($t: ID!) { publishWebsiteForm(input: { teamId: $t }) { websiteForm { published } } }`, { t: teamId });
    const browser = new GraphQLClient(server.graphqlUrl, { headers: { 'accept-language': 'nl-BE,nl;q=0.9,en;q=0.8' } });
    const { submitWebsiteForm } = await browser.request<any>(gql`mutation ($input: SubmitWebsiteFormInput!) { submitWebsiteForm(input: $input) { ticketNumber userErrors { code } } }`, {
      input: {
        teamId,
        values: [
          { key: 'name', value: 'Noor' },
          { key: 'email', value: 'noor@example.be' },
          { key: 'subject', value: 'Factuur' },
          { key: 'description', value: 'Twee keer betaald.' },
        ],
      },
    });
    expect(submitWebsiteForm.userErrors).toEqual([]);
    const [ack] = await acksTo('noor@example.be');
    expect(ack).toMatchObject({ subject: `Ontvangen: Factuur [#${submitWebsiteForm.ticketNumber}]`, headers: { 'Content-Language': 'nl', 'Auto-Submitted': 'auto-replied' } });
    expect(ack!.bodyText).toMatch(/^Hallo Noor,/);
    expect(ack!.headers['In-Reply-To']).toBeUndefined();
  });
});

describe('the demo team', () => {
  it('acknowledges new tickets', async () => {
    const fresh = await startTestServer();
    try {
      const first = await prepareFirstStart({ database: fresh.app.database, config: fresh.app.config });
      expect(first.team).toMatchObject({ name: 'Customer Care' });
      const { teams } = await fresh.client().request<any>(gql`{ teams { name acknowledgeNewTickets } }`);
      expect(teams).toEqual([{ name: 'Customer Care', acknowledgeNewTickets: true }]);
    } finally {
      await fresh.stop();
    }
  });
});
