import { eq, inArray, sql } from 'drizzle-orm';
import { findAgent } from '../auth/service.js';
import { inTransaction, queryRows, type DbOrTx } from '../db/client.js';
import { isAnyOf, rowFromDriver } from '../db/columns.js';
import { ErrorCollector, fail, optionalText, requiredText } from '../errors.js';
import { EVENT_HINT, eventLogSteps, publishEvent } from '../events/hub.js';
import { findStage } from '../teams/service.js';
import { isEmailAddress } from '../text/email-address.js';
import { customerKey, mailContactOf, mailCustomerRows, type CustomerContact } from './customers.js';
import { customerMessageRow, MAX_BODY, storeAttachments, transcriptMessageRow, type NewAttachment, type TranscriptMessage } from './message-rows.js';
import { tags, ticketMessages, tickets, ticketStageChanges, ticketTags, type MessageOrigin } from './tables.js';
import { afterTicketWrite } from './write-hooks.js';
import { cutByCodePoints, isLongerThan } from '../text/clean.js';

export type { CustomerContact, CustomerRow } from './customers.js';
export type { NewAttachment, TranscriptMessage } from './message-rows.js';
export type { MessageOrigin } from './tables.js';
export type TicketRow = typeof tickets.$inferSelect;
export type TicketMessageRow = typeof ticketMessages.$inferSelect;
export type TicketChannel = TicketRow['channel'];

/** Where a ticket came from when that is a record of its own: a chat session, an inbound mail. */
export interface TicketSource {
  kind: NonNullable<TicketRow['sourceKind']>;
  id: number;
}

/** Highest priority first, then newest: the order of every ticket list. */
export const TICKET_ORDER = { priority: 'desc', createdAt: 'desc', id: 'desc' } as const;

export const TICKET_CREATED = 'ticketCreated';
export const TICKET_UPDATED = 'ticketUpdated';

const MAX_TITLE = 300;
const MAX_TRANSCRIPT_MESSAGES = 1000;
const TRANSCRIPT_AUTHORS = new Set(['CUSTOMER', 'AGENT', 'SYSTEM']);

export interface NewTicket {
  teamId: number;
  title: string;
  description?: string | null;
  /** The description as sent in HTML (mail); sanitised here. Derived from the text when absent. */
  descriptionHtml?: string | null;
  priority?: number | null;
  channel: TicketChannel;
  customer?: CustomerContact | null;
  /**
   * The conversation the ticket starts from (a chat), oldest first: its messages become the
   * first chatter entries, each with its author and time, instead of one message of the
   * description. The description defaults to the customer's first message.
   */
  transcript?: TranscriptMessage[] | null;
  /** Files of the first message (mail attachments, form uploads). */
  attachments?: NewAttachment[];
  /** Where a web submission came from, kept on the first message. */
  origin?: MessageOrigin | null;
  /** The record the ticket came from (the chat session), kept on the ticket. */
  source?: TicketSource | null;
}

/** Checks a new ticket's input; the errors name the GraphQL input fields. */
export function validateNewTicket(input: NewTicket): ErrorCollector {
  const errors = new ErrorCollector();
  requiredText(errors, 'title', input.title, MAX_TITLE);
  optionalText(errors, 'description', input.description, MAX_BODY);
  const priority = input.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 3) errors.add('priority', 'INVALID_PRIORITY', 'priority must be 0 to 3.');
  const customerEmail = input.customer?.email?.trim();
  if (customerEmail != null && !isEmailAddress(customerEmail)) {
    errors.add('customerEmail', 'INVALID_EMAIL', 'customerEmail must be an email address such as jane@example.com.');
  }
  if (isLongerThan(input.customer?.name ?? '', 200)) errors.add('customerName', 'TOO_LONG', 'customerName must be at most 200 characters.');
  const transcript = input.transcript ?? [];
  if (transcript.length > MAX_TRANSCRIPT_MESSAGES) errors.add('transcript', 'TOO_MANY', `A transcript holds at most ${MAX_TRANSCRIPT_MESSAGES} messages.`);
  transcript.forEach((message, i) => {
    const field = ['transcript', String(i)];
    if (!TRANSCRIPT_AUTHORS.has(message.authorKind)) errors.add([...field, 'authorKind'], 'INVALID_VALUE', 'authorKind must be CUSTOMER, AGENT or SYSTEM.');
    if (isLongerThan(message.authorName ?? '', 200)) errors.add([...field, 'authorName'], 'TOO_LONG', 'authorName must be at most 200 characters.');
    const body = (message.body ?? '').trim();
    if (body === '' || isLongerThan(body, MAX_BODY)) errors.add([...field, 'body'], body === '' ? 'REQUIRED' : 'TOO_LONG', `A transcript message needs a body of at most ${MAX_BODY} characters.`);
    if (!(message.writtenAt instanceof Date) || Number.isNaN(message.writtenAt.getTime())) errors.add([...field, 'writtenAt'], 'INVALID_VALUE', 'writtenAt must be a time.');
  });
  return errors;
}

