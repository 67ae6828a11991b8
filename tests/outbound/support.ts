import { eq } from 'drizzle-orm';
import type { Config } from '../../src/config.js';
import type { DbOrTx } from '../../src/db/client.js';
import { queueOutboundMail, type NewOutboundMail, type OutboundMailRow } from '../../src/outbound/service.js';
import { outboundMails } from '../../src/outbound/tables.js';
import { createTeam } from '../../src/teams/service.js';
import { createTicket } from '../../src/tickets/service.js';
import { waitFor } from '../support/wait.js';

/** A team and a ticket of a customer with an address: what a reply is about. */
export async function ticketToAnswer(db: DbOrTx, config: Config, name = `Care ${Math.random().toString(36).slice(2, 8)}`) {
  const team = await createTeam(db, config, { name, useEmailAlias: true });
  const ticket = await createTicket(db, { teamId: team.id, title: 'Printer on fire', channel: 'API', customer: { email: 'jane@customer.example', name: 'Jane' } });
  return { team, ticket };
}

/** Queues a reply-like mail about the ticket, as replyToTicket does, in a transaction of its own. */
export async function queueMail(db: DbOrTx, config: Config, ticketId: number | null, overrides: Partial<NewOutboundMail> = {}): Promise<OutboundMailRow> {
  return db.transaction((tx) =>
    queueOutboundMail(tx, config, {
      kind: 'REPLY',
      ticketId,
      from: `"Care" <care@${config.mailDomain}>`,
      to: ['jane@customer.example'],
      subject: 'Re: Printer on fire',
      text: 'Have you tried turning it off?',
      ...overrides,
    }),
  );
}

export async function outboundMail(db: DbOrTx, id: number): Promise<OutboundMailRow> {
  const [row] = await db.select().from(outboundMails).where(eq(outboundMails.id, id));
  return row!;
}

/** Waits until the mail is in one of the statuses, and returns it. */
export async function untilStatus(db: DbOrTx, id: number, statuses: Array<OutboundMailRow['status']>, timeout = 15_000): Promise<OutboundMailRow> {
  let row: OutboundMailRow | undefined;
  await waitFor(async () => statuses.includes((row = await outboundMail(db, id)).status), { timeout, what: `outbound mail ${id} ${statuses.join('/')}` });
  return row!;
}
