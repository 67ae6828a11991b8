import { and, asc, desc, eq, getColumns, gt, gte, inArray, lte, sql, type Column, type Placeholder, type Table } from 'drizzle-orm';
import { findAgent } from '../auth/service.js';
import { inTransaction, type DbOrTx } from '../db/client.js';
import { idArray, isAnyOf } from '../db/columns.js';
import { ErrorCollector, fail, optionalText, requiredText } from '../errors.js';
import { publishEvent, publishEvents } from '../events/hub.js';
import { findStage, firstOpenStageOf, firstStagesOf, type StageRow } from '../teams/service.js';
import { stages } from '../teams/tables.js';
import { isEmailAddress } from './email-address.js';
import { sanitizeMessageHtml, textToHtml } from './html.js';
import { afterTicketWrite } from './write-hooks.js';
import { attachmentBlobs, customers, tags, ticketAttachments, ticketMessages, tickets, ticketStageChanges, ticketTags, type MessageOrigin } from './tables.js';

export type TicketRow = typeof tickets.$inferSelect;
export type TicketMessageRow = typeof ticketMessages.$inferSelect;
export type CustomerRow = typeof customers.$inferSelect;
export type TicketChannel = TicketRow['channel'];

/** Highest priority first, then newest: the order of every ticket list. */
export const TICKET_ORDER = { priority: 'desc', createdAt: 'desc', id: 'desc' } as const;

export const TICKET_CREATED = 'ticketCreated';
export const TICKET_UPDATED = 'ticketUpdated';

const MAX_TITLE = 300;
const MAX_BODY = 200_000;

type CustomerContact = { email: string; name?: string | null };

/** One customer per mailbox: found by address case-insensitively, created on first contact. */
async function findOrCreateCustomer(db: DbOrTx, input: CustomerContact): Promise<CustomerRow> {
  return (await findOrCreateCustomers(db, [input])).get(customerKey(input))!;
}

function customerKey(contact: CustomerContact): string {
  return contact.email.trim().toLowerCase();
}

/**
 * findOrCreateCustomer for many contacts in one statement, keyed by customerKey. Rows are
 * written in address order, so that concurrent writers cannot deadlock on them.
 */
async function findOrCreateCustomers(db: DbOrTx, contacts: CustomerContact[]): Promise<Map<string, CustomerRow>> {
  const byKey = new Map<string, { email: string; emailKey: string; name: string | null }>();
  for (const contact of contacts) {
    const emailKey = customerKey(contact);
    const name = contact.name?.trim() || null;
    const known = byKey.get(emailKey);
    if (!known) byKey.set(emailKey, { email: contact.email.trim(), emailKey, name });
    else known.name ??= name;
  }
  if (byKey.size === 0) return new Map();
  const rows = await db
    .insert(customers)
    .values([...byKey.values()].sort((a, b) => (a.emailKey < b.emailKey ? -1 : a.emailKey > b.emailKey ? 1 : 0)))
    .onConflictDoUpdate({ target: customers.emailKey, set: { name: sql`coalesce(${customers.name}, excluded.name)` } })
    .returning();
  return new Map(rows.map((c) => [c.emailKey!, c]));
}

/** A customer's message on a ticket's chatter: its HTML sanitised, or derived from the text. */
function customerMessageRow(ticketId: number, customer: CustomerRow | null, bodyText: string, bodyHtml: string | null | undefined) {
  return {
    ticketId,
    kind: 'MESSAGE' as const,
    authorKind: 'CUSTOMER' as const,
    authorName: customer?.name ?? null,
    authorEmail: customer?.email ?? null,
    customerId: customer?.id ?? null,
    bodyText,
    bodyHtml: bodyHtml ? sanitizeMessageHtml(bodyHtml) : textToHtml(bodyText),
  };
}

export interface NewTicket {
  teamId: number;
  title: string;
  description?: string | null;
  /** The description as sent in HTML (mail); sanitised here. Derived from the text when absent. */
  descriptionHtml?: string | null;
  priority?: number | null;
  channel: TicketChannel;
  customer?: CustomerContact | null;
  /** Without `customer`: a new customer known by this name only (a chat visitor who gave no email). */
  customerNameOnly?: string | null;
  /** Files of the first message (mail attachments, form uploads). */
  attachments?: NewAttachment[];
  /** Where a web submission came from, kept on the first message. */
  origin?: MessageOrigin | null;
}

