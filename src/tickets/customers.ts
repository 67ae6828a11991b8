import { eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { isAnyOf } from '../db/columns.js';
import { customers } from './tables.js';

export type CustomerRow = typeof customers.$inferSelect;

/** Who asks: an address, a name, or both. Without an address, a name alone (a chat visitor). */
export type CustomerContact = { email?: string | null; name?: string | null };
export type MailContact = { email: string; name?: string | null };

/** One customer per mailbox: found by address case-insensitively, created on first contact. */
export async function findOrCreateCustomer(db: DbOrTx, input: MailContact): Promise<CustomerRow> {
  return (await findOrCreateCustomers(db, [input])).get(customerKey(input))!;
}

export function customerKey(contact: MailContact): string {
  return contact.email.trim().toLowerCase();
}

/** The contact's address, when it has one: such a contact is found or created by it. */
export function mailContactOf(contact: CustomerContact | null | undefined): MailContact | null {
  return contact?.email != null && contact.email.trim() !== '' ? { email: contact.email, name: contact.name } : null;
}

/**
 * The rows that find or create the customers of `contacts`: one per address (customerKey), the
 * first name given kept, in address order, so that concurrent writers cannot deadlock on them.
 */
export function mailCustomerRows(contacts: MailContact[]): Array<{ email: string; emailKey: string; name: string | null }> {
  const byKey = new Map<string, { email: string; emailKey: string; name: string | null }>();
  for (const contact of contacts) {
    const emailKey = customerKey(contact);
    const name = contact.name?.trim() || null;
    const known = byKey.get(emailKey);
    if (!known) byKey.set(emailKey, { email: contact.email.trim(), emailKey, name });
    else known.name ??= name;
  }
  return [...byKey.values()].sort((a, b) => (a.emailKey < b.emailKey ? -1 : a.emailKey > b.emailKey ? 1 : 0));
}

/** findOrCreateCustomer for many contacts in one statement, keyed by customerKey. */
export async function findOrCreateCustomers(db: DbOrTx, contacts: MailContact[]): Promise<Map<string, CustomerRow>> {
  const rows = mailCustomerRows(contacts);
  if (rows.length === 0) return new Map();
  const found = await db
    .insert(customers)
    .values(rows)
    .onConflictDoUpdate({ target: customers.emailKey, set: { name: sql`coalesce(${customers.name}, excluded.name)` } })
    .returning();
  return new Map(found.map((c) => [c.emailKey!, c]));
}

export async function findCustomer(db: DbOrTx, id: number): Promise<CustomerRow | undefined> {
  const [customer] = await db.select().from(customers).where(eq(customers.id, id));
  return customer;
}

export async function findCustomerByEmail(db: DbOrTx, email: string): Promise<CustomerRow | undefined> {
  const [customer] = await db.select().from(customers).where(eq(customers.emailKey, email.trim().toLowerCase()));
  return customer;
}

/** Customer ids by address (lower case), for the addresses that have a customer. */
export async function customerIdsByEmail(db: DbOrTx, emails: string[]): Promise<Map<string, number>> {
  if (emails.length === 0) return new Map();
  const keys = [...new Set(emails.map((email) => email.trim().toLowerCase()))];
  const rows = await db.select({ id: customers.id, emailKey: customers.emailKey }).from(customers).where(inArray(customers.emailKey, keys));
  return new Map(rows.map((row) => [row.emailKey!, row.id]));
}

/** Several customers by id, in one query; ids without a customer are left out. */
export async function findCustomers(db: DbOrTx, ids: number[]): Promise<CustomerRow[]> {
  return ids.length ? db.select().from(customers).where(isAnyOf(customers.id, ids)) : [];
}