/**
 * The one path by which every channel creates a ticket: team's first stage, customer, first
 * chatter message and the ticketCreated event, all in one transaction.
 */
export async function createTicket(db: DbOrTx, input: NewTicket): Promise<TicketRow> {
  validateNewTicket(input).throwIfAny();
  const [ticket] = await createTickets(db, [input]);
  return ticket!;
}

/**
 * The first chatter entries of a new ticket: its transcript, or one message of its description.
 * `by_customer`: the message is the customer's, so the statement fills in who they are.
 */
function firstMessagesOf(input: NewTicket, description: string) {
  if (input.transcript?.length) {
    return input.transcript.map((message) => {
      const row = transcriptMessageRow(0, null, message);
      return messageDraft(row, message.authorKind === 'CUSTOMER', null);
    });
  }
  if (description === '' && !input.descriptionHtml && !input.attachments?.length) return [];
  return [messageDraft(customerMessageRow(0, null, description, input.descriptionHtml), true, input.origin ?? null)];
}

function messageDraft(row: ReturnType<typeof transcriptMessageRow> | ReturnType<typeof customerMessageRow>, byCustomer: boolean, origin: MessageOrigin | null) {
  return {
    kind: row.kind,
    author_kind: row.authorKind,
    author_name: row.authorName,
    by_customer: byCustomer,
    body_text: row.bodyText,
    body_html: row.bodyHtml,
    origin,
    created_at: 'createdAt' in row ? row.createdAt : null,
  };
}

/** The description a new ticket keeps: as given, or its customer's first chat message. */
const ticketDescriptionOf = (input: NewTicket) => cutByCodePoints((input.description ?? input.transcript?.find((m) => m.authorKind === 'CUSTOMER')?.body ?? '').trim(), MAX_BODY);

/**
 * createTicket for many tickets at once (mail arriving together), in one statement whatever their
 * number (attachments and the write hooks follow). The inputs must have passed validateNewTicket; the tickets come
 * back in input order. `alongside`: the caller's own writes that need the new tickets (mail's
 * intake records, say), sent with the tickets' follow-up statements in the same round trip.
 */
