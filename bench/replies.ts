import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { dropDatabase, freshDatabase, report, startProcess, stopProcess, takeTurns, type LoadRun, closedLoop } from './support.js';

const DB = 'intake_bench_replies';
const DOMAIN = 'bench.test';
const HTTP_PORT = 4708;
const TOKEN = 'bench-replies';
/** Agents answering at once, each waiting for the relay's 250 of their reply. */
const IN_FLIGHT = 8;

/**
 * Time from replyToTicket (over HTTP, the real API) to the relay's 250 for the reply's
 * Message-ID, beside a baseline doing the least an answer by mail takes without an outbox: an
 * internal note through the same API (a chatter write), then nodemailer sending the same mail
 * straight to the relay.
 */
export async function benchReplies(seconds: number) {
  const url = await freshDatabase(DB);
  const waiting = new Map<string, () => void>();
  const seen = new Set<string>();
  const relay = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 4096) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        callback(null, 'OK');
        const id = /^Message-ID:\s*<([^>]+)>/im.exec(head)?.[1];
        if (!id) return;
        // The 250 may come before the API's answer has told the loop the Message-ID.
        const waiter = waiting.get(id);
        if (waiter) waiter();
        else seen.add(id);
      });
    },
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
  const relayUrl = `smtp://127.0.0.1:${(relay.server.address() as AddressInfo).port}`;
  const until = (messageId: string) =>
    seen.delete(messageId) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(messageId, () => (waiting.delete(messageId), resolve())));
  const api = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(`http://127.0.0.1:${HTTP_PORT}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ query, variables }) });
    const json = (await res.json()) as { data?: any; errors?: unknown };
    if (!json.data) throw new Error(JSON.stringify(json.errors));
    return json.data;
  };
  const direct = nodemailer.createTransport({ url: relayUrl, pool: true, maxConnections: 8, maxMessages: Infinity } as never);
  const body = 'Hello Jane,\n\nwe are looking into it: see https://help.bench.test/printers.\n\nCustomer Care';
  const loops = (seconds: number, one: () => Promise<void>): Promise<LoadRun> => closedLoop(IN_FLIGHT, seconds, one);

  let server: ChildProcess | null = null;
  let results;
  try {
    server = await startProcess(
      'src/main.ts',
      ['start'],
      { DATABASE_URL: url, MAIL_DOMAIN: DOMAIN, INTAKE_ADMIN_TOKEN: TOKEN, PORT: String(HTTP_PORT), SMTP_PORT: '0', SMTP_RELAY_URL: relayUrl },
      `http://127.0.0.1:${HTTP_PORT}/healthz`,
    );
    const { createTeam } = await api('mutation { createTeam(input: { name: "Bench Care" }) { team { id } } }', {});
    const tickets: string[] = [];
    for (let i = 0; i < IN_FLIGHT; i++) {
      const { createTicket } = await api('mutation ($t: ID!, $n: String!) { createTicket(input: { teamId: $t, title: $n, customerEmail: "jane@customer.example" }) { ticket { id } } }', { t: createTeam.team.id, n: `Printer ${i}` });
      tickets.push(createTicket.ticket.id);
    }
    let next = 0;
    const ticket = () => tickets[next++ % tickets.length]!;
    results = await takeTurns(
      {
        replyToTicket: (s) =>
          loops(s, async () => {
            const { replyToTicket } = await api('mutation ($i: ReplyToTicketInput!) { replyToTicket(input: $i) { message { delivery { messageId } } userErrors { code } } }', { i: { ticketId: ticket(), body } });
            const messageId: string = replyToTicket.message.delivery.messageId;
            await until(messageId);
          }),
        noteThenSendMail: (s) =>
          loops(s, async () => {
            await api('mutation ($i: AddTicketNoteInput!) { addTicketNote(input: $i) { userErrors { code } } }', { i: { ticketId: ticket(), body } });
            await direct.sendMail({ from: `"Bench Care" <bench-care@${DOMAIN}>`, to: 'jane@customer.example', subject: 'Re: Printer [#1]', text: body });
          }),
      },
      seconds,
    );
  } finally {
    if (server) await stopProcess(server);
    direct.close();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
  if (!process.env.BENCH_KEEP) await dropDatabase(DB);
  const { replyToTicket, noteThenSendMail } = results;
  const base = { bench: 'reply_to_250_postgres', in_flight: IN_FLIGHT, seconds };
  report({ ...base, figure: 'replies_per_s', replyToTicket: replyToTicket.rps, baseline: noteThenSendMail.rps });
  report({ ...base, figure: 'reply_to_250_p50_ms', replyToTicket: replyToTicket.p50, baseline: noteThenSendMail.p50 });
  report({ ...base, figure: 'reply_to_250_p99_ms', replyToTicket: replyToTicket.p99, baseline: noteThenSendMail.p99 });
}
