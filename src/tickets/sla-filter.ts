import type { AnyColumn, Placeholder, SQL } from 'drizzle-orm';
import { handleSlot, slotValue, withSlotValue, type DbOrTx } from '../db/client.js';

/**
 * The conditions behind the ticket list's SLA filters. SLA statuses are SLA's data, and SLA
 * depends on tickets, not the other way: SLA's module supplies these and the app binds them to its
 * database handle, as it does ticket-write hooks. Each takes the tickets' id column of the query.
 */
export interface SlaTicketFilter {
  /** Tickets with a FAILED SLA status (`failed`), or without one. */
  failed(ticketId: AnyColumn, failed: boolean): SQL;
  /** Tickets with an unreached SLA deadline before `deadline`, an ISO 8601 time or a placeholder for one. */
  deadlineBefore(ticketId: AnyColumn, deadline: string | Placeholder): SQL;
}

const SLA_TICKET_FILTER = handleSlot<SlaTicketFilter>('SLA ticket filter');

/** The handle whose ticket lists filter on SLA through `filter`; a handle without one cannot. */
export function withSlaTicketFilter<T extends DbOrTx>(db: T, filter: SlaTicketFilter): T {
  return withSlotValue(db, SLA_TICKET_FILTER, filter);
}

export function slaTicketFilterOf(db: DbOrTx): SlaTicketFilter | undefined {
  return slotValue(db, SLA_TICKET_FILTER);
}
