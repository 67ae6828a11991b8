import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../src/db/client.js';
import { tags, ticketTags } from '../../src/tickets/tables.js';

export async function listTicketTags(db: DbOrTx, ticketId: number): Promise<string[]> {
  const rows = await db.select({ name: tags.name }).from(ticketTags).innerJoin(tags, eq(tags.id, ticketTags.tagId)).where(eq(ticketTags.ticketId, ticketId));
  return rows.map((r) => r.name).sort();
}