export async function createTickets(db: DbOrTx, inputs: NewTicket[], alongside?: (created: TicketRow[]) => Promise<unknown>): Promise<TicketRow[]> {
  if (inputs.length === 0) {
    await alongside?.([]);
    return [];
  }
  return inTransaction(db, async (tx) => {
    const teamIds = [...new Set(inputs.map((i) => i.teamId))];
    // A customer with an address is found or created by it; one known by name only is new.
    const mailContacts = inputs.map((input) => mailContactOf(input.customer));
    const descriptions = inputs.map(ticketDescriptionOf);
    const payload = JSON.stringify({
      teamIds,
      customers: mailCustomerRows(mailContacts.filter((contact) => contact !== null)).map(({ email, emailKey, name }) => ({ email, email_key: emailKey, name })),
      tickets: inputs.map((input, i) => ({
        i,
        title: input.title.trim(),
        description: descriptions[i],
        priority: input.priority ?? 0,
        channel: input.channel,
        team_id: input.teamId,
        customer_key: mailContacts[i] ? customerKey(mailContacts[i]!) : null,
        customer_name: !mailContacts[i] && input.customer?.name?.trim() ? cutByCodePoints(input.customer.name.trim(), 200) : null,
        source_kind: input.source?.kind ?? null,
        source_id: input.source?.id ?? null,
      })),
      messages: inputs.flatMap((input, i) => firstMessagesOf(input, descriptions[i]!).map((message) => ({ i, ...message }))).map((message, n) => ({ n, ...message })),
    });
    // One statement for the tickets, their customers, first stages and ticketCreated events.
    const rows = await queryRows<Record<string, unknown> & { input_index: number; first_message_id: number | null }>(
      tx,
      sql`
      with input as materialized (select ${payload}::text::json as j),
      first_stages as (
        select distinct on (team_id) team_id, id from stages
        where team_id in (select value::int from json_array_elements_text((select j->'teamIds' from input)))
        order by team_id, sequence, id
      ),
      -- Every team is created with its stages and stages are never deleted: no first stage, no
      -- team. Then nothing is written, and no ticket comes back.
      complete as materialized (select count(*) = json_array_length((select j->'teamIds' from input)) as ok from first_stages),
      mail_customers as (
        insert into customers (name, email, email_key)
        select c.name, c.email, c.email_key from json_to_recordset((select j->'customers' from input)) as c(name text, email text, email_key text)
        where (select ok from complete)
        order by c.email_key
        on conflict (email_key) do update set name = coalesce(customers.name, excluded.name)
        returning id, name, email, email_key
      ),
      -- Ids taken in input order, so that each row pairs with its input and the tickets of one
      -- batch keep its order.
      new_tickets as materialized (
        select t.*, nextval(pg_get_serial_sequence('tickets', 'id'))::int as id,
          case when t.customer_name is not null then nextval(pg_get_serial_sequence('customers', 'id'))::int end as name_customer_id
        from (
          select * from json_to_recordset((select j->'tickets' from input)) as t(i int, title text, description text, priority smallint, channel ticket_channel,
            team_id int, customer_key text, customer_name text, source_kind ticket_source_kind, source_id int)
          where (select ok from complete)
          order by i
        ) as t
      ),
      name_customers as (
        insert into customers (id, name) overriding system value
        select name_customer_id, customer_name from new_tickets where name_customer_id is not null order by i
      ),
      ticket_customers as (
        select t.i, coalesce(c.id, t.name_customer_id) as id, coalesce(c.name, t.customer_name) as name, c.email
        from new_tickets t left join mail_customers c on c.email_key = t.customer_key
      ),
      inserted as (
        insert into tickets (id, title, description, priority, channel, team_id, stage_id, customer_id, source_kind, source_id) overriding system value
        select t.id, t.title, t.description, t.priority, t.channel, t.team_id, s.id, c.id, t.source_kind, t.source_id
        from new_tickets t join first_stages s on s.team_id = t.team_id join ticket_customers c using (i)
        order by t.i
        returning *
      ),
      -- A customer's message names its customer (their name unless the message names another).
      messages as (
        insert into ticket_messages (ticket_id, kind, author_kind, author_name, author_email, customer_id, body_text, body_html, origin, created_at)
        select t.id, m.kind, m.author_kind, coalesce(m.author_name, case when m.by_customer then c.name end), case when m.by_customer then c.email end,
          case when m.by_customer then c.id end, m.body_text, m.body_html, m.origin, coalesce(m.created_at, now())
        from json_to_recordset((select j->'messages' from input)) as m(i int, kind ticket_message_kind, author_kind ticket_message_author_kind,
          author_name text, by_customer boolean, body_text text, body_html text, origin jsonb, created_at timestamptz, n int)
        join new_tickets t using (i) join ticket_customers c using (i)
        order by m.n
        returning id, ticket_id
      ),
      stage_changes as (
        insert into ticket_stage_changes (ticket_id, stage_id, entered_at) select id, stage_id, created_at from inserted
      ),
      ${eventLogSteps(TICKET_CREATED, sql`select t.id, t.team_id from inserted t join new_tickets n using (id) order by n.i`)}
      select inserted.*, n.i as input_index, (select min(m.id) from messages m where m.ticket_id = inserted.id) as first_message_id,
        (select count(*) from ${EVENT_HINT}) as hinted
      from inserted join new_tickets n using (id)
      order by n.i`,
    );
    if (rows.length === 0) fail('teamId', 'NOT_FOUND', 'No team has this id.');
    const created = rows.map((row) => rowFromDriver(tickets, row));
    // Each row names its input; checked, since everything below pairs them.
    if (rows.length !== inputs.length || rows.some((row, i) => row.input_index !== i || created[i]!.teamId !== inputs[i]!.teamId)) {
      throw new Error('inserted tickets came back out of order');
    }
    // Attachments go with each ticket's first message.
    const attachments = inputs.flatMap((input, i) => {
      const messageId = rows[i]!.first_message_id;
      return messageId === null ? [] : (input.attachments ?? []).map((a) => ({ ...a, messageId }));
    });
    // Statements on one connection run in the order sent: the write hooks read the stage changes.
    await Promise.all([storeAttachments(tx, attachments), afterTicketWrite(tx, created), alongside?.(created)]);
    return created;
  });
}

export async function findTicketByNumber(db: DbOrTx, number: number): Promise<TicketRow | undefined> {
  const [ticket] = await db.select().from(tickets).where(eq(tickets.number, number));
  return ticket;
}

/** Tickets by their human numbers, for the numbers that name one. */
export async function findTicketsByNumbers(db: DbOrTx, numbers: number[]): Promise<TicketRow[]> {
  if (numbers.length === 0) return [];
  return db.select().from(tickets).where(inArray(tickets.number, [...new Set(numbers)]));
}

