import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { gql } from 'graphql-request';
import { simpleParser, type AddressObject } from 'mailparser';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type TestRelay } from '../outbound/relay.js';
import { createTeam } from '../support/fixtures.js';
import { MAIL_DOMAIN, startTestServer, type TestServer } from '../support/server.js';
import { deliver, mail } from '../support/smtp.js';
import { waitFor } from '../support/wait.js';

// A real relay started here (smtp-server), the real API and our real SMTP listener.
const SELECTOR = 'intake';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKey = (keys.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
/** The DNS of the test: the DKIM record of MAIL_DOMAIN under our selector, nothing else. */
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === `${SELECTOR}._domainkey.${MAIL_DOMAIN}`) return [[`v=DKIM1; k=rsa; p=${publicKey}`]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
};

let keyDir: string;
let relay: TestRelay;
let server: TestServer;
beforeAll(async () => {
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'intake-dkim-'));
  const keyFile = path.join(keyDir, 'dkim.pem');
  writeFileSync(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  relay = await startRelay();
  server = await startTestServer({ SMTP_RELAY_URL: relay.url, DKIM_PRIVATE_KEY_FILE: keyFile, DKIM_SELECTOR: SELECTOR, ACK_MAX_PER_SENDER_PER_HOUR: '3' });
});
afterAll(async () => {
  await server?.stop();
  await relay?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

const addresses = (field: AddressObject | AddressObject[] | undefined) => (Array.isArray(field) ? field : field ? [field] : []).flatMap((f) => f.value.map((v) => v.address));
const relayedTo = (address: string) => relay.accepted().filter((m) => m.rcptTo.includes(address));
async function ticketsOfTeam(teamId: string) {
  const { tickets } = await server.client().request<any>(
    gql`query ($t: ID!) { tickets(filter: { teamId: $t }, first: 10) { nodes { id number title messages(first: 10) { nodes { kind bodyText author { kind } delivery { messageId status } } } } } }`,
    { t: teamId },
  );
  return tickets.nodes as any[];
}

describe('a reply through the relay', () => {
  it('arrives once with our headers, text and HTML, DKIM-signed, and its answer comes back to the ticket', async () => {
    const team = await createTeam(server, 'Customer Care');
    const alias = `customer-care@${MAIL_DOMAIN}`;
    const raw = mail({ from: 'Ann Lee <ann@example.com>', to: alias, subject: 'Printer broken', body: 'It broke.', messageId: 'ann-1@mail.example.com' });
    expect(await deliver(server.smtpPort, { from: 'ann@example.com', to: alias, raw })).toMatchObject({ ok: true });
    const [ticket] = await ticketsOfTeam(team.id);

    const { replyToTicket } = await server.client().request<any>(
      gql`mutation ($input: ReplyToTicketInput!) { replyToTicket(input: $input) { message { id delivery { messageId status } } userErrors { code } } }`,
      { input: { ticketId: ticket.id, body: 'Hello Ann,\n\nsee https://help.example/printers.', cc: ['boss@example.com'] } },
    );
    expect(replyToTicket.userErrors).toEqual([]);
    const ourId = replyToTicket.message.delivery.messageId;
    await waitFor(() => relayedTo('ann@example.com').length === 1, { what: 'the reply at the relay' });
    const [relayed] = relayedTo('ann@example.com');
    expect(relayed!.rcptTo.sort()).toEqual(['ann@example.com', 'boss@example.com']);
    expect(relayed!.mailFrom).toMatch(new RegExp(`^bounces\\+\\d+\\.[0-9a-f]+@${MAIL_DOMAIN.replace('.', '\\.')}$`));

    const parsed = await simpleParser(relayed!.raw);
    expect(parsed.from?.value).toEqual([{ name: 'Customer Care', address: alias }]);
    expect(addresses(parsed.to)).toEqual(['ann@example.com']);
    expect(addresses(parsed.cc)).toEqual(['boss@example.com']);
    expect(parsed.subject).toBe(`Re: Printer broken [#${ticket.number}]`);
    expect(parsed.messageId).toBe(`<${ourId}>`);
    expect(parsed.inReplyTo).toBe('<ann-1@mail.example.com>');
    expect(parsed.references).toBe('<ann-1@mail.example.com>');
    const replyTo = addresses(parsed.replyTo)[0]!;
    expect(replyTo).toMatch(new RegExp(`^customer-care\\+t\\d+\\.[0-9a-f]{16}@${MAIL_DOMAIN.replace('.', '\\.')}$`));
    expect(parsed.text?.trim()).toBe('Hello Ann,\n\nsee https://help.example/printers.');
    expect(parsed.html).toContain('<a href="https://help.example/printers"');
    expect(parsed.headers.get('auto-submitted')).toBeUndefined();

    // DKIM: signed for the alias's domain, and the signature holds (a changed body breaks it).
    const verified = await dkimVerify(Buffer.from(relayed!.raw), { resolver });
    expect(verified.results).toEqual([expect.objectContaining({ signingDomain: MAIL_DOMAIN, selector: SELECTOR, status: expect.objectContaining({ result: 'pass' }) })]);
    const tampered = await dkimVerify(Buffer.from(relayed!.raw.replace('Hello Ann', 'Hello Bob')), { resolver });
    expect(tampered.results[0]?.status.result).not.toBe('pass');

    await waitFor(async () => (await ticketsOfTeam(team.id))[0].messages.nodes.some((m: any) => m.delivery?.status === 'SENT'), { what: 'the reply SENT' });

    // Ann answers from her mail client: to the Reply-To, a new subject, her own Message-ID.
    const answer = mail({ from: 'Ann Lee <ann@example.com>', to: replyTo, subject: 'Printer', body: 'Still broken.', headers: { 'In-Reply-To': `<${ourId}>`, References: `<ann-1@mail.example.com> <${ourId}>` } });
    expect(await deliver(server.smtpPort, { from: 'ann@example.com', to: replyTo, raw: answer })).toMatchObject({ ok: true });
    const [after, ...others] = await ticketsOfTeam(team.id);
    expect(others).toEqual([]);
    expect(after.messages.nodes.map((m: any) => [m.author.kind, m.bodyText])).toEqual([
      ['CUSTOMER', 'It broke.'],
      ['AGENT', 'Hello Ann,\n\nsee https://help.example/printers.'],
      ['CUSTOMER', 'Still broken.'],
    ]);
  });
});

describe('acknowledgements through the relay', () => {
  it('arrive auto-submitted from the alias with the ticket Reply-To', async () => {
    const team = await createTeam(server, 'Ack Care', { acknowledgeNewTickets: true });
    const alias = `ack-care@${MAIL_DOMAIN}`;
    const raw = mail({ from: 'Bo <bo@example.com>', to: alias, subject: 'Need help', headers: { 'Accept-Language': 'es-ES' } });
    expect(await deliver(server.smtpPort, { from: 'bo@example.com', to: alias, raw })).toMatchObject({ ok: true });
    await waitFor(() => relayedTo('bo@example.com').length === 1, { what: 'the acknowledgement at the relay' });
    const [ticket] = await ticketsOfTeam(team.id);
    const parsed = await simpleParser(relayedTo('bo@example.com')[0]!.raw);
    expect(parsed.from?.value).toEqual([{ name: 'Ack Care', address: alias }]);
    expect(parsed.subject).toBe(`Recibido: Need help [#${ticket.number}]`);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.headers.get('x-auto-response-suppress')).toBe('All');
    expect(addresses(parsed.replyTo)[0]).toMatch(/^ack-care\+t\d+\.[0-9a-f]{16}@/);
    expect(parsed.text).toContain(`#${ticket.number}`);
    expect(parsed.text).toContain('Ack Care');
  });
});

describe('an auto-responder answering every mail', () => {
  for (const toReplyTo of [true, false]) {
    it(`produces one ticket and at most ACK_MAX_PER_SENDER_PER_HOUR acknowledgements (answering ${toReplyTo ? 'the Reply-To' : 'the From with new subjects'})`, async () => {
      // The responder is the server's relay, so it starts first and learns our port after.
      let loopServer: TestServer | undefined;
      const holder: { port: number } = { port: 0 };
      const bouncing = await startAutoResponder(holder, toReplyTo);
      try {
        loopServer = await startTestServer({ SMTP_RELAY_URL: bouncing.url, ACK_MAX_PER_SENDER_PER_HOUR: '3' });
        holder.port = loopServer.smtpPort;
        const team = await createTeamOn(loopServer, 'Loop Care');
        const alias = `loop-care@${MAIL_DOMAIN}`;
        const first = mail({ from: 'away@example.com', to: alias, subject: 'Question', body: 'Hello?' });
        expect(await deliver(loopServer.smtpPort, { from: 'away@example.com', to: alias, raw: first })).toMatchObject({ ok: true });

        const acks = async () => (await loopServer!.client().request<any>(gql`{ outboundMails(first: 100) { nodes { kind status to } } }`)).outboundMails.nodes.filter((m: any) => m.kind === 'ACKNOWLEDGEMENT');
        const tickets = async () => (await loopServer!.client().request<any>(gql`query ($t: ID!) { tickets(filter: { teamId: $t }, first: 100) { totalCount nodes { messages { totalCount } } } }`, { t: team.id })).tickets;
        // The loop is over once every acknowledgement went out and every answer to one is stored.
        await waitFor(
          async () => {
            const sent = await acks();
            return sent.length > 0 && sent.every((m: any) => m.status === 'SENT') && bouncing.answered() === sent.length;
          },
          { timeout: 30_000, what: 'every acknowledgement sent and answered' },
        );
        const final = await acks();
        expect(final.length).toBeGreaterThanOrEqual(1);
        expect(final.length).toBeLessThanOrEqual(3);
        expect(bouncing.failures).toEqual([]);
        const { totalCount, nodes } = await tickets();
        if (toReplyTo) {
          expect(totalCount).toBe(1);
          expect(final).toHaveLength(1);
          expect(nodes[0].messages.totalCount).toBe(2);
        } else {
          // Each answer looks new: one ticket each until the cap stops the acknowledgements, then the loop starves.
          expect(final).toHaveLength(3);
          expect(totalCount).toBe(4);
        }
      } finally {
        await loopServer?.stop();
        await bouncing.close();
      }
    });
  }
});

async function createTeamOn(on: TestServer, name: string) {
  const { createTeam } = await on.client().request<any>(gql`mutation ($n: String!) { createTeam(input: { name: $n, acknowledgeNewTickets: true }) { team { id } } }`, { n: name });
  return createTeam.team as { id: string };
}

/**
 * An auto-responder of the worst kind: it answers every mail it gets, without Auto-Submitted,
 * from the address it was written to, back into our SMTP port (`holder.port`, read when it
 * answers). `toReplyTo` says whether it answers the Reply-To (as mail clients and most
 * responders do) or the From address with a subject of its own (as a broken one does, so that
 * every answer looks like a new request).
 */
async function startAutoResponder(holder: { port: number }, toReplyTo: boolean) {
  let answered = 0;
  const failures: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const responder = session.envelope.rcptTo[0]!.address;
        callback(null, 'Queued');
        const got = await simpleParser(Buffer.concat(chunks));
        const to = toReplyTo ? (addresses(got.replyTo)[0] ?? addresses(got.from)[0]!) : addresses(got.from)[0]!;
        const subject = toReplyTo ? `Auto: ${got.subject}` : `I am away (${Math.random().toString(36).slice(2, 8)})`;
        const sent = await deliver(holder.port, { from: responder, to, raw: mail({ from: responder, to, subject, body: 'I am away until Monday.' }) });
        if (sent.ok) answered++;
        else failures.push(sent.response);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    answered: () => answered,
    failures,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