export interface NewAttachment {
  filename: string;
  contentType: string;
  contentId?: string | null;
  data: Buffer;
}

/** Rows per INSERT, so a statement stays well under PostgreSQL's 65 535 bind parameters. */
function chunksOf<T>(rows: T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(30_000 / columns));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}

/**
 * Stores each distinct file once (the same Buffer reaching several tickets, as one mail to
 * several teams does) and one attachment row per message referencing it.
 */
async function storeAttachments(tx: DbOrTx, attachments: Array<NewAttachment & { messageId: number }>) {
  if (!attachments.length) return;
  const files = [...new Set(attachments.map((a) => a.data))];
  const blobIdOf = new Map<Buffer, number>();
  for (const chunk of chunksOf(files, 2)) {
    const ids = await tx
      .insert(attachmentBlobs)
      .values(chunk.map((data) => ({ size: data.length, data })))
      .returning({ id: attachmentBlobs.id });
    chunk.forEach((data, i) => blobIdOf.set(data, ids[i]!.id));
  }
  for (const chunk of chunksOf(attachments, 6)) {
    await tx.insert(ticketAttachments).values(
      chunk.map((a) => ({
        messageId: a.messageId,
        filename: a.filename.slice(0, 255),
        contentType: a.contentType.slice(0, 255),
        contentId: a.contentId?.slice(0, 255) ?? null,
        size: a.data.length,
        blobId: blobIdOf.get(a.data)!,
      })),
    );
  }
}

/** Checks a new ticket's input; the errors name the GraphQL input fields. */
export function validateNewTicket(input: NewTicket): ErrorCollector {
  const errors = new ErrorCollector();
  requiredText(errors, 'title', input.title, MAX_TITLE);
  optionalText(errors, 'description', input.description, MAX_BODY);
  const priority = input.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 3) errors.add('priority', 'INVALID_PRIORITY', 'priority must be 0 to 3.');
  const customerEmail = input.customer?.email.trim();
  if (customerEmail !== undefined && !isEmailAddress(customerEmail)) {
    errors.add('customerEmail', 'INVALID_EMAIL', 'customerEmail must be an email address such as jane@example.com.');
  }
  if ((input.customer?.name?.length ?? 0) > 200) errors.add('customerName', 'TOO_LONG', 'customerName must be at most 200 characters.');
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
 * createTicket for many tickets at once (mail arriving together), one statement per kind of
 * row whatever their number. The inputs must have passed validateNewTicket; the tickets come
 * back in input order.
 */
export async function createTickets(db: DbOrTx, inputs: NewTicket[]): Promise<TicketRow[]> {
  if (inputs.length === 0) return [];
  return inTransaction(db, async (tx) => {
    const teamIds = [...new Set(inputs.map((i) => i.teamId))];
    // Every team is created with its stages and stages are never deleted: no first stage, no team.
    const firstStages = await firstStagesOf(tx, teamIds);
    if (firstStages.size !== teamIds.length) fail('teamId', 'NOT_FOUND', 'No team has this id.');

    const customerOf = await findOrCreateCustomers(
      tx,
      inputs.flatMap((input) => (input.customer ? [input.customer] : [])),
    );
    const nameOnly = inputs.flatMap((input) => (!input.customer && input.customerNameOnly ? [input] : []));
    const nameOnlyRows = nameOnly.length ? await tx.insert(customers).values(nameOnly.map((input) => ({ name: input.customerNameOnly!.trim().slice(0, 200) }))).returning() : [];
    const nameOnlyOf = new Map(nameOnly.map((input, i) => [input, nameOnlyRows[i]!]));
    const customerFor = (input: NewTicket) => (input.customer ? customerOf.get(customerKey(input.customer))! : (nameOnlyOf.get(input) ?? null));

    const created = await tx
      .insert(tickets)
      .values(
        inputs.map((input) => ({
          title: input.title.trim(),
          description: (input.description ?? '').trim(),
          priority: input.priority ?? 0,
          channel: input.channel,
          teamId: input.teamId,
          stageId: firstStages.get(input.teamId)!.id,
          customerId: customerFor(input)?.id ?? null,
        })),
      )
      .returning();
    // A multi-row VALUES insert returns its rows in order; checked, since everything below pairs them.
    if (created.length !== inputs.length || created.some((t, i) => t.title !== inputs[i]!.title.trim() || t.teamId !== inputs[i]!.teamId)) {
      throw new Error('inserted tickets came back out of order');
    }

    const withMessage = inputs.flatMap((input, i) => (created[i]!.description !== '' || input.descriptionHtml || input.attachments?.length ? [i] : []));
    const storeMessages = async () => {
      if (withMessage.length === 0) return;
      const messages = await tx
        .insert(ticketMessages)
        .values(
          withMessage.map((i) => ({
            ...customerMessageRow(created[i]!.id, customerFor(inputs[i]!), created[i]!.description, inputs[i]!.descriptionHtml),
            origin: inputs[i]!.origin ?? null,
          })),
        )
        .returning({ id: ticketMessages.id, ticketId: ticketMessages.ticketId });
      if (messages.some((m, n) => m.ticketId !== created[withMessage[n]!]!.id)) throw new Error('inserted messages came back out of order');
      await storeAttachments(
        tx,
        withMessage.flatMap((i, n) => (inputs[i]!.attachments ?? []).map((a) => ({ ...a, messageId: messages[n]!.id }))),
      );
    };
    // Statements on one connection run in the order sent: the write hooks read the stage changes.
    await Promise.all([
      storeMessages(),
      tx.insert(ticketStageChanges).values(created.map((t) => ({ ticketId: t.id, stageId: t.stageId, enteredAt: t.createdAt }))),
      afterTicketWrite(tx, created),
      publishEvents(tx, TICKET_CREATED, new Map(created.map((t) => [t.id, t.teamId]))),
    ]);
    return created;
  });
}