/** Tickets by id, in one query (a per-parent field across a list). */
export async function findTickets(db: DbOrTx, ids: readonly number[]): Promise<TicketRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(tickets).where(isAnyOf(tickets.id, [...new Set(ids)]));
}

export async function findTicket(db: DbOrTx, id: number): Promise<TicketRow | undefined> {
  const [ticket] = await db.select().from(tickets).where(eq(tickets.id, id));
  return ticket;
}

/** Locks a ticket for a change, or fails with NOT_FOUND on the given input field. */
async function lockTicket(tx: DbOrTx, id: number): Promise<TicketRow> {
  const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, id)).for('update');
  if (!ticket) fail('ticketId', 'NOT_FOUND', 'No ticket has this id.');
  return ticket;
}

/** Applies a change to one ticket, touches updatedAt and tells subscribers, in one transaction. */
export async function changeTicket(
  db: DbOrTx,
  ticketId: number,
  change: (tx: DbOrTx, ticket: TicketRow) => Promise<Partial<typeof tickets.$inferInsert> | void>,
): Promise<TicketRow> {
  return inTransaction(db, async (tx) => {
    const current = await lockTicket(tx, ticketId);
    const values = (await change(tx, current)) ?? {};
    const [ticket] = await tx
      .update(tickets)
      .set({ ...values, updatedAt: sql`now()` })
      .where(eq(tickets.id, current.id))
      .returning();
    if (ticket!.stageId !== current.stageId) await tx.insert(ticketStageChanges).values({ ticketId: ticket!.id, stageId: ticket!.stageId });
    await afterTicketWrite(tx, [ticket!]);
    await publishEvent(tx, TICKET_UPDATED, ticket!.id, ticket!.teamId);
    return ticket!;
  });
}

export async function setTicketPriority(db: DbOrTx, input: { ticketId: number; priority: number }): Promise<TicketRow> {
  if (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > 3) {
    fail('priority', 'INVALID_PRIORITY', 'priority must be 0 to 3.');
  }
  return changeTicket(db, input.ticketId, async () => ({ priority: input.priority }));
}

export async function moveTicketToStage(db: DbOrTx, input: { ticketId: number; stageId: number }): Promise<TicketRow> {
  return changeTicket(db, input.ticketId, async (tx, ticket) => {
    const stage = await findStage(tx, input.stageId);
    if (!stage) fail('stageId', 'NOT_FOUND', 'No stage has this id.');
    if (stage.teamId !== ticket.teamId) fail('stageId', 'STAGE_OF_OTHER_TEAM', "The stage belongs to another team than the ticket's.");
    return { stageId: stage.id };
  });
}

export async function assignTicket(db: DbOrTx, input: { ticketId: number; agentId: number | null }): Promise<TicketRow> {
  return changeTicket(db, input.ticketId, async (tx) => {
    if (input.agentId !== null) {
      if (!(await findAgent(tx, input.agentId))) fail('agentId', 'NOT_FOUND', 'No agent has this id.');
    }
    return { assigneeId: input.agentId };
  });
}

/** Replaces a ticket's tags by name, creating tags met for the first time. */
export async function setTicketTags(db: DbOrTx, input: { ticketId: number; tags: string[] }): Promise<TicketRow> {
  const errors = new ErrorCollector();
  // Case-insensitive: the first spelling given wins.
  const byKey = new Map<string, string>();
  for (const tag of input.tags) if (tag.trim() !== '' && !byKey.has(tag.trim().toLowerCase())) byKey.set(tag.trim().toLowerCase(), tag.trim());
  const names = [...byKey.entries()];
  if (names.length > 50) errors.add('tags', 'TOO_MANY', 'A ticket takes at most 50 tags.');
  if (names.some(([, name]) => isLongerThan(name, 60))) errors.add('tags', 'TOO_LONG', 'A tag is at most 60 characters.');
  errors.throwIfAny();
  return changeTicket(db, input.ticketId, async (tx, ticket) => {
    await tx.delete(ticketTags).where(eq(ticketTags.ticketId, ticket.id));
    if (names.length === 0) return;
    await tx
      .insert(tags)
      .values(names.map(([nameKey, name]) => ({ name, nameKey })))
      .onConflictDoNothing({ target: tags.nameKey });
    const rows = await tx.select({ id: tags.id }).from(tags).where(inArray(tags.nameKey, names.map(([key]) => key)));
    await tx.insert(ticketTags).values(rows.map((r) => ({ ticketId: ticket.id, tagId: r.id })));
  });
}