export async function findAttachment(db: DbOrTx, id: number) {
  const [found] = await db
    .select({ attachment: ticketAttachments, blobData: attachmentBlobs.data })
    .from(ticketAttachments)
    .leftJoin(attachmentBlobs, eq(attachmentBlobs.id, ticketAttachments.blobId))
    .where(eq(ticketAttachments.id, id));
  if (!found) return undefined;
  return { ...found.attachment, data: found.attachment.data ?? found.blobData ?? Buffer.alloc(0) };
}

export async function findTicketByNumber(db: DbOrTx, number: number): Promise<TicketRow | undefined> {
  const [ticket] = await db.select().from(tickets).where(eq(tickets.number, number));
  return ticket;
}

export async function findCustomer(db: DbOrTx, id: number): Promise<CustomerRow | undefined> {
  const [customer] = await db.select().from(customers).where(eq(customers.id, id));
  return customer;
}

export async function findCustomerByEmail(db: DbOrTx, email: string): Promise<CustomerRow | undefined> {
  const [customer] = await db.select().from(customers).where(eq(customers.emailKey, email.trim().toLowerCase()));
  return customer;
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
async function changeTicket(
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

export interface NoteAuthor {
  name: string;
  agentId: number | null;
}

/** An internal note on the chatter, written by an agent. */
export async function addTicketNote(db: DbOrTx, input: { ticketId: number; body: string; author: NoteAuthor }): Promise<TicketRow> {
  const errors = new ErrorCollector();
  const body = requiredText(errors, 'body', input.body, MAX_BODY);
  errors.throwIfAny();
  return changeTicket(db, input.ticketId, async (tx, ticket) => {
    await tx.insert(ticketMessages).values({
      ticketId: ticket.id,
      kind: 'NOTE',
      authorKind: 'AGENT',
      authorName: input.author.name,
      agentId: input.author.agentId,
      bodyText: body,
      bodyHtml: textToHtml(body),
    });
  });
}

/**
 * A customer's message appended to a ticket's conversation (a mail reply). A finished ticket
 * is reopened: it goes back to the team's first open stage.
 */
export async function addCustomerMessage(
  db: DbOrTx,
  input: { ticketId: number; customer: CustomerContact; bodyText: string; bodyHtml?: string | null; attachments?: NewAttachment[] },
): Promise<{ ticket: TicketRow; messageId: number }> {
  let messageId = 0;
  const ticket = await changeTicket(db, input.ticketId, async (tx, ticket) => {
    const customer = await findOrCreateCustomer(tx, input.customer);
    const [message] = await tx
      .insert(ticketMessages)
      .values(customerMessageRow(ticket.id, customer, input.bodyText.slice(0, MAX_BODY), input.bodyHtml))
      .returning({ id: ticketMessages.id });
    messageId = message!.id;
    await storeAttachments(tx, (input.attachments ?? []).map((a) => ({ ...a, messageId })));
    const stage = await findStage(tx, ticket.stageId);
    if (stage?.closed) {
      const open = await firstOpenStageOf(tx, ticket.teamId);
      if (open) return { stageId: open.id };
    }
  });
  return { ticket, messageId };
}

/** A note written by Intake itself, e.g. a bounce of a mail about the ticket. */
export async function addSystemNote(db: DbOrTx, input: { ticketId: number; body: string }): Promise<{ ticket: TicketRow; messageId: number }> {
  let messageId = 0;
  const ticket = await changeTicket(db, input.ticketId, async (tx, ticket) => {
    const [message] = await tx
      .insert(ticketMessages)
      .values({ ticketId: ticket.id, kind: 'SYSTEM', authorKind: 'SYSTEM', authorName: 'Intake', bodyText: input.body.slice(0, MAX_BODY), bodyHtml: textToHtml(input.body.slice(0, MAX_BODY)) })
      .returning({ id: ticketMessages.id });
    messageId = message!.id;
  });
  return { ticket, messageId };
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
  if (names.some(([, name]) => name.length > 60)) errors.add('tags', 'TOO_LONG', 'A tag is at most 60 characters.');
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

/** The stage and customer a list query loaded with a ticket, so resolving them costs nothing. */
export const LOADED_STAGE = Symbol('loaded stage');
export const LOADED_CUSTOMER = Symbol('loaded customer');
export type ListedTicket = TicketRow & { [LOADED_STAGE]?: StageRow; [LOADED_CUSTOMER]?: CustomerRow | null };

interface CursorKey {
  priority: number;
  createdAt: Date;
  id: number;
}

/** Opaque to clients: the ticket's place in the order (priority, creation, id). */
export function ticketCursor(t: CursorKey): string {
  return Buffer.from(`t:${t.priority}:${t.createdAt.getTime()}:${t.id}`).toString('base64url');
}

/** 9999-12-31T23:59:59.999Z. */
const MAX_CURSOR_TIME = 253_402_300_799_999;

function parseTicketCursor(cursor: string): CursorKey {
  const match = /^t:([0-3]):(\d{1,15}):(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString());
  // A forged cursor can spell numbers no ticket has (an int4 id, a 4-digit year): refused here, not by the database.
  if (!match || Number(match[3]) > 2_147_483_647 || Number(match[2]) > MAX_CURSOR_TIME) fail('after', 'INVALID_CURSOR', 'The cursor is not one this list gave out.');
  return { priority: Number(match[1]), createdAt: new Date(Number(match[2])), id: Number(match[3]) };
}

export interface TicketPageRequest {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * The columns a ticket list reads, table by table, so that a page showing five fields of fifty
 * tickets does not fetch and decode all of them. Left out: every column of that table. `false`: the
 * table is not joined, and a ticket resolves its stage or customer itself if asked.
 */
export interface TicketListColumns {
  ticket?: readonly string[];
  stage?: readonly string[] | false;
  customer?: readonly string[] | false;
}

/** Ticket columns every list reads: its order and cursor, and what stage and customer resolve from. */
const KEY_COLUMNS = ['id', 'priority', 'createdAt', 'stageId', 'customerId'];

/** The named columns of `table` (all when none are named), typed as the table for the select builder. */
function pickColumns<T extends Table>(table: T, names: readonly string[] | undefined): T {
  if (!names) return table;
  const all = getColumns(table) as Record<string, Column>;
  return Object.fromEntries(names.filter((name) => name in all).map((name) => [name, all[name]!])) as unknown as T;
}

type ListedRow = { ticket: TicketRow; stage?: StageRow; customer?: CustomerRow | null };

/** Tickets joined with what every ticket view shows (or what `columns` asks for): rows for withLoaded. */
function selectTicketsWithStageAndCustomer(db: DbOrTx, columns: TicketListColumns = {}) {
  const fields = { ticket: pickColumns(tickets, columns.ticket && [...new Set([...KEY_COLUMNS, ...columns.ticket])]) } as {
    ticket: typeof tickets;
    stage: typeof stages;
    customer: typeof customers;
  };
  if (columns.stage !== false) fields.stage = pickColumns(stages, columns.stage && ['id', ...columns.stage]);
  if (columns.customer !== false) fields.customer = pickColumns(customers, columns.customer && ['id', ...columns.customer]);
  const query = db.select(fields).from(tickets).$dynamic();
  if (columns.stage !== false) query.innerJoin(stages, eq(stages.id, tickets.stageId));
  if (columns.customer !== false) query.leftJoin(customers, eq(customers.id, tickets.customerId));
  return query;
}

function buildTicketList(db: DbOrTx, filter: TicketFilterShape, columns: TicketListColumns, withCursor: boolean, backward: boolean, limit: number) {
  const key = sql`(${tickets.priority}, ${tickets.createdAt}, ${tickets.id})`;
  const bound = sql`(${sql.placeholder('cursorPriority')}::smallint, ${sql.placeholder('cursorCreatedAt')}::timestamptz, ${sql.placeholder('cursorId')}::int)`;
  const position = withCursor ? sql`${key} ${backward ? sql`>` : sql`<`} ${bound}` : undefined;
  const direction = backward ? asc : desc;
  return selectTicketsWithStageAndCustomer(db, columns)
    .where(and(ticketFilterSql(filter), position))
    .orderBy(direction(tickets.priority), direction(tickets.createdAt), direction(tickets.id))
    // A literal limit: with LIMIT $n PostgreSQL cannot cost a generic plan and re-plans every call.
    .limit(sql.raw(String(limit)) as unknown as number)
    .prepare('ticket_list');
}

// Lists are the hottest read: each shape (filter, page, columns) is built once per database handle
// (a transaction's entries go with it) and runs as a prepared statement, so neither drizzle nor
// PostgreSQL plans it again per request. The oldest shape goes when there are too many.
const preparedTicketLists = new WeakMap<DbOrTx, Map<string, ReturnType<typeof buildTicketList>>>();
const MAX_PREPARED_LISTS = 100;

/**
 * One page of a ticket list, highest priority first, then newest: one query that joins stage and
 * customer, keyset-paginated on the index order (priority, created_at, id).
 */
export async function listTickets(db: DbOrTx, filter: TicketFilterValues, page: TicketPageRequest, columns: TicketListColumns = {}) {
  const backward = page.last != null || page.before != null;
  const size = Math.min(Math.max(page.first ?? page.last ?? 20, 0), 100);
  const cursor = page.after ? parseTicketCursor(page.after) : page.before ? parseTicketCursor(page.before) : null;
  const given = FILTER_PARAMETERS.filter((name) => filter[name] !== undefined);
  const shapeKey = `${given.join()}:${filter.slaFailed}:${cursor !== null}:${backward}:${size}:${columnsKey(columns)}`;
  const cache = preparedTicketLists.get(db) ?? preparedTicketLists.set(db, new Map()).get(db)!;
  let query = cache.get(shapeKey);
  if (!query) {
    if (cache.size >= MAX_PREPARED_LISTS) cache.delete(cache.keys().next().value!);
    const shape: TicketFilterShape = { slaFailed: filter.slaFailed };
    for (const name of given) shape[name] = sql.placeholder(name);
    query = buildTicketList(db, shape, columns, cursor !== null, backward, size + 1);
    cache.set(shapeKey, query);
  }
  const rows = (await query.execute({
    ...filter,
    slaDeadlineBefore: filter.slaDeadlineBefore?.toISOString(),
    cursorPriority: cursor?.priority,
    cursorCreatedAt: cursor?.createdAt.toISOString(),
    cursorId: cursor?.id,
  })) as ListedRow[];
  const more = rows.length > size;
  const pageRows = rows.slice(0, size);
  if (backward) pageRows.reverse();
  return { tickets: pageRows.map(withLoaded), hasNextPage: backward ? cursor !== null : more, hasPreviousPage: backward ? more : cursor !== null };
}

const columnsKeys = new WeakMap<TicketListColumns, string>();

function columnsKey(columns: TicketListColumns): string {
  let known = columnsKeys.get(columns);
  if (known === undefined) {
    const key = (names: readonly string[] | false | undefined) => (names === undefined ? '*' : names === false ? '-' : [...names].sort().join());
    known = `${key(columns.ticket)}/${key(columns.stage)}/${key(columns.customer)}`;
    columnsKeys.set(columns, known);
  }
  return known;
}

/** The ticket of a list row, carrying the stage and customer its query joined. */
function withLoaded(row: ListedRow): ListedTicket {
  const ticket: ListedTicket = row.ticket;
  if (row.stage !== undefined) ticket[LOADED_STAGE] = row.stage;
  if (row.customer !== undefined) ticket[LOADED_CUSTOMER] = row.customer;
  return ticket;
}

/**
 * One ticket with its stage and customer, in one query: what events carry, so the subscribers
 * of an instance share this one read instead of each resolving stage and customer again.
 */
export async function findListedTicket(db: DbOrTx, id: number): Promise<ListedTicket | undefined> {
  const [row] = await selectTicketsWithStageAndCustomer(db).where(eq(tickets.id, id));
  return row && withLoaded(row);
}

/** Several tickets as findListedTicket loads one, by id: what an event replay reads per batch. */
export async function findListedTickets(db: DbOrTx, ids: number[]): Promise<Map<number, ListedTicket>> {
  const rows = ids.length === 1 ? [await findListedTicket(db, ids[0]!)] : (await selectTicketsWithStageAndCustomer(db).where(inArray(tickets.id, ids))).map(withLoaded);
  return new Map(rows.flatMap((ticket) => (ticket ? [[ticket.id, ticket] as const] : [])));
}

export async function countTickets(db: DbOrTx, filter: TicketFilterValues): Promise<number> {
  return db.$count(tickets, ticketFilterSql(filter));
}

export interface TicketPage {
  tickets: ListedTicket[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * The same page of several teams' ticket lists (Team.tickets across a list of teams) in one
 * query: each team's page is picked through its own index order by a lateral subquery, then
 * joined with stage and customer as listTickets does. Teams without tickets get an empty page.
 */
export async function listTicketsOfTeams(db: DbOrTx, teamIds: number[], page: TicketPageRequest, columns: TicketListColumns = {}): Promise<Map<number, TicketPage>> {
  const backward = page.last != null || page.before != null;
  const size = Math.min(Math.max(page.first ?? page.last ?? 20, 0), 100);
  const cursor = page.after ? parseTicketCursor(page.after) : page.before ? parseTicketCursor(page.before) : null;
  const direction = backward ? sql`asc` : sql`desc`;
  const position = cursor
    ? sql`and (t.priority, t.created_at, t.id) ${backward ? sql`>` : sql`<`} (${cursor.priority}::smallint, ${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::int)`
    : sql``;
  const picked = sql`select p.id from unnest(${idArray(teamIds)}) as team(id) cross join lateral (
    select t.id from tickets t where t.team_id = team.id ${position}
    order by t.priority ${direction}, t.created_at ${direction}, t.id ${direction} limit ${sql.raw(String(size + 1))}) p`;
  const rows = teamIds.length
    ? ((await selectTicketsWithStageAndCustomer(db, { ...columns, ticket: columns.ticket && [...columns.ticket, 'teamId'] }).where(
        sql`${tickets.id} in (${picked})`,
      )) as ListedRow[])
    : [];
  const byTeam = new Map<number, ListedTicket[]>(teamIds.map((id) => [id, []]));
  for (const row of rows) byTeam.get(row.ticket.teamId)?.push(withLoaded(row));
  const pages = new Map<number, TicketPage>();
  for (const [teamId, listed] of byTeam) {
    // Newest first within a priority, as the index orders them; the page query returned them unordered.
    listed.sort((a, b) => b.priority - a.priority || b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id);
    if (backward) listed.reverse();
    const more = listed.length > size;
    const pageRows = listed.slice(0, size);
    if (backward) pageRows.reverse();
    pages.set(teamId, { tickets: pageRows, hasNextPage: backward ? cursor !== null : more, hasPreviousPage: backward ? more : cursor !== null });
  }
  return pages;
}

/** Several customers by id, in one query; ids without a customer are left out. */
export async function findCustomers(db: DbOrTx, ids: number[]): Promise<CustomerRow[]> {
  return ids.length ? db.select().from(customers).where(isAnyOf(customers.id, ids)) : [];
}

export interface TicketMessagePage {
  messages: TicketMessageRow[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** Opaque to clients: a chatter entry's place in its ticket's chatter (by id). */
export function ticketMessageCursor(message: { id: number }): string {
  return Buffer.from(`m:${message.id}`).toString('base64url');
}

function parseTicketMessageCursor(cursor: string, field: string): number {
  const match = /^m:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match || Number(match[1]) > 2_147_483_647) fail(field, 'INVALID_CURSOR', 'The cursor is not one this list gave out.');
  return Number(match[1]);
}

/**
 * The same page of several tickets' chatter (Ticket.messages across a list of tickets), oldest
 * first, in one query: a lateral subquery per ticket walks its (ticket_id, id) index.
 */
export async function listMessagesOfTickets(db: DbOrTx, ticketIds: number[], page: TicketPageRequest): Promise<Map<number, TicketMessagePage>> {
  const backward = page.last != null || page.before != null;
  const size = Math.min(Math.max(page.first ?? page.last ?? 20, 0), 100);
  const cursor = page.after ? parseTicketMessageCursor(page.after, 'after') : page.before ? parseTicketMessageCursor(page.before, 'before') : null;
  const position = cursor === null ? sql`` : sql`and m.id ${backward ? sql`<` : sql`>`} ${cursor}::int`;
  const picked = sql`select p.id from unnest(${idArray(ticketIds)}) as ticket(id) cross join lateral (
    select m.id from ticket_messages m where m.ticket_id = ticket.id ${position}
    order by m.id ${backward ? sql`desc` : sql`asc`} limit ${sql.raw(String(size + 1))}) p`;
  const rows = ticketIds.length ? await db.select().from(ticketMessages).where(sql`${ticketMessages.id} in (${picked})`).orderBy(asc(ticketMessages.id)) : [];
  const byTicket = new Map<number, TicketMessageRow[]>(ticketIds.map((id) => [id, []]));
  for (const row of rows) byTicket.get(row.ticketId)?.push(row);
  const pages = new Map<number, TicketMessagePage>();
  for (const [ticketId, messages] of byTicket) {
    const more = messages.length > size;
    const pageRows = backward ? messages.slice(Math.max(messages.length - size, 0)) : messages.slice(0, size);
    pages.set(ticketId, { messages: pageRows, hasNextPage: backward ? cursor !== null : more, hasPreviousPage: backward ? more : cursor !== null });
  }
  return pages;
}

/** Number of chatter entries of each ticket, in one grouped query. */
export async function countMessagesOfTickets(db: DbOrTx, ticketIds: number[]): Promise<Map<number, number>> {
  const rows = ticketIds.length
    ? await db
        .select({ ticketId: ticketMessages.ticketId, count: sql<number>`count(*)::int` })
        .from(ticketMessages)
        .where(isAnyOf(ticketMessages.ticketId, ticketIds))
        .groupBy(ticketMessages.ticketId)
    : [];
  return new Map(ticketIds.map((id) => [id, Number(rows.find((r) => r.ticketId === id)?.count ?? 0)]));
}

/** Number of tickets of each team, in one grouped query. */
export async function countTicketsOfTeams(db: DbOrTx, teamIds: number[]): Promise<Map<number, number>> {
  const rows = teamIds.length
    ? await db.select({ teamId: tickets.teamId, count: sql<number>`count(*)::int` }).from(tickets).where(isAnyOf(tickets.teamId, teamIds)).groupBy(tickets.teamId)
    : [];
  return new Map(teamIds.map((id) => [id, Number(rows.find((r) => r.teamId === id)?.count ?? 0)]));
}

/** Scope of bulk work over tickets: one team, given tickets, or all. */
export interface TicketScope {
  teamId?: number;
  ticketIds?: number[];
}

function scopeSql(scope: TicketScope) {
  return and(
    scope.teamId === undefined ? undefined : eq(tickets.teamId, scope.teamId),
    scope.ticketIds === undefined ? undefined : inArray(tickets.id, scope.ticketIds.length ? scope.ticketIds : [-1]),
  );
}

export async function countTicketsForSla(db: DbOrTx, scope: TicketScope): Promise<number> {
  return db.$count(tickets, scopeSql(scope));
}

/** A page of tickets in id order, with what SLA evaluation reads. */
export async function ticketsForSla(db: DbOrTx, scope: TicketScope & { afterId: number; limit: number }) {
  return db
    .select({ id: tickets.id, teamId: tickets.teamId, priority: tickets.priority, customerId: tickets.customerId, createdAt: tickets.createdAt })
    .from(tickets)
    .where(and(scopeSql(scope), gt(tickets.id, scope.afterId)))
    .orderBy(asc(tickets.id))
    .limit(scope.limit);
}

/** Rows of tickets whose ids lie between the first and last of `ticketIds` (given in order). */
function idRange(column: typeof ticketTags.ticketId | typeof ticketStageChanges.ticketId, ticketIds: number[]) {
  return and(gte(column, ticketIds[0] ?? 0), lte(column, ticketIds.at(-1) ?? -1));
}

/** Tag ids per ticket, for a batch of tickets in id order. */
export async function tagIdsByTicket(db: DbOrTx, ticketIds: number[]): Promise<Map<number, number[]>> {
  const rows = await db.select().from(ticketTags).where(idRange(ticketTags.ticketId, ticketIds));
  const map = new Map<number, number[]>();
  for (const r of rows) map.set(r.ticketId, [...(map.get(r.ticketId) ?? []), r.tagId]);
  return map;
}

/** Stage changes per ticket, oldest first, for a batch of tickets in id order. */
export async function stageChangesByTicket(db: DbOrTx, ticketIds: number[]): Promise<Map<number, Array<{ stageId: number; enteredAt: Date }>>> {
  const rows = await db
    .select({ ticketId: ticketStageChanges.ticketId, stageId: ticketStageChanges.stageId, enteredAt: ticketStageChanges.enteredAt })
    .from(ticketStageChanges)
    .where(idRange(ticketStageChanges.ticketId, ticketIds))
    .orderBy(asc(ticketStageChanges.id));
  const map = new Map<number, Array<{ stageId: number; enteredAt: Date }>>();
  for (const r of rows) {
    let list = map.get(r.ticketId);
    if (!list) map.set(r.ticketId, (list = []));
    list.push({ stageId: r.stageId, enteredAt: r.enteredAt });
  }
  return map;
}

export interface TicketFilterValues {
  teamId?: number;
  stageId?: number;
  priority?: number;
  channel?: TicketChannel;
  slaFailed?: boolean;
  slaDeadlineBefore?: Date;
}

/** Filter values that a prepared list takes as parameters (slaFailed changes the query's shape). */
const FILTER_PARAMETERS = ['teamId', 'stageId', 'priority', 'channel', 'slaDeadlineBefore'] as const;

/** A ticket filter whose values may be placeholders of a prepared statement. */
export type TicketFilterShape = { [K in keyof TicketFilterValues]?: TicketFilterValues[K] | Placeholder };

/**
 * The SQL condition of a ticket filter, for the list and its count alike. `table` is the
 * (aliased) tickets table of the query it goes in.
 */
export function ticketFilterSql(filter: TicketFilterShape, table: typeof tickets = tickets) {
  // SLA statuses are derived data kept by the SLA capability; the filter only reads them.
  const failed = sql`exists (select 1 from ticket_sla_statuses s where s.ticket_id = ${table.id} and s.status = 'FAILED')`;
  const deadline = filter.slaDeadlineBefore instanceof Date ? filter.slaDeadlineBefore.toISOString() : filter.slaDeadlineBefore;
  return and(
    filter.teamId === undefined ? undefined : eq(table.teamId, filter.teamId),
    filter.stageId === undefined ? undefined : eq(table.stageId, filter.stageId),
    filter.priority === undefined ? undefined : eq(table.priority, filter.priority),
    filter.channel === undefined ? undefined : eq(table.channel, filter.channel),
    filter.slaFailed === undefined ? undefined : filter.slaFailed ? failed : sql`not ${failed}`,
    deadline === undefined
      ? undefined
      : sql`exists (select 1 from ticket_sla_statuses s where s.ticket_id = ${table.id} and s.reached_at is null and s.deadline < ${deadline}::timestamptz)`,
  );
}

/** A team's tickets whose title or a tag contains every word (case-insensitive), newest first. */
export async function searchTeamTickets(db: DbOrTx, input: { teamId: number; words: string[]; limit: number }): Promise<TicketRow[]> {
  const like = (word: string) => `%${word.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const matches = input.words.map(
    (word) =>
      sql`(lower(${tickets.title}) like ${like(word)} or exists (select 1 from ${ticketTags} tt join ${tags} g on g.id = tt.tag_id where tt.ticket_id = ${tickets.id} and g.name_key like ${like(word)}))`,
  );
  return db
    .select()
    .from(tickets)
    .where(and(eq(tickets.teamId, input.teamId), ...matches))
    .orderBy(desc(tickets.number))
    .limit(input.limit);
}
